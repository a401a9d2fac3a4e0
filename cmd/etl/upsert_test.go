package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/cmd/datagen/events"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// TestUpsertPipelineSurvivesRandomKills runs `etl run --once
// configs/ecommerce-latest.yaml` (upsert by (user_id, product_id), newer
// event_time wins, events_latest made by create_table) on datagen's
// files and SIGKILLs it at random moments (seeded, the seed logged), 20
// times, then lets a last run finish. Before each run the inbox is topped
// up from a reservoir of files, as a producer would drop them, so that a
// run always has work left when its kill comes, however fast etl gets.
// events_latest must then hold exactly what a clean run of the same files
// into another database holds: the same keys, each with the same
// event_time, action, price and the rest; corrupt_records the same
// rejects, none twice.
func TestUpsertPipelineSurvivesRandomKills(t *testing.T) {
	const config, appendConfig = "../../configs/ecommerce-latest.yaml", "../../configs/ecommerce.yaml"
	if _, err := os.Stat(config); err != nil {
		t.Fatalf("run from cmd/etl: %v", err)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ETL_TEST_KILL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("kill seed %d (ETL_TEST_KILL_SEED=%d repeats it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 19))
	dir := t.TempDir()
	inbox := filepath.Join(dir, "events")
	baseInbox := filepath.Join(dir, "baseline-events")
	for _, d := range []string{inbox, baseInbox} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// topUp drops 40 new files of 6,000 rows each (datagen's, seeded)
	// into the inbox, and the same files into the baseline's, whenever
	// fewer than 40 are left to load: a run of etl upserts up to about
	// 150,000 rows a second here and kills come after 150-850 ms, so a run
	// always has work left when its kill comes (with drops of 20, one run
	// in CI finished them before its kill). Each drop follows the last on
	// datagen's simulated clock, 1 ms a row.
	const dropFiles, rowsPerFile = 40, 6000
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Millisecond)
	var drops, rows, rejected int64
	topUp := func() {
		if left, _ := filepath.Glob(filepath.Join(inbox, "*.csv")); len(left) >= dropFiles {
			return
		}
		staging := filepath.Join(dir, fmt.Sprintf("drop-%d", drops))
		m, err := events.Run(context.Background(), events.Options{Dir: staging, Files: dropFiles, RowsPerFile: rowsPerFile, LogEvery: -1,
			ManifestPath: staging + ".json", Config: events.Config{Seed: faultSeed + drops,
				Start: start.Add(time.Duration(drops*dropFiles*rowsPerFile) * time.Millisecond)}}, nil)
		if err != nil {
			t.Fatalf("datagen: %v", err)
		}
		for _, name := range m.Files {
			if err := copyFile(filepath.Join(staging, name), filepath.Join(baseInbox, name)); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(staging, name), filepath.Join(inbox, name)); err != nil {
				t.Fatal(err)
			}
		}
		drops++
		rows += m.Rows
		rejected += m.Rejected
	}

	logPath := filepath.Join(dir, "etl.log")
	run := func(config, dsn, in, tag string) *exec.Cmd {
		log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer log.Close()
		fmt.Fprintf(log, "---- %s\n", tag)
		cmd := exec.Command(os.Args[0], "run", config, "--once", "--metrics-addr", "127.0.0.1:0")
		cmd.Env = append(os.Environ(), runAsEtl+"=1", host.ExtraEnv+"=", "DATABASE_URL="+dsn, "EVENTS_DIR="+in,
			"ARCHIVE_DIR="+in+"-archive", "QUARANTINE_DIR="+in+"-quarantine")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	tail := func() string {
		b, _ := os.ReadFile(logPath)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		return string(b)
	}

	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	kills := 0
	for kills < 20 {
		topUp()
		cmd := run(config, dsn, inbox, fmt.Sprintf("run %d", kills+1))
		wait := time.Duration(150+rng.IntN(700)) * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("etl exited by itself: %v\n%s", err, tail())
			}
			t.Fatalf("run %d finished before its kill after %s with %d files of %d rows left: only %d kills, want 20 (larger drops, or shorter waits)\n%s",
				kills+1, wait, dropFiles, rowsPerFile, kills, tail())
		case <-time.After(wait):
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		kills++
	}
	if err := run(config, dsn, inbox, "final").Wait(); err != nil {
		t.Fatalf("final run: %v\n%s", err, tail())
	}
	if left, _ := filepath.Glob(filepath.Join(inbox, "*.csv")); len(left) > 0 {
		t.Errorf("files left in the inbox after the final run: %v", left)
	}
	// The oracle: the same files through configs/ecommerce.yaml, which
	// appends every accepted row to events; a key's winners are then its
	// rows of the greatest event_time. Two rows of one key with the same
	// event_time in two files (partitions, committed in no fixed order)
	// have no defined winner, so either one is right.
	base := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, base)
	if err := run(appendConfig, base, baseInbox, "baseline").Wait(); err != nil {
		t.Fatalf("baseline run: %v\n%s", err, tail())
	}
	const cols = `user_id || '/' || product_id, action || ' ' || event_time || ' ' || coalesce(round(price, 2)::text, '-') || ' ' ||
		coalesce(product_name, '-') || ' ' || coalesce(session_id, '-')`
	winners := map[string][]string{}
	for _, kv := range upsertPairs(t, base, `SELECT k, v FROM (SELECT `+cols+`,
		rank() OVER (PARTITION BY user_id, product_id ORDER BY event_time DESC) AS r FROM events) w(k, v, r) WHERE r = 1`) {
		winners[kv[0]] = append(winners[kv[0]], kv[1])
	}
	got := upsertPairs(t, dsn, `SELECT `+cols+` FROM events_latest`)
	if len(winners) == 0 {
		t.Fatal("the baseline run wrote no row")
	}
	if len(got) != len(winners) {
		t.Errorf("events_latest holds %d rows after the kills, want one for each of the %d keys of the clean run", len(got), len(winners))
	}
	diffs, ties := 0, 0
	for _, kv := range got {
		w := winners[kv[0]]
		if len(w) > 1 {
			ties++
		}
		if !slices.Contains(w, kv[1]) && diffs < 5 {
			t.Errorf("key %s: %s, the clean run's newest %q", kv[0], kv[1], w)
			diffs++
		}
	}
	const rq = `SELECT coalesce(line::text, '-'), coalesce(corrupt_record, '-') FROM corrupt_records ORDER BY 1, 2`
	wantRejects, gotRejects := upsertPairs(t, base, rq), upsertPairs(t, dsn, rq)
	var dup int64
	queryRow(t, dsn, `SELECT count(*) FROM (SELECT source, line FROM corrupt_records GROUP BY 1, 2 HAVING count(*) > 1) d`, &dup)
	if int64(len(gotRejects)) != rejected || int64(len(wantRejects)) != rejected || dup != 0 {
		t.Errorf("corrupt_records holds %d rows (%d lines twice), the clean run %d, want datagen's %d", len(gotRejects), dup, len(wantRejects), rejected)
	}
	for i := 0; i < len(wantRejects) && i < len(gotRejects); i++ {
		if gotRejects[i] != wantRejects[i] {
			t.Errorf("reject %d: %s, the clean run %s", i, gotRejects[i], wantRejects[i])
			break
		}
	}
	t.Logf("%d kills; %d drops of %d files (%d rows, %d rejected) -> %d rows in events_latest (%d keys with a tie on event_time)",
		kills, drops, dropFiles, rows, rejected, len(got), ties)
	if t.Failed() {
		t.Logf("end of etl's log:\n%s", tail())
	}
}

// upsertPairs returns the two text columns q answers on dsn.
func upsertPairs(t *testing.T, dsn, q string) [][2]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var kv [2]string
		return kv, r.Scan(&kv[0], &kv[1])
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

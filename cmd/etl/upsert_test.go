package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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
// times, then lets a last run finish. events_latest must then hold
// exactly what a clean run of the same files into another database
// holds: the same keys, each with the same event_time, action, price and
// the rest; corrupt_records exactly the manifest's rejects, none twice.
func TestUpsertPipelineSurvivesRandomKills(t *testing.T) {
	const config = "../../configs/ecommerce-latest.yaml"
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
	// A simulated clock, 1 ms a row, so that no two rows tie on event_time:
	// between two files (two partitions, committed in no fixed order) a tie
	// has no defined winner, in a clean run as after kills.
	start := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	m, err := events.Run(context.Background(), events.Options{Dir: inbox, Files: 8, RowsPerFile: 3000, LogEvery: -1,
		ManifestPath: filepath.Join(dir, "manifest.json"), Config: events.Config{Seed: faultSeed, Start: start}}, nil)
	if err != nil {
		t.Fatalf("datagen: %v", err)
	}
	baseInbox := filepath.Join(dir, "baseline-events")
	copyFiles(t, inbox, baseInbox)

	logPath := filepath.Join(dir, "etl.log")
	run := func(dsn, in, tag string) *exec.Cmd {
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

	base := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, base)
	if err := run(base, baseInbox, "baseline").Wait(); err != nil {
		t.Fatalf("baseline run: %v\n%s", err, tail())
	}

	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	kills := 0
	for kills < 20 {
		cmd := run(dsn, inbox, fmt.Sprintf("run %d", kills+1))
		wait := time.Duration(150+rng.IntN(700)) * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("etl exited by itself: %v\n%s", err, tail())
			}
			t.Fatalf("run %d finished before its kill after %s: only %d kills, want 20 (more rows, or shorter waits)", kills+1, wait, kills)
		case <-time.After(wait):
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		kills++
	}
	if err := run(dsn, inbox, "final").Wait(); err != nil {
		t.Fatalf("final run: %v\n%s", err, tail())
	}
	if left, _ := filepath.Glob(filepath.Join(inbox, "*.csv")); len(left) > 0 {
		t.Errorf("files left in the inbox after the final run: %v", left)
	}

	const q = `SELECT user_id || '/' || product_id || ' ' || action || ' ' || event_time || ' ' || coalesce(price::text, '-') || ' ' ||
		coalesce(product_name, '-') || ' ' || coalesce(session_id, '-') FROM events_latest ORDER BY user_id, product_id`
	want, got := upsertRows(t, base, q), upsertRows(t, dsn, q)
	if len(want) == 0 {
		t.Fatal("the baseline run wrote no row")
	}
	if len(got) != len(want) {
		t.Errorf("events_latest holds %d rows after the kills, the clean run %d", len(got), len(want))
	}
	diffs := 0
	for i := 0; i < len(want) && i < len(got) && diffs < 5; i++ {
		if got[i] != want[i] {
			t.Errorf("row %d: %s, the clean run %s", i, got[i], want[i])
			diffs++
		}
	}
	var rejects, dup int64
	queryRow(t, dsn, `SELECT count(*) FROM corrupt_records`, &rejects)
	queryRow(t, dsn, `SELECT count(*) FROM (SELECT source, line FROM corrupt_records GROUP BY 1, 2 HAVING count(*) > 1) d`, &dup)
	if rejects != m.Rejected || dup != 0 {
		t.Errorf("corrupt_records holds %d rows (%d lines twice), want the manifest's %d", rejects, dup, m.Rejected)
	}
	var keys int64
	queryRow(t, dsn, `SELECT count(DISTINCT (user_id, product_id)) FROM events_latest`, &keys)
	t.Logf("%d kills; %d input rows (%d accepted, %d rejected) -> %d rows in events_latest, %d keys", kills, m.Rows, m.Accepted, m.Rejected, len(got), keys)
	if t.Failed() {
		t.Logf("end of etl's log:\n%s", tail())
	}
}

// upsertRows returns the text column q answers on dsn.
func upsertRows(t *testing.T, dsn, q string) []string {
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
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

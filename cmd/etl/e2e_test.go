package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/cmd/datagen/events"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/host/hosttest"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// runAsEtl makes this test binary behave as the etl command when set, so
// that the end-to-end test can start it, and SIGKILL it, as a process.
const runAsEtl = "ETL_TEST_RUN_AS_ETL"

// TestEcommerceEndToEnd is the e-commerce pipeline as a user runs it:
// datagen drops files into a folder while `etl run configs/ecommerce.yaml`
// ingests them into PostgreSQL, and etl is SIGKILLed at random moments
// and restarted. In the end, events and corrupt_records hold exactly what
// datagen's manifest says a correct pipeline keeps and refuses: nothing
// lost, nothing twice, and the sampled rows hold their cleaned values.
func TestEcommerceEndToEnd(t *testing.T) {
	kills, files, rowsPerFile := 22, 60, 2000
	if testing.Short() {
		kills, files, rowsPerFile = 3, 10, 500
	}
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)

	dir := t.TempDir()
	inbox, archive := filepath.Join(dir, "events"), filepath.Join(dir, "archive")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))

	// datagen writes its files while etl runs, crashes and restarts.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	produced := startDatagen(ctx, t, events.Options{
		Dir:          inbox,
		Files:        files,
		RowsPerFile:  rowsPerFile,
		Interval:     250 * time.Millisecond,
		ManifestPath: filepath.Join(dir, "manifest.json"),
		Config:       events.Config{Seed: seed},
	})

	marker := fmt.Sprintf("ETL_E2E_MARKER=%d", seed)
	logs := filepath.Join(dir, "etl.log")
	start := func(args ...string) *exec.Cmd {
		log, err := os.OpenFile(logs, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer log.Close()
		// Metrics on a free port: the default one may be taken by another etl.
		cmd := exec.Command(os.Args[0], append([]string{"run", "../../configs/ecommerce.yaml", "--metrics-addr", "127.0.0.1:0"}, args...)...)
		// The marker must reach the plugins, which get only allowlisted
		// variables, to find them by it.
		cmd.Env = append(os.Environ(), runAsEtl+"=1", marker, host.ExtraEnv+"=ETL_E2E_MARKER",
			"DATABASE_URL="+dsn, "EVENTS_DIR="+inbox, "ARCHIVE_DIR="+archive)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	tail := func() string {
		b, _ := os.ReadFile(logs)
		if len(b) > 4000 {
			b = b[len(b)-4000:]
		}
		return string(b)
	}

	var m *events.Manifest
	for k := 0; k < kills || m == nil; k++ {
		before := lastBatchID(t, dsn)
		cmd := start()
		// Kill at a random moment, but once this run has committed
		// something (up to 5 s): a kill while etl still starts its plugins
		// tests nothing new, and on a loaded machine that is most of them.
		for end := time.Now().Add(5 * time.Second); lastBatchID(t, dsn) == before && time.Now().Before(end); {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(700)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill etl: %v", err)
		}
		if err := cmd.Wait(); err == nil {
			t.Fatalf("etl ended by itself before it was killed; log:\n%s", tail())
		}
		if left := hosttest.WaitForNoProcess(marker, 5*time.Second); len(left) > 0 {
			t.Fatalf("plugin processes %v outlived a SIGKILLed etl", left)
		}
		if m == nil {
			select {
			case r := <-produced:
				m = r.manifest(t)
			default:
			}
		}
		if k > 200 {
			t.Fatal("datagen does not finish")
		}
	}

	// A last, undisturbed run takes in what is left.
	final := start("--once")
	done := make(chan error, 1)
	go func() { done <- final.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("final etl run: %v; log:\n%s", err, tail())
		}
	case <-time.After(2 * time.Minute):
		_ = final.Process.Kill()
		t.Fatalf("final etl run did not finish; log:\n%s", tail())
	}
	if left := hosttest.WaitForNoProcess(marker, 5*time.Second); len(left) > 0 {
		t.Fatalf("plugin processes %v outlived etl", left)
	}

	// The kills must have hit a pipeline at work: etl resumed from many
	// different checkpoints (a third of the kills: on a loaded machine
	// several kills land while etl is still starting its plugins).
	logText, _ := os.ReadFile(logs)
	resumed := map[string]bool{}
	for _, match := range regexp.MustCompile(`"msg":"resuming","last_batch_id":(\d+)`).FindAllSubmatch(logText, -1) {
		resumed[string(match[1])] = true
	}
	if min := kills / 3; len(resumed) < min {
		t.Errorf("etl resumed from %d distinct checkpoints over %d kills, want at least %d", len(resumed), kills, min)
	}

	checkAgainstManifest(t, dsn, m)
	if left, _ := filepath.Glob(filepath.Join(inbox, "*")); len(left) > 0 {
		t.Errorf("files left in the inbox after every row was committed: %v", left)
	}
	if archived, _ := filepath.Glob(filepath.Join(archive, "*.csv")); len(archived) != len(m.Files) {
		t.Errorf("%d files archived, datagen wrote %d", len(archived), len(m.Files))
	}
	t.Logf("%d kills, resumed from %d checkpoints; %d files, %d rows: %d accepted, %d rejected", kills, len(resumed), len(m.Files), m.Rows, m.Accepted, m.Rejected)
}

// checkAgainstManifest compares the tables with datagen's ground truth.
func checkAgainstManifest(t *testing.T, dsn string, m *events.Manifest) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	var accepted, rejected int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM corrupt_records)`).Scan(&accepted, &rejected); err != nil {
		t.Fatal(err)
	}
	if accepted != m.Accepted || rejected != m.Rejected {
		t.Errorf("events %d, corrupt_records %d; the manifest says %d and %d", accepted, rejected, m.Accepted, m.Rejected)
	}

	byType := rejectsByType(t, conn)
	types := map[string]bool{}
	for typ := range byType {
		types[typ] = true
	}
	for typ := range m.Rejects {
		types[typ] = true
	}
	var sorted []string
	for typ := range types {
		sorted = append(sorted, typ)
	}
	sort.Strings(sorted)
	for _, typ := range sorted {
		if byType[typ] != m.Rejects[typ] {
			t.Errorf("corrupt_records has %d rows of %s, the manifest %d", byType[typ], typ, m.Rejects[typ])
		}
	}

	// A row may appear twice only where datagen wrote it twice, so the
	// count of a duplicate-free table equals its count of distinct lines.
	var dupLines int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT source, line FROM corrupt_records GROUP BY 1, 2 HAVING count(*) > 1) d`).Scan(&dupLines); err != nil {
		t.Fatal(err)
	}
	if dupLines > 0 {
		t.Errorf("%d lines of input are in corrupt_records more than once", dupLines)
	}
	// Every reject keeps its raw text, wherever the raw text travelled
	// (the engine holds it for the cleanser and the sink).
	var noRaw int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM corrupt_records WHERE coalesce(corrupt_record, '') = ''`).Scan(&noRaw); err != nil {
		t.Fatal(err)
	}
	if noRaw > 0 {
		t.Errorf("%d rows of corrupt_records have no raw text", noRaw)
	}

	if len(m.Samples) == 0 {
		t.Fatal("the manifest holds no samples to check")
	}
	for _, s := range m.Samples {
		w := s.Want
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM events
			WHERE user_id = $1 AND action = $2 AND product_id = $3
			  AND product_name IS NOT DISTINCT FROM NULLIF($4, '')
			  AND price IS NOT DISTINCT FROM NULLIF($5, '')::numeric
			  AND event_time = $6
			  AND session_id IS NOT DISTINCT FROM NULLIF($7, '')`,
			w.UserID, w.Action, w.ProductID, w.ProductName, w.Price, w.EventTime, w.SessionID).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("%s line %d: no row in events holds the cleaned values %+v", s.File, s.Line, w)
		}
	}
}

// rejectsByType counts corrupt_records by error type.
func rejectsByType(t *testing.T, conn *pgx.Conn) map[string]int64 {
	t.Helper()
	counts := map[string]int64{}
	rows, err := conn.Query(context.Background(), `SELECT error_type, count(*) FROM corrupt_records GROUP BY error_type`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ string
		var n int64
		if err := rows.Scan(&typ, &n); err != nil {
			t.Fatal(err)
		}
		counts[typ] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}

// produced is what a datagen run in the background ended with.
type produced struct {
	m   *events.Manifest
	err error
}

// manifest returns the run's manifest, failing the test if it failed.
func (p produced) manifest(t *testing.T) *events.Manifest {
	t.Helper()
	if p.err != nil {
		t.Fatalf("datagen: %v", p.err)
	}
	return p.m
}

// startDatagen runs datagen in the background, as a producer beside etl.
func startDatagen(ctx context.Context, t *testing.T, opts events.Options) <-chan produced {
	ch := make(chan produced, 1)
	go func() {
		m, err := events.Run(ctx, opts, t.Logf)
		ch <- produced{m, err}
	}()
	return ch
}

// lastBatchID is the highest batch id committed in dsn's etl_offsets (0
// before the table exists).
func lastBatchID(t *testing.T, dsn string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(batch_id), 0) FROM etl_offsets`).Scan(&id); err != nil {
		return 0 // no etl_offsets yet
	}
	return id
}

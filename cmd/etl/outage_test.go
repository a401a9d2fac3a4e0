package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// outageDuration is how long TestDatabaseOutageUnderStreamingRun keeps
// the database down: 75s (long enough to see the WARN at most once a
// minute; the fault suite's row stops it for 3 minutes), or
// ETL_TEST_OUTAGE (e.g. 20s, or 3m) when set.
func outageDuration(t *testing.T) time.Duration {
	if v := os.Getenv("ETL_TEST_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ETL_TEST_OUTAGE: %v", err)
		}
		return d
	}
	return 75 * time.Second
}

// warnLines returns the WARN lines of a JSON log.
func warnLines(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"level":"WARN"`) {
			out = append(out, line)
		}
	}
	return out
}

// TestDatabaseOutageUnderStreamingRun stops the sink's PostgreSQL (a
// throwaway cluster) for outageDuration under `etl run` while files keep
// coming: etl keeps retrying, /readyz says 503 meanwhile, it warns at most
// once a minute, and when the database is back it commits everything by
// itself, exactly once. Defect 9.
func TestDatabaseOutageUnderStreamingRun(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: the database stays down for over a minute")
	}
	outage := outageDuration(t)
	c := pgtest.StartCluster(t)
	dsn := c.DSN("postgres")
	pgtest.ApplySetup(t, dsn)
	d := startDaemon(t, "../../configs/ecommerce.yaml", dsn)
	d.generate(2)
	d.waitAllIn(2 * time.Minute)

	before, _ := os.ReadFile(d.logs)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	d.generate(2) // files keep coming while the database is down
	noticed := d.waitFor("/readyz to answer 503", time.Minute, func() bool { return !d.ready() })
	t.Logf("database stopped: /readyz 503 %s after the new files were written", noticed.Round(time.Millisecond))
	for time.Since(down) < outage {
		select {
		case err := <-d.exited:
			t.Fatalf("etl exited %s into the outage: %v; log:\n%s", time.Since(down).Round(time.Second), err, d.tail())
		case <-time.After(time.Second):
		}
		if d.ready() {
			t.Fatalf("/readyz said 200 %s into the outage", time.Since(down).Round(time.Second))
		}
	}
	during, _ := os.ReadFile(d.logs)
	warns := warnLines(string(during[len(before):]))
	if max := int(outage/time.Minute) + 2; len(warns) > max || len(warns) == 0 {
		t.Errorf("%d WARN lines over an outage of %s, want 1 to %d (one at the start, then at most one a minute):\n%s",
			len(warns), outage, max, strings.Join(warns, "\n"))
	}
	if len(warns) > 0 {
		t.Logf("%d WARN lines during the outage; the first:\n%s", len(warns), warns[0])
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	d.waitAllIn(2 * time.Minute)
	t.Logf("database back: everything committed %s later", time.Since(up).Round(time.Millisecond))
	d.waitFor("/readyz to answer 200 again", time.Minute, func() bool { return d.ready() })
	if log, _ := os.ReadFile(d.logs); !strings.Contains(string(log), `"msg":"sink available again"`) {
		t.Errorf("no INFO says the sink is available again; log:\n%s", d.tail())
	}
	if got := restartsOf(getMetrics(t, d.addr), "postgres"); got != 0 {
		t.Errorf("the outage counted %v plugin restarts, want 0", got)
	}
	if err, _ := d.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("etl after SIGTERM: %v; log:\n%s", err, d.tail())
	}
	checkAgainstManifest(t, dsn, d.manifest())
}

// TestInterruptDuringOutageExitsAtOnce: a SIGINT while the sink's
// database is down ends `etl run` within 2s with status 0; what was not
// committed is read again by the next run, which loads everything exactly
// once. Defect 9.
func TestInterruptDuringOutageExitsAtOnce(t *testing.T) {
	c := pgtest.StartCluster(t)
	dsn := c.DSN("postgres")
	pgtest.ApplySetup(t, dsn)
	d := startDaemon(t, "../../configs/ecommerce.yaml", dsn)
	d.generate(1)
	d.waitAllIn(2 * time.Minute)

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	d.generate(2)
	d.waitFor("/readyz to answer 503", time.Minute, func() bool { return !d.ready() })
	time.Sleep(3 * time.Second) // well into the retries
	err, took := d.stop(syscall.SIGINT, 30*time.Second)
	t.Logf("SIGINT during the outage: etl exited in %s with %v", took.Round(time.Millisecond), err)
	if err != nil {
		t.Errorf("etl exited with %v after a SIGINT during the outage, want status 0; log:\n%s", err, d.tail())
	}
	if took > 2*time.Second {
		t.Errorf("etl took %s to exit after a SIGINT during the outage, want at most 2s", took.Round(time.Millisecond))
	}

	// The database back, a run --once takes in what was not committed.
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("EVENTS_DIR", d.inbox)
	t.Setenv("ARCHIVE_DIR", d.dir+"/archive")
	if code, _, stderr := etl(t, "run", "../../configs/ecommerce.yaml", "--once", "--metrics-addr", "", "--log-format", "json"); code != 0 {
		t.Fatalf("etl run --once after the outage: exit %d; stderr:\n%s", code, stderr)
	}
	checkAgainstManifest(t, dsn, d.manifest())
}

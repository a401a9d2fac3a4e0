package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// The sample file in data/sample, run through configs/ecommerce.yaml as
// the README shows, lands as datagen's manifest said when it wrote it.
func TestSampleFileLandsAsExpected(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	sample, err := os.ReadFile("../../data/sample/events-sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inbox := filepath.Join(dir, "events")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inbox, "events-sample.csv"), sample, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("EVENTS_DIR", inbox)
	t.Setenv("ARCHIVE_DIR", filepath.Join(dir, "archive"))
	var out, errb bytes.Buffer
	if code := run([]string{"run", "../../configs/ecommerce.yaml", "--once", "--metrics-addr", "", "--log-format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("etl run exited %d:\n%s", code, errb.String())
	}

	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var events int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"CSV_PARSE_ERROR": 1, "INVALID_TIMESTAMP": 3, "MISSING_REQUIRED": 2, "RULE_VIOLATION": 2}
	got := rejectsByType(t, conn)
	if events != 192 || !sameCounts(got, want) {
		t.Errorf("events %d, rejects %v; want 192 and %v", events, got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "archive", "events-sample.csv")); err != nil {
		t.Errorf("the file was not archived: %v", err)
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// inboxEnv points configs/ecommerce.yaml at a fresh database and folders.
func inboxEnv(t *testing.T) (dsn, inbox, archive string) {
	t.Helper()
	dsn = pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	dir := t.TempDir()
	inbox, archive = filepath.Join(dir, "events"), filepath.Join(dir, "archive")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("EVENTS_DIR", inbox)
	t.Setenv("ARCHIVE_DIR", archive)
	t.Setenv("QUARANTINE_DIR", filepath.Join(dir, "quarantine"))
	return dsn, inbox, archive
}

// dropFile renames a file of one event of user into the inbox as name,
// with its modification time set to mtime.
func dropFile(t *testing.T, inbox, name string, user int, mtime time.Time) {
	t.Helper()
	tmp := filepath.Join(inbox, "."+name+".tmp")
	content := "user_id,action,product_id,product_name,price,event_time,session_id\n" +
		fmt.Sprintf("%d,view,1001,Widget,19.99,2025-06-01T00:00:00Z,s1\n", user)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(inbox, name)); err != nil {
		t.Fatal(err)
	}
}

func usersInEvents(t *testing.T, dsn string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var users string
	if err := conn.QueryRow(context.Background(), "SELECT coalesce(string_agg(user_id::text, ',' ORDER BY user_id), '') FROM events").Scan(&users); err != nil {
		t.Fatal(err)
	}
	return users
}

// TestReplacedFileWithSameNameSizeAndMtimeIsLoaded is the reproduction of
// the file-boundary issue's first defect: a.csv holding user 42 is loaded;
// a new a.csv holding user 99, of the same size and modification time, is
// renamed in; the next run must load it.
func TestReplacedFileWithSameNameSizeAndMtimeIsLoaded(t *testing.T) {
	dsn, inbox, _ := inboxEnv(t)
	mtime := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	config := "../../configs/ecommerce.yaml"
	for _, user := range []int{42, 99} {
		dropFile(t, inbox, "a.csv", user, mtime)
		if code, _, stderr := etl(t, "run", config, "--once", "--metrics-addr", ""); code != 0 {
			t.Fatalf("etl run --once: exit %d\n%s", code, stderr)
		}
	}
	if got := usersInEvents(t, dsn); got != "42,99" {
		t.Errorf("users in events %q, want 42,99", got)
	}
	// The same bytes again, under another name: not loaded twice.
	dropFile(t, inbox, "b.csv", 99, mtime)
	code, _, stderr := etl(t, "run", config, "--once", "--metrics-addr", "", "--log-format", "json")
	if code != 0 {
		t.Fatalf("etl run --once: exit %d\n%s", code, stderr)
	}
	if got := usersInEvents(t, dsn); got != "42,99" {
		t.Errorf("after a duplicate, users in events %q, want 42,99", got)
	}
	if !strings.Contains(stderr, "same bytes") || !strings.Contains(stderr, "b.csv") {
		t.Errorf("no warning naming the duplicate b.csv:\n%s", stderr)
	}
}

// TestRunOnceFailsNamingUnreadableFiles is defect 11 at the command: the
// backlog of the source's last read names files it could not read, and
// `etl run --once` then fails naming them. (The source's side, a file
// without read permission, is tested in plugins/csvdir; as root no file
// is unreadable, so it is not repeated here through the binary.)
func TestRunOnceFailsNamingUnreadableFiles(t *testing.T) {
	tests := []struct {
		name    string
		backlog *plugin.Backlog
		want    string
	}{
		{"unknown backlog", nil, ""},
		{"nothing unreadable", &plugin.Backlog{Partitions: 2}, ""},
		{"two unreadable", &plugin.Backlog{Unreadable: []string{"data/events/a.csv", "data/events/b.csv"}},
			"2 input(s) could not be read and were left in place (fix their permissions and run again): data/events/a.csv, data/events/b.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := leftUnread(engine.StatsSnapshot{Backlog: tt.backlog})
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("leftUnread = %v, want %q", err, tt.want)
			}
		})
	}
}

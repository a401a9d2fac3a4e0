package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// pgloaderCommand returns a pgloader command file that loads the clean CSV
// at csvPath (psql's \copy export: comma-separated, fields in double
// quotes when needed, a quote doubled inside them) into events of dsn,
// with pgloader's default workers and batches.
func pgloaderCommand(csvPath, dsn string) (string, error) {
	if strings.ContainsAny(csvPath, "'\n") {
		return "", fmt.Errorf("pgloader: the path %q holds a quote or a newline", csvPath)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("pgloader: %w", err)
	}
	// pgloader knows postgresql:// and, of the parameters, sslmode.
	u.Scheme = "postgresql"
	q := url.Values{}
	if m := u.Query().Get("sslmode"); m != "" {
		q.Set("sslmode", m)
	}
	u.RawQuery = q.Encode()
	return fmt.Sprintf(`LOAD CSV
     FROM '%s' (%s)
     INTO %s
     TARGET TABLE events
     TARGET COLUMNS (%s)
     WITH fields terminated by ',',
          fields optionally enclosed by '"',
          fields escaped by double-quote;
`, csvPath, eventColumns, u.String(), eventColumns), nil
}

// findPgloader returns pgloader's path on the PATH, or "" when it is not
// installed.
func findPgloader() string {
	p, _ := exec.LookPath("pgloader")
	return p
}

// pgloaderLoad times pgloader loading the clean CSV at csvPath into a
// fresh database with every index of sql/postgres_setup.sql, which must
// then hold want rows.
func pgloaderLoad(ctx context.Context, b *bench, srv *server, csvPath, dir string, want int64) (*ceilingResult, error) {
	st, err := os.Stat(csvPath)
	if err != nil {
		return nil, err
	}
	r := &ceilingResult{Streams: 1, CSVBytes: st.Size()}
	dsn, drop, err := srv.createDB(ctx)
	if err != nil {
		return nil, err
	}
	defer drop()
	text, err := pgloaderCommand(csvPath, dsn)
	if err != nil {
		return nil, err
	}
	work := filepath.Join(dir, "pgloader")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	load := filepath.Join(work, "events.load")
	if err := os.WriteFile(load, []byte(text), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, b.pgloader, "--root-dir", work, load)
	stop := srv.cpu.cpuWindow()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	r.PGCPUSeconds = stop()
	if err != nil {
		return nil, fmt.Errorf("pgloader %s: %v\n%s", load, err, strings.TrimSpace(string(out)))
	}
	r.CPUSeconds = cpuOf(cmd.ProcessState)
	n, _, err := counts(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if n != want {
		return nil, fmt.Errorf("pgloader loaded %d rows, want %d; its output:\n%s", n, want, strings.TrimSpace(string(out)))
	}
	r.Rows, r.Seconds, r.RowsPerS = n, took.Seconds(), float64(n)/took.Seconds()
	return r, nil
}

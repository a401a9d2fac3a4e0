package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// eventColumns are the columns the pipeline fills, in its order.
const eventColumns = "user_id, action, product_id, product_name, price, event_time, session_id"

// ceilingResult is a raw loader's bulk load of the rows the pipeline
// accepted, already clean: psql's \copy, one stream per file, or
// pgloader.
type ceilingResult struct {
	Streams  int     `json:"streams"`
	Rows     int64   `json:"rows"`
	CSVBytes int64   `json:"csv_bytes"`
	Seconds  float64 `json:"seconds"`
	RowsPerS float64 `json:"rows_per_s"`
	// CPUSeconds is the user and system time of the loader's processes
	// (their rusage), PGCPUSeconds PostgreSQL's meanwhile (nil: unknown).
	CPUSeconds   float64  `json:"cpu_seconds"`
	PGCPUSeconds *float64 `json:"postgres_cpu_seconds"`
}

// exportClean writes the rows of events in dsn, in the order they were
// inserted, as CSV to dir/clean.csv, and that file's lines again in two
// halves. It returns the three paths, the whole file first.
func exportClean(ctx context.Context, b *bench, dsn, dir string) ([]string, error) {
	path := filepath.Join(dir, "clean.csv")
	if err := psql(ctx, b.psql, dsn, `\copy (SELECT `+eventColumns+` FROM events ORDER BY id) TO '`+path+`' WITH (FORMAT csv)`); err != nil {
		return nil, err
	}
	halves, err := splitLines(path, 2)
	if err != nil {
		return nil, fmt.Errorf("split %s: %w", path, err)
	}
	return append([]string{path}, halves...), nil
}

// ceiling times psql's `\copy events(...) FROM file CSV` of every file at
// once, one psql each, into a fresh database with every index of
// sql/postgres_setup.sql, which must then hold want rows.
func ceiling(ctx context.Context, b *bench, srv *server, files []string, want int64) (*ceilingResult, error) {
	r := &ceilingResult{Streams: len(files)}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		r.CSVBytes += st.Size()
	}
	dsn, drop, err := srv.createDB(ctx)
	if err != nil {
		return nil, err
	}
	defer drop()
	type done struct {
		cpu float64
		err error
	}
	dones := make(chan done, len(files))
	stop := srv.cpu.cpuWindow()
	start := time.Now()
	for _, f := range files {
		go func() {
			cpu, err := psqlCPU(ctx, b.psql, dsn, `\copy events (`+eventColumns+`) FROM '`+f+`' WITH (FORMAT csv)`)
			dones <- done{cpu, err}
		}()
	}
	for range files {
		d := <-dones
		if d.err != nil && err == nil {
			err = d.err
		}
		r.CPUSeconds += d.cpu
	}
	took := time.Since(start)
	r.PGCPUSeconds = stop()
	if err != nil {
		return nil, err
	}
	n, _, err := counts(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if n != want {
		return nil, fmt.Errorf("psql \\copy loaded %d rows, want %d", n, want)
	}
	r.Rows, r.Seconds, r.RowsPerS = n, took.Seconds(), float64(n)/took.Seconds()
	return r, nil
}

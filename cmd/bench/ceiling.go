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
// accepted, already clean: psql's \copy in one or more streams, or
// pgloader.
type ceilingResult struct {
	Streams int `json:"streams"`
	// Transactions is how many transactions psql's streams committed in
	// all (absent for pgloader, which commits as it sees fit).
	Transactions int     `json:"transactions,omitempty"`
	Rows         int64   `json:"rows"`
	CSVBytes     int64   `json:"csv_bytes"`
	Seconds      float64 `json:"seconds"`
	RowsPerS     float64 `json:"rows_per_s"`
	// CPUSeconds is the user and system time of the loader's processes
	// (their rusage), PGCPUSeconds PostgreSQL's meanwhile (nil: unknown).
	CPUSeconds   float64  `json:"cpu_seconds"`
	PGCPUSeconds *float64 `json:"postgres_cpu_seconds"`
}

// parallelWorkers and parallelRows are how the parallel copy loads, as
// timescaledb-parallel-copy does with --workers 2 and its default batch
// size: batches of 5,000 rows, each its own COPY and transaction, two
// workers (as many as the pipeline's writers). Here the batches are cut
// beforehand and dealt in turn (the tool's workers take them from a
// shared queue as they read the file).
const (
	parallelWorkers = 2
	parallelRows    = 5000
)

// cleanFiles are the clean rows as the raw loaders read them.
type cleanFiles struct {
	whole  string   // every row
	halves []string // the same lines in two halves, by size
	// batches are the same lines in files of parallelRows lines, dealt
	// out in turn to parallelWorkers workers.
	batches [][]string
}

// exportClean writes the rows of events in dsn, in the order they were
// inserted, as CSV to dir/clean.csv, and that file's lines again in two
// halves and in batches.
func exportClean(ctx context.Context, b *bench, dsn, dir string) (*cleanFiles, error) {
	path := filepath.Join(dir, "clean.csv")
	if err := psql(ctx, b.psql, dsn, `\copy (SELECT `+eventColumns+` FROM events ORDER BY id) TO '`+path+`' WITH (FORMAT csv)`); err != nil {
		return nil, err
	}
	c := &cleanFiles{whole: path, batches: make([][]string, parallelWorkers)}
	var err error
	if c.halves, err = splitLines(path, 2); err != nil {
		return nil, fmt.Errorf("split %s: %w", path, err)
	}
	batches, err := chunkLines(path, parallelRows)
	if err != nil {
		return nil, fmt.Errorf("split %s: %w", path, err)
	}
	for i, f := range batches {
		c.batches[i%parallelWorkers] = append(c.batches[i%parallelWorkers], f)
	}
	return c, nil
}

// ceiling times psql's `\copy events(...) FROM file CSV` into a fresh
// database with every index of sql/postgres_setup.sql, which must then
// hold want rows: one psql per stream, all at once, each copying its
// files one after the other, a transaction each.
func ceiling(ctx context.Context, b *bench, srv *server, streams [][]string, want int64) (*ceilingResult, error) {
	r := &ceilingResult{}
	for _, files := range streams {
		for _, f := range files {
			st, err := os.Stat(f)
			if err != nil {
				return nil, err
			}
			r.CSVBytes += st.Size()
			r.Transactions++
		}
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
	dones := make(chan done, len(streams))
	stop := srv.cpu.cpuWindow()
	start := time.Now()
	for _, files := range streams {
		if len(files) == 0 {
			continue // fewer batches than workers
		}
		r.Streams++
		var copies []string
		for _, f := range files {
			copies = append(copies, `\copy events (`+eventColumns+`) FROM '`+f+`' WITH (FORMAT csv)`)
		}
		go func() {
			cpu, err := psqlCPU(ctx, b.psql, dsn, copies...)
			dones <- done{cpu, err}
		}()
	}
	for range r.Streams {
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

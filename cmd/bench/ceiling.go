package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// eventColumns are the columns the pipeline fills, in its order.
const eventColumns = "user_id, action, product_id, product_name, price, event_time, session_id"

// ceilingResult is PostgreSQL's own single-stream bulk load of the rows the
// pipeline accepted, already clean.
type ceilingResult struct {
	Rows     int64   `json:"rows"`
	CSVBytes int64   `json:"csv_bytes"`
	Seconds  float64 `json:"seconds"`
	RowsPerS float64 `json:"rows_per_s"`
}

// exportClean writes the rows of events in dsn, in the order they were
// inserted, as CSV to path.
func exportClean(ctx context.Context, b *bench, dsn, path string) error {
	return psql(ctx, b.psql, dsn, `\copy (SELECT `+eventColumns+` FROM events ORDER BY id) TO '`+path+`' WITH (FORMAT csv)`)
}

// ceiling times `psql -c "\copy events(...) FROM path CSV"` into dsn (a
// fresh database with every index of sql/postgres_setup.sql), which must
// then hold want rows.
func ceiling(ctx context.Context, b *bench, dsn, path string, want int64) (*ceilingResult, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := psql(ctx, b.psql, dsn, `\copy events (`+eventColumns+`) FROM '`+path+`' WITH (FORMAT csv)`); err != nil {
		return nil, err
	}
	took := time.Since(start)
	n, _, err := counts(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if n != want {
		return nil, fmt.Errorf("psql \\copy loaded %d rows, want %d", n, want)
	}
	return &ceilingResult{Rows: n, CSVBytes: st.Size(), Seconds: took.Seconds(), RowsPerS: float64(n) / took.Seconds()}, nil
}

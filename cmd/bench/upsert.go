package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

// upsertConfig is the upsert-mode pipeline measured beside the append one.
const upsertConfig = "configs/ecommerce-latest.yaml"

// upsertResult is `etl run configs/ecommerce-latest.yaml --once` (mode
// upsert by (user_id, product_id), newer event_time wins) over the same
// rows as the throughput run, into a fresh database.
type upsertResult struct {
	Config        string  `json:"config"`
	InputRows     int64   `json:"input_rows"`
	Seconds       float64 `json:"seconds"`
	InputRowsPerS float64 `json:"input_rows_per_s"`
	LatestRows    int64   `json:"rows_in_events_latest"`
	Rejected      int64   `json:"rows_to_corrupt_records"`
}

// upsertMeasure generates the throughput run's rows again (same seed) and
// loads them in upsert mode; the rejects must be the manifest's.
func upsertMeasure(ctx context.Context, b *bench, srv *server, dir string, logf func(string, ...any)) (*upsertResult, error) {
	d := filepath.Join(dir, "upsert")
	m, _, err := generate(ctx, d, b.rows, b.perFile, b.dirty, b.seed)
	if err != nil {
		return nil, err
	}
	dsn, drop, err := srv.createDB(ctx)
	if err != nil {
		return nil, err
	}
	defer drop()
	logf("upsert: etl run %s --once over %d rows", upsertConfig, m.Rows)
	start := time.Now()
	p, err := startETL(ctx, b.etl, upsertConfig, b.etlArgs, dsn, filepath.Join(d, "inbox"), filepath.Join(d, "archive"), true)
	if err != nil {
		return nil, err
	}
	if err := p.wait(); err != nil {
		return nil, fmt.Errorf("upsert run: %w", err)
	}
	r := &upsertResult{Config: upsertConfig, InputRows: m.Rows, Seconds: time.Since(start).Seconds()}
	r.InputRowsPerS = float64(m.Rows) / r.Seconds
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM events_latest), (SELECT count(*) FROM corrupt_records)").Scan(&r.LatestRows, &r.Rejected); err != nil {
		return nil, err
	}
	if r.Rejected != m.Rejected {
		return nil, fmt.Errorf("upsert run: corrupt_records %d, the manifest says %d", r.Rejected, m.Rejected)
	}
	return r, nil
}

// printUpsert prints the upsert run beside the append one.
func printUpsert(w io.Writer, r *results) {
	u := r.Upsert
	if u == nil {
		return
	}
	appendRate := ""
	if r.Throughput != nil {
		appendRate = fmt.Sprintf(" (append, %s: %s input rows/s)", r.Settings["config"], thousands(int64(r.Throughput.InputRowsPerS)))
	}
	fmt.Fprintf(w, "\nupsert mode, %s: %s input rows in %.2f s, %s input rows/s%s; %s rows in events_latest\n",
		u.Config, thousands(u.InputRows), u.Seconds, thousands(int64(u.InputRowsPerS)), appendRate, thousands(u.LatestRows))
}

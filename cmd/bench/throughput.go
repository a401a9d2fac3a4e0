package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seed-etl/etl/cmd/datagen/events"
)

// throughputResult is what the pipeline did with the pre-generated files.
type throughputResult struct {
	Files      int     `json:"files"`
	InputRows  int64   `json:"input_rows"`
	InputBytes int64   `json:"input_bytes"`
	Accepted   int64   `json:"rows_to_events"`
	Rejected   int64   `json:"rows_to_corrupt_records"`
	Seconds    float64 `json:"seconds"`
	// InputRowsPerS and InputMBPerS count every input row (rejects
	// included) and byte; EventsRowsPerS only the rows landing in events.
	InputRowsPerS  float64 `json:"input_rows_per_s"`
	InputMBPerS    float64 `json:"input_mb_per_s"`
	EventsRowsPerS float64 `json:"events_rows_per_s"`
	// CPUSeconds is the user and system time of etl and of the plugin
	// processes it waited for (wait4's rusage), not PostgreSQL's.
	CPUSeconds float64 `json:"etl_and_plugins_cpu_seconds"`
	// PGCPUSeconds is PostgreSQL's CPU time during the run (nil: unknown).
	PGCPUSeconds *float64 `json:"postgres_cpu_seconds"`
	// ETLDone is etl's own "pipeline done" log line.
	ETLDone map[string]any `json:"etl_done,omitempty"`
	// Memory is the peak resident memory of etl and of each plugin
	// process during the run.
	Memory []procPeak `json:"memory"`
	// PSSPeakBytes is the peak of the processes' summed PSS: resident
	// memory with the pages they share counted once.
	PSSPeakBytes int64 `json:"pss_peak_bytes"`
}

// generate writes rows rows of e-commerce events (about dirty of them
// dirty) into dir/inbox, in files of perFile rows, with a fixed seed and
// start time so that every run loads the same bytes.
func generate(ctx context.Context, dir string, rows, perFile int, dirty float64, seed int64) (*events.Manifest, int64, error) {
	perFile = min(perFile, rows)
	o := events.Options{
		Config: events.Config{
			Seed:  seed,
			Start: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
			Rates: events.ScaleRates(dirty),
		},
		Dir:          filepath.Join(dir, "inbox"),
		RowsPerFile:  perFile,
		Files:        (rows + perFile - 1) / perFile,
		ManifestPath: filepath.Join(dir, events.ManifestName),
		LogEvery:     -1,
	}
	m, err := events.Run(ctx, o, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("generate: %w", err)
	}
	if m.Stopped {
		return nil, 0, ctx.Err()
	}
	var size int64
	for _, f := range m.Files {
		st, err := os.Stat(filepath.Join(o.Dir, f))
		if err != nil {
			return nil, 0, err
		}
		size += st.Size()
	}
	return m, size, nil
}

// throughput runs `etl run CONFIG --once` over the files of m in
// dir/inbox, into the database dsn, timing it from start to exit and
// sampling the memory of etl and its plugins every 100 ms and measuring
// the server's CPU meanwhile. The database must then hold exactly the
// manifest's accepted and rejected rows.
func throughput(ctx context.Context, b *bench, srv *server, dir string, m *events.Manifest, size int64, dsn string) (*throughputResult, error) {
	r := &throughputResult{Files: len(m.Files), InputRows: m.Rows, InputBytes: size}
	stop := srv.cpu.cpuWindow()
	start := time.Now()
	p, err := startETL(ctx, b.etl, b.config, b.etlArgs, dsn, filepath.Join(dir, "inbox"), filepath.Join(dir, "archive"), true)
	if err != nil {
		return nil, err
	}
	rss := startRSS(p.cmd.Process.Pid, 100*time.Millisecond)
	err = p.wait()
	took := time.Since(start)
	r.PGCPUSeconds = stop()
	r.Memory = rss.Stop()
	r.PSSPeakBytes = rss.PSSPeak()
	if ctx.Err() != nil { // interrupted: the counts mean nothing
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	r.ETLDone = p.done()
	r.CPUSeconds = cpuOf(p.cmd.ProcessState)
	r.Seconds = took.Seconds()

	ev, rej, err := checkCounts(ctx, dsn, m, "the pipeline")
	if err != nil {
		return nil, err
	}
	r.Accepted, r.Rejected = ev, rej
	r.InputRowsPerS = float64(m.Rows) / r.Seconds
	r.InputMBPerS = float64(size) / 1e6 / r.Seconds
	r.EventsRowsPerS = float64(ev) / r.Seconds
	return r, nil
}

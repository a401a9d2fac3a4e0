package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed-etl/etl/cmd/datagen/events"
)

// latencyResult is how long a file takes from its rename into the inbox to
// its last rows being committed, while datagen writes at a steady rate.
type latencyResult struct {
	Rate     float64 `json:"events_per_s"`
	Interval string  `json:"file_interval"`
	Files    int     `json:"files"`
	Rows     int64   `json:"rows"`
	PollMS   float64 `json:"poll_ms"`
	P50MS    float64 `json:"p50_ms"`
	P95MS    float64 `json:"p95_ms"`
	P99MS    float64 `json:"p99_ms"`
	MaxMS    float64 `json:"max_ms"`
}

// latency starts `etl run CONFIG` on an empty inbox in dir and the fresh
// database dsn, then has datagen (in process) write b.latencyRate events
// per second, a file every b.latencyInterval, for b.latencyDuration. A
// file's latency is from its rename into the inbox (inotify) to the first
// poll of etl_offsets, every b.latencyPoll, that shows it done: its last
// rows committed. Then etl gets a SIGINT and must exit 0, and the database
// must hold the manifest's counts.
func latency(ctx context.Context, b *bench, dir, dsn string) (*latencyResult, error) {
	inbox := filepath.Join(dir, "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		return nil, err
	}
	watch, err := watchRenames(inbox)
	if err != nil {
		return nil, err
	}
	renamed := map[string]time.Time{}
	defer func() {
		if watch != nil {
			watch.Stop()
		}
	}()

	p, err := startETL(ctx, b.etl, b.config, b.etlArgs, dsn, inbox, filepath.Join(dir, "archive"), false)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped { // an error on the way: stop etl all the same
			p.interrupt()
			p.wait()
		}
	}()
	select {
	case <-p.started:
	case <-p.logDone:
		stopped = true
		return nil, p.wait()
	case <-time.After(time.Minute):
		return nil, fmt.Errorf("etl did not start within a minute; its log ends:\n%s", p.tail(20))
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	poll := pollDone(pollCtx, dsn, b.latencyPoll)

	files := max(1, int(b.latencyDuration/b.latencyInterval))
	m, err := events.Run(ctx, events.Options{
		Config:       events.Config{Seed: b.seed, Rates: events.ScaleRates(b.dirty)},
		Dir:          inbox,
		Interval:     b.latencyInterval,
		Rate:         b.latencyRate,
		Files:        files,
		ManifestPath: filepath.Join(dir, events.ManifestName),
		LogEvery:     -1,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("datagen: %w", err)
	}
	if m.Stopped {
		return nil, ctx.Err()
	}

	// Wait for the last files to be committed.
	deadline := time.Now().Add(time.Minute)
	var seen map[string]time.Time
	for {
		seen = poll.snapshot()
		all := true
		for _, f := range m.Files {
			_, ok := seen[f]
			all = all && ok
		}
		if all || time.Now().After(deadline) {
			break
		}
		time.Sleep(b.latencyPoll)
	}
	stopPoll()
	if err := poll.wait(); err != nil {
		return nil, err
	}
	renamed = watch.Stop()
	watch = nil

	stopped = true
	p.interrupt()
	if err := p.wait(); err != nil {
		return nil, fmt.Errorf("after SIGINT: %w", err)
	}

	var lat []float64
	for _, f := range m.Files {
		r, ok1 := renamed[f]
		c, ok2 := seen[f]
		switch {
		case !ok1:
			return nil, fmt.Errorf("no rename of %s seen in the inbox", f)
		case !ok2:
			return nil, fmt.Errorf("%s not committed a minute after the last file was written", f)
		}
		lat = append(lat, float64(c.Sub(r))/float64(time.Millisecond))
	}
	if _, _, err := checkCounts(ctx, dsn, m, "the latency run"); err != nil {
		return nil, err
	}
	return &latencyResult{
		Rate: b.latencyRate, Interval: b.latencyInterval.String(), Files: len(m.Files), Rows: m.Rows,
		PollMS: float64(b.latencyPoll) / float64(time.Millisecond),
		P50MS:  percentile(lat, 50), P95MS: percentile(lat, 95), P99MS: percentile(lat, 99), MaxMS: percentile(lat, 100),
	}, nil
}

// percentile returns the p-th percentile of xs by the nearest-rank method
// (the smallest value at least p% of the values are at most), 0 for none.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(k, 1), len(s))-1]
}

// donePoller polls etl_offsets for finished files.
type donePoller struct {
	done chan struct{}
	err  error

	mu   sync.Mutex
	seen map[string]time.Time
}

// pollDone queries the done partitions of etl_offsets every interval
// until ctx ends, recording when each file (see fileOf) was first seen
// done.
func pollDone(ctx context.Context, dsn string, interval time.Duration) *donePoller {
	p := &donePoller{done: make(chan struct{}), seen: map[string]time.Time{}}
	var parts []string
	go pollEvery(ctx, dsn, interval, p.done, &p.err, func(conn *pgx.Conn) (func(time.Time), error) {
		parts = parts[:0]
		rows, err := conn.Query(ctx, "SELECT partition FROM etl_offsets WHERE done")
		if err == nil {
			var s string
			_, err = pgx.ForEachRow(rows, []any{&s}, func() error { parts = append(parts, s); return nil })
		}
		return func(now time.Time) {
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, part := range parts {
				if name := fileOf(part); p.seen[name].IsZero() {
					p.seen[name] = now
				}
			}
		}, err
	})
	return p
}

// pollEvery runs query on one connection to dsn every interval until ctx
// ends, and the function it returns with the time of the answer; it closes
// done when it stops and sets *errp when it stops for a failure (an
// etl_offsets not created yet is none).
func pollEvery(ctx context.Context, dsn string, interval time.Duration, done chan struct{}, errp *error,
	query func(conn *pgx.Conn) (func(time.Time), error)) {
	defer close(done)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		*errp = err
		return
	}
	defer conn.Close(context.Background())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		record, err := query(conn)
		now := time.Now()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !isUndefinedTable(err):
			*errp = fmt.Errorf("poll etl_offsets: %w", err)
			return
		}
		record(now)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// snapshot copies what was seen so far.
func (p *donePoller) snapshot() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.seen)
}

// wait waits for the poller to end (after its ctx) and returns its error.
func (p *donePoller) wait() error {
	<-p.done
	if p.err != nil && !errors.Is(p.err, context.Canceled) {
		return p.err
	}
	return nil
}

// isUndefinedTable says err is PostgreSQL's undefined_table: etl_offsets
// is not made yet.
func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

// fileOf returns the file name of a csvdir partition key: "NAME
// size=BYTES mtime=TIME" (plugins/csvdir), NAME relative to the inbox.
func fileOf(partition string) string {
	name, _, _ := strings.Cut(partition, " size=")
	return filepath.Base(name)
}

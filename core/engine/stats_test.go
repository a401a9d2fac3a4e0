package engine_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/plugin"
)

// TestStatsFollowTheRun checks what a run exposes for metrics: rows and
// rejects by type as committed, running while it runs and not after, no
// batch in flight and no lag at the end, and the source's last backlog.
func TestStatsFollowTheRun(t *testing.T) {
	sinkPath := filepath.Join(t.TempDir(), "sink.jsonl")
	in := openPipeline(t, pipelineYAML(sinkPath, "tag", 3, 2000, 500, 700, "0s"))
	stats := &engine.Stats{}
	if stats.Snapshot().Running {
		t.Error("running before Run")
	}
	var commits, notRunning atomic.Int64
	opts := engine.OptionsOf(in.Spec)
	opts.Once = true
	opts.OnCommit = func(engine.Commit) {
		commits.Add(1)
		if !stats.Snapshot().Running {
			notRunning.Add(1)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := engine.Run(ctx, in.Pipeline, opts, nil, stats); err != nil {
		t.Fatal(err)
	}
	if n := notRunning.Load(); n > 0 {
		t.Errorf("Running was false at %d of %d commits", n, commits.Load())
	}

	committed, _, err := readCommits(sinkPath)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	byType := map[string]int64{}
	for _, c := range committed {
		rows += int64(len(c.Users))
		for _, r := range c.Rejects {
			typ, _, _ := strings.Cut(r, "@")
			byType[typ]++
		}
	}
	s := stats.Snapshot()
	if s.Running {
		t.Error("still running after Run returned")
	}
	if s.RowsWritten != rows || s.RowsRead != 3*2000-int64(3*2000/500) {
		t.Errorf("rows read %d, written %d; the sink holds %d rows of %d read", s.RowsRead, s.RowsWritten, rows, 3*2000-3*2000/500)
	}
	if len(s.RejectedByType) != len(byType) {
		t.Errorf("rejected by type %v, the sink holds %v", s.RejectedByType, byType)
	}
	var total int64
	for typ, n := range byType {
		total += n
		if s.RejectedByType[typ] != n {
			t.Errorf("rejected %s: %d, the sink holds %d", typ, s.RejectedByType[typ], n)
		}
	}
	if s.Rejected != total {
		t.Errorf("rejected %d, the sink holds %d", s.Rejected, total)
	}
	if s.Batches != int64(len(committed)) || s.Batches != commits.Load() {
		t.Errorf("batches %d, the sink holds %d, OnCommit saw %d", s.Batches, len(committed), commits.Load())
	}
	if s.InFlight != 0 || s.Lag(time.Now()) != 0 {
		t.Errorf("after the run: %d batches in flight, lag %v; want none", s.InFlight, s.Lag(time.Now()))
	}
	if s.Backlog == nil || s.Backlog.Partitions != 0 || s.Backlog.Bytes != 0 || len(s.Backlog.Unreadable) != 0 {
		t.Errorf("backlog after reading everything: %+v, want zero", s.Backlog)
	}
}

func TestLagIsTheAgeOfTheOldestBatchInFlight(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		oldest time.Time
		want   time.Duration
	}{
		{"nothing in flight", time.Time{}, 0},
		{"read 3s ago", now.Add(-3 * time.Second), 3 * time.Second},
		{"clock went back", now.Add(time.Second), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (engine.StatsSnapshot{OldestRead: tt.oldest}).Lag(now); got != tt.want {
				t.Errorf("Lag = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReadStatusWithoutRunning asks a configured pipeline where it stands,
// before and after a run: the sink's checkpoint (filesink has no Status,
// so its Checkpoint answers) and gen's backlog after it.
func TestReadStatusWithoutRunning(t *testing.T) {
	sinkPath := filepath.Join(t.TempDir(), "sink.jsonl")
	yaml := pipelineYAML(sinkPath, "tag", 3, 2000, 500, 700, "0s")
	ctx := context.Background()

	before, err := engine.ReadStatus(ctx, openPipeline(t, yaml).Pipeline)
	if err != nil {
		t.Fatal(err)
	}
	want := engine.Status{Backlog: &plugin.Backlog{Partitions: 3, Bytes: 3 * 2000 * genRowBytes}}
	if !sameStatus(before, want) {
		t.Errorf("before any run: %+v (backlog %+v), want %+v (backlog %+v)", before, before.Backlog, want, want.Backlog)
	}

	if err := runOnce(t, openPipeline(t, yaml)); err != nil {
		t.Fatal(err)
	}
	committed, _, err := readCommits(sinkPath)
	if err != nil {
		t.Fatal(err)
	}
	after, err := engine.ReadStatus(ctx, openPipeline(t, yaml).Pipeline)
	if err != nil {
		t.Fatal(err)
	}
	want = engine.Status{BatchID: committed[len(committed)-1].BatchID, Done: 3, Backlog: &plugin.Backlog{}}
	if !sameStatus(after, want) {
		t.Errorf("after a run: %+v (backlog %+v), want %+v (backlog %+v)", after, after.Backlog, want, want.Backlog)
	}
}

func sameStatus(a, b engine.Status) bool {
	if (a.Backlog == nil) != (b.Backlog == nil) || (a.Backlog != nil && !reflect.DeepEqual(*a.Backlog, *b.Backlog)) {
		return false
	}
	return a.BatchID == b.BatchID && a.CommittedAt.Equal(b.CommittedAt) && a.Done == b.Done && a.Started == b.Started && len(a.Rejects) == len(b.Rejects) && (a.Rejects == nil) == (b.Rejects == nil)
}

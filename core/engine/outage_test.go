package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// downSink is a sink whose database is down until up is closed: its
// Checkpoint and Write fail with plugin.ErrUnavailable meanwhile.
type downSink struct {
	up        chan struct{}
	mu        sync.Mutex
	committed map[int64]int // commits by batch id
	calls     int
	marked    bool // a call carried the engine-retry mark
}

func (s *downSink) isUp(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.marked = s.marked || plugin.EngineRetries(ctx)
	select {
	case <-s.up:
		return nil
	default:
		return fmt.Errorf("connect to 127.0.0.1:5433: connection refused (%w)", plugin.ErrUnavailable)
	}
}

func (s *downSink) Configure(context.Context, plugin.Config, record.Schema) error { return nil }
func (s *downSink) Close(context.Context) error                                   { return nil }
func (s *downSink) Checkpoint(ctx context.Context) (plugin.Checkpoint, error) {
	return plugin.Checkpoint{}, s.isUp(ctx)
}
func (s *downSink) Write(ctx context.Context, req plugin.WriteRequest) error {
	if err := s.isUp(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed[req.BatchID]++
	return nil
}

// TestUnavailableSinkIsRetried: a sink whose database is down ends a
// --once run, but a streaming run retries it, not ready meanwhile, until
// it is back, committing each batch once; a stop while it is down ends the
// run at once with nil. Defect 9.
func TestUnavailableSinkIsRetried(t *testing.T) {
	tests := []struct {
		name string
		once bool
		// downAt: "checkpoint" (down from the start) or "write" (after the
		// checkpoint was read).
		downAt string
		// then: "recover" or "stop".
		then string
	}{
		{"once: the outage ends the run", true, "write", ""},
		{"streaming: down at start, recovers", false, "checkpoint", "recover"},
		{"streaming: down at a write, recovers", false, "write", "recover"},
		{"streaming: stop while down at start", false, "checkpoint", "stop"},
		{"streaming: stop while down at a write", false, "write", "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &downSink{up: make(chan struct{}), committed: map[int64]int{}}
			src := &fakeSource{n: 5, partition: func(int64) string { return "a.csv" }}
			p := Pipeline{Source: Step[plugin.Source]{Name: "source", Plugin: src}, Sink: Step[plugin.Sink]{Name: "sink", Plugin: sink}}
			if tt.downAt == "write" {
				// The checkpoint reads fine; the writes find the database down.
				p.Sink.Plugin = &checkpointDown{sink}
			}
			stats := &Stats{}
			stop := make(chan struct{})
			done := make(chan error, 1)
			opts := Options{Once: tt.once, BatchMaxWait: 10 * time.Millisecond, RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 20 * time.Millisecond}
			go func() { done <- Run(context.Background(), p, opts, stop, stats) }()
			if tt.once {
				select {
				case err := <-done:
					if !errors.Is(err, plugin.ErrUnavailable) {
						t.Fatalf("--once run returned %v, want the sink's outage", err)
					}
				case <-time.After(time.Minute):
					t.Fatal("a --once run against a sink that is down does not end")
				}
				return
			}
			waitUntil(t, "the outage to show", func() bool { return stats.Snapshot().SinkUnavailable })
			if stats.Snapshot().Ready() {
				t.Error("the pipeline says it is ready while its sink is unavailable")
			}
			time.Sleep(50 * time.Millisecond) // a few retries
			switch tt.then {
			case "recover":
				close(sink.up)
				waitUntil(t, "every batch committed", func() bool {
					sink.mu.Lock()
					defer sink.mu.Unlock()
					return len(sink.committed) == 5
				})
				if !stats.Snapshot().Ready() {
					t.Error("not ready after the sink came back")
				}
				close(stop)
				if err := <-done; err != nil {
					t.Fatalf("Run: %v", err)
				}
				for id, n := range sink.committed {
					if n != 1 {
						t.Errorf("batch %d committed %d times", id, n)
					}
				}
			case "stop":
				start := time.Now()
				close(stop)
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("a stop during the outage returned %v, want nil", err)
					}
					if took := time.Since(start); took > 500*time.Millisecond {
						t.Errorf("a stop during the outage took %s", took)
					}
				case <-time.After(time.Minute):
					t.Fatal("a stop during the outage does not end the run")
				}
			}
			if !sink.marked {
				t.Error("no call to the sink carried host.WithEngineRetry's mark")
			}
			if stats.Snapshot().SinkUnavailable {
				t.Error("the outage still shows after the run ended")
			}
		})
	}
}

// checkpointDown is a downSink whose checkpoint reads fine.
type checkpointDown struct{ *downSink }

func (s *checkpointDown) Checkpoint(context.Context) (plugin.Checkpoint, error) {
	return plugin.Checkpoint{}, nil
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestRestartsAreCountedWithinTheWindow: engine.max_restarts bounds the
// restarts within engine.restart_window; older ones no longer count.
// Defect 8.
func TestRestartsAreCountedWithinTheWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		max    int
		deaths []time.Duration // after t0
		want   []bool
	}{
		{"max 2 in the window", 2, []time.Duration{0, time.Minute, 2 * time.Minute}, []bool{true, true, false}},
		{"old restarts leave the window", 2, []time.Duration{0, time.Minute, 10 * time.Minute, 10*time.Minute + 30*time.Second}, []bool{true, true, true, false}},
		{"max 0 restarts nothing", -1, []time.Duration{0}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &restartLog{max: tt.max, window: 10 * time.Minute}
			for i, d := range tt.deaths {
				if got := r.allow(t0.Add(d)); got != tt.want[i] {
					t.Errorf("death %d at +%s: allowed %v, want %v", i+1, d, got, tt.want[i])
				}
			}
		})
	}
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/plugintest"
)

// TestRetryOfAnUnreachableDatabase: how long the sink retries a database
// it cannot reach, what it logs, and that it reports the outage as
// plugin.ErrUnavailable. When the engine retries the call (a streaming
// run) the sink gives up within about a second, whatever retry.max_time,
// and leaves the WARN to the engine; otherwise it keeps to max_time and
// warns once, not at every attempt; a context that ends stops its wait at
// once. Defect 9.
func TestRetryOfAnUnreachableDatabase(t *testing.T) {
	tests := []struct {
		name          string
		retry         string
		engineRetries bool
		cancelAfter   time.Duration
		min, max      time.Duration
		warns         int
	}{
		{"bounded by max_time, one WARN", "{max_time: 2s, initial_backoff: 50ms, max_backoff: 100ms}", false, 0, 1500 * time.Millisecond, 5 * time.Second, 1},
		{"the engine retries: within a second, no WARN", "{max_time: 1m, initial_backoff: 50ms, max_backoff: 100ms}", true, 0, 500 * time.Millisecond, 3 * time.Second, 0},
		{"cancelled during a wait", "{max_time: 1m, initial_backoff: 5s, max_backoff: 5s}", false, 300 * time.Millisecond, 200 * time.Millisecond, time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			logs := &logBuffer{}
			s.log = newTestLogger(logs)
			raw := fmt.Sprintf("dsn: postgres://etl@127.0.0.1:%d/db?sslmode=disable\ntable: events\nretry: %s\nconnect_timeout: 1s", freePort(t), tt.retry)
			if err := s.Configure(context.Background(), plugin.Config{Pipeline: "p", Raw: []byte(raw)}, eventsSchema); err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			if tt.engineRetries {
				ctx = plugintest.WithEngineRetry(ctx)
			}
			if tt.cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tt.cancelAfter, cancel)
			}
			start := time.Now()
			_, err := s.Checkpoint(ctx)
			took := time.Since(start)
			if err == nil {
				t.Fatal("Checkpoint succeeded against a closed port")
			}
			if took < tt.min || took > tt.max {
				t.Errorf("gave up after %s, want %s to %s", took, tt.min, tt.max)
			}
			if tt.cancelAfter > 0 {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("error %v, want it to say the context was cancelled", err)
				}
			} else if !errors.Is(err, plugin.ErrUnavailable) {
				t.Errorf("error %v does not wrap plugin.ErrUnavailable", err)
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != tt.warns {
				t.Errorf("%d WARN lines, want %d:\n%s", n, tt.warns, logs)
			}
		})
	}
}

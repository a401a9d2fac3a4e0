package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/plugin"
)

// Defaults of the retry of an unavailable sink.
const (
	defaultRetryBackoff    = 250 * time.Millisecond
	defaultRetryBackoffMax = 5 * time.Second
	// outageWarnEvery is how often an outage that goes on is logged.
	outageWarnEvery = time.Minute
)

// errStoppedInOutage ends a run stopped while the sink was unavailable:
// its uncommitted batches are dropped (read again by the next run), which
// is a clean stop.
var errStoppedInOutage = errors.New("stopped while the sink was unavailable; the uncommitted batches will be read again")

// outage follows the sink's unavailability in one run: it logs it (a WARN
// when it begins, then at most once a minute, an INFO when it ends), shows
// it in Stats (the pipeline is not ready meanwhile), and ends the run at
// once when a stop comes while it lasts, since nothing in flight can be
// committed then.
type outage struct {
	log   *slog.Logger
	stats *Stats
	abort func() // cancels the run with errStoppedInOutage

	mu       sync.Mutex
	since    time.Time // zero when the sink is available
	warned   time.Time
	attempts int
	stopping bool
	stopped  chan struct{} // closed by stop
}

func newOutage(log *slog.Logger, stats *Stats, abort func()) *outage {
	return &outage{log: log, stats: stats, abort: abort, stopped: make(chan struct{})}
}

// failed records a call to the sink that failed with ErrUnavailable.
func (o *outage) failed(step, doing string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	o.attempts++
	if o.since.IsZero() {
		o.since, o.warned = now, now
		o.stats.setUnavailable(true)
		o.log.Warn("sink unavailable: retrying until it is back; the pipeline is not ready meanwhile",
			"step", step, "doing", doing, "error", err.Error())
	} else if now.Sub(o.warned) >= outageWarnEvery {
		o.warned = now
		o.log.Warn("sink still unavailable, retrying", "step", step, "doing", doing, "for", now.Sub(o.since).Round(time.Second).String(),
			"attempts", o.attempts, "error", err.Error())
	}
	if o.stopping {
		o.abort()
	}
}

// succeeded records a call to the sink that went through.
func (o *outage) succeeded(step string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		return
	}
	o.log.Info("sink available again", "step", step, "after", time.Since(o.since).Round(time.Millisecond).String(), "attempts", o.attempts)
	o.since, o.attempts = time.Time{}, 0
	o.stats.setUnavailable(false)
}

// stop says a stop was asked for: a run in an outage ends at once.
func (o *outage) stop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopping {
		return
	}
	o.stopping = true
	close(o.stopped)
	if !o.since.IsZero() {
		o.abort()
	}
}

// end clears the outage from Stats when the run ends.
func (o *outage) end() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.since.IsZero() {
		o.stats.setUnavailable(false)
	}
}

// retryUnavailable calls f until it succeeds or fails with another error
// than plugin.ErrUnavailable, waiting with capped backoff between calls,
// when the run retries (not opts.Once); f gets a context marked with
// host.WithEngineRetry then. It returns ctx's error when ctx ends, and
// errStoppedInOutage when a stop comes while the sink is unavailable.
func retryUnavailable(ctx context.Context, opts Options, o *outage, step, doing string, f func(context.Context) error) error {
	if opts.Once {
		return f(ctx)
	}
	callCtx := host.WithEngineRetry(ctx)
	backoff := opts.RetryBackoff
	for {
		err := f(callCtx)
		if err == nil {
			o.succeeded(step)
			return nil
		}
		if !errors.Is(err, plugin.ErrUnavailable) || ctx.Err() != nil {
			return err
		}
		o.failed(step, doing, err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-o.stopped:
			t.Stop()
			return errStoppedInOutage
		}
		backoff = min(2*backoff, opts.RetryBackoffMax)
	}
}

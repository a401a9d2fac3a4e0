package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/spec"
)

// maxRestartBackoff caps the wait before a restart.
const maxRestartBackoff = 30 * time.Second

// Supervise runs the pipeline of in as Run does, and keeps it running: it
// checks every opts.HealthInterval that each plugin process lives and
// answers a health check within opts.PingTimeout, so that a plugin that
// dies or hangs while the pipeline is idle is noticed within seconds, not
// when the next batch comes. In a streaming run (not opts.Once), when a
// plugin dies or hangs, Supervise kills every process of the instance,
// waits (opts.RestartBackoff, doubling with each restart in the window),
// and opens the pipeline again from the sink's checkpoint: what was not
// committed is simply read again. After opts.MaxRestarts restarts within
// opts.RestartWindow, the next death ends the run with an error naming the
// plugin and quoting the end of its stderr. With opts.Once, a death ends
// the run at once. A stop (closed stop) during the wait before a restart
// ends the run at once, with nil.
//
// Supervise owns in: it closes the instance running when it returns.
// Restarts are counted in stats.
func Supervise(ctx context.Context, in *Instance, opts Options, stop <-chan struct{}, stats *Stats) error {
	opts = withDefaults(opts)
	log := opts.Logger
	if stats == nil {
		stats = &Stats{}
	}
	restarts := &restartLog{max: opts.MaxRestarts, window: opts.RestartWindow}
	sp, h, logger := in.Spec, in.host, in.logger
	var steps []StepPlugin
	for _, p := range in.Processes {
		steps = append(steps, StepPlugin{p.Step, p.Location.Name})
	}
	stats.knowSteps(steps)
	defer func() {
		if in != nil {
			closeInstance(in, log)
		}
	}()
	for {
		err := runWatched(ctx, in, opts, stop, stats)
		if err == nil {
			return nil
		}
		crash := crashOf(err)
		if crash == nil || opts.Once || ctx.Err() != nil {
			return err
		}
		if !restarts.allow(time.Now()) {
			return restarts.giveUp(err)
		}
		stats.restarted(crash.Step, crash.Plugin)
		wait := opts.RestartBackoff
		for i := 1; i < restarts.count() && wait < maxRestartBackoff; i++ {
			wait *= 2
		}
		wait = min(wait, maxRestartBackoff)
		log.Warn("plugin died: restarting the pipeline from its checkpoint; what was not committed is read again",
			"step", crash.Step, "plugin", crash.Plugin, "error", firstLine(crash.Error()), "stderr_tail", lastLines(crash.Stderr, 5),
			"restart", restarts.count(), "of", opts.MaxRestarts, "window", opts.RestartWindow.String(), "in", wait.String())
		for _, p := range in.Processes {
			if p.Step == crash.Step {
				p.KillNow() // dead, or hung: then it would not end when asked
			}
		}
		in.Kill()
		in = nil
		for in == nil {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-stop:
				t.Stop()
				log.Info("stopped while waiting to restart the pipeline")
				return nil
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
			next, err := reopen(ctx, sp, h, logger)
			if err == nil {
				in = next
				log.Info("pipeline restarted", "steps", next.Describe())
				break
			}
			// A plugin that dies as it starts again counts as a death.
			crash := crashOf(err)
			if crash == nil {
				return fmt.Errorf("restart the pipeline: %w", err)
			}
			if !restarts.allow(time.Now()) {
				return restarts.giveUp(err)
			}
			stats.restarted(crash.Step, crash.Plugin)
			wait = min(2*wait, maxRestartBackoff)
			log.Warn("plugin died while the pipeline restarted; trying again", "step", crash.Step, "plugin", crash.Plugin,
				"error", firstLine(crash.Error()), "in", wait.String())
		}
	}
}

// restartLog keeps the times of the restarts within the window.
type restartLog struct {
	max    int // < 0: none allowed
	window time.Duration
	at     []time.Time
}

// allow records a restart at now and reports whether it is allowed: fewer
// than max restarts in the window before it.
func (r *restartLog) allow(now time.Time) bool {
	kept := r.at[:0]
	for _, t := range r.at {
		if now.Sub(t) < r.window {
			kept = append(kept, t)
		}
	}
	r.at = kept
	if r.max < 0 || len(r.at) >= r.max {
		return false
	}
	r.at = append(r.at, now)
	return true
}

func (r *restartLog) count() int { return len(r.at) }

// giveUp is the error that ends a run after too many restarts.
func (r *restartLog) giveUp(err error) error {
	return fmt.Errorf("giving up after %d restarts within engine.restart_window %s (engine.max_restarts %d): %w",
		len(r.at), r.window, max(r.max, 0), err)
}

// reopen starts and configures the plugins of a new instance of s, its
// further writers included.
func reopen(ctx context.Context, s *spec.Spec, h *host.Host, logger *slog.Logger) (*Instance, error) {
	in, err := Open(ctx, s, h, logger)
	if err != nil {
		return nil, err
	}
	if err := in.StartWriters(ctx); err != nil {
		in.Kill()
		return nil, err
	}
	return in, nil
}

// closeInstance asks the plugins of in to close, then ends their
// processes.
func closeInstance(in *Instance, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.Close(ctx); err != nil {
		log.Warn("closing plugins", "error", err.Error())
	}
}

// runWatched is Run with a watcher that ends it when a plugin process of
// in dies or hangs.
func runWatched(ctx context.Context, in *Instance, opts Options, stop <-chan struct{}, stats *Stats) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		watch(ctx, in, opts, func(err error) {
			stats.running.Store(false)
			cancel(err)
		})
	}()
	err := Run(ctx, in.Pipeline, opts, stop, stats)
	cancel(nil)
	wg.Wait()
	if cause := context.Cause(ctx); err != nil && crashOf(cause) != nil && crashOf(err) == nil {
		// The run ended because the watcher found a dead plugin: that is
		// the error, not the cancelled call it left behind.
		return cause
	}
	return err
}

// watch checks the processes of in every opts.HealthInterval until ctx
// ends (each must live and answer a gRPC health check within
// opts.PingTimeout), and calls dead with the first found dead or hung.
func watch(ctx context.Context, in *Instance, opts Options, dead func(error)) {
	t := time.NewTicker(opts.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range in.Processes {
			if err := p.Check(ctx, opts.PingTimeout); err != nil && ctx.Err() == nil {
				dead(err)
				return
			}
		}
	}
}

// crashOf returns the plugin death err holds, or nil.
func crashOf(err error) *host.CrashError {
	var ce *host.CrashError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

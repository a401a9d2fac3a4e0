package plugin

import (
	"context"

	"github.com/seed-etl/etl/core/internal/wire"
)

// ErrUnavailable marks an error of a plugin whose outside system (a
// database, a broker) cannot be reached for now: the same call may succeed
// when made again later, and nothing is wrong with the plugin itself. Wrap
// it (fmt.Errorf("...: %w", err) with errors.Join or a second %w) so that
// errors.Is finds it; it crosses the process boundary as gRPC status
// UNAVAILABLE with a detail (pb/PROTOCOL.md, "Errors"). In a streaming run
// the engine retries a sink's Checkpoint and Write that fail with it, with
// backoff, for as long as it takes, and reports the pipeline not ready
// meanwhile; elsewhere (--once, a source, a transform) it ends the run like
// any other error.
var ErrUnavailable = wire.ErrUnavailable

// EngineRetries reports whether the engine retries the call ctx belongs
// to when it fails with ErrUnavailable (the engine marks it so). Plugins ask
// it to decide how long to retry by themselves: briefly when it does,
// within their own bound (e.g. a retry.max_time setting) when it does not.
func EngineRetries(ctx context.Context) bool { return wire.EngineRetries(ctx) }

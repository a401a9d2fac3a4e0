package plugintest

import (
	"context"

	"github.com/seed-etl/etl/core/internal/wire"
)

// WithEngineRetry marks ctx as the engine marks the calls it retries when
// they fail with plugin.ErrUnavailable (a streaming run), so that a test
// can check what a plugin does when plugin.EngineRetries(ctx) is true.
func WithEngineRetry(ctx context.Context) context.Context { return wire.WithEngineRetry(ctx) }

package plugin

import (
	"testing"

	"github.com/seed-etl/etl/core/internal/wire"
)

// The kinds a plugin serves are dispensed under the names the engine asks
// for.
func TestKindsAreTheWireNames(t *testing.T) {
	for got, want := range map[string]string{KindSource: wire.KindSource, KindTransform: wire.KindTransform, KindSink: wire.KindSink} {
		if got != want {
			t.Errorf("kind %q, the engine dispenses %q", got, want)
		}
	}
}

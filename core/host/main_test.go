package host

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// The plugins of these tests are real processes: this test binary,
// re-executed, serves them, as etl does with its bundled plugins. Run
// under the name etl-plugin-probe (a link to it), it serves the probe as
// an external plugin.
var testPlugins = map[string]plugin.Plugin{"probe": probePlugin, "rawprobe": {Name: "rawprobe", Version: "1.0.0",
	Transform: func() plugin.Transform { return &rawProbe{} }, Sink: func() plugin.Sink { return &rawSinkProbe{} }, SinkAsksForRaw: true, TransformNeedsNoRaw: true}}

var probePlugin = plugin.Plugin{Name: "probe", Version: "1.2.3", Transform: func() plugin.Transform { return &probe{} }}

func TestMain(m *testing.M) {
	if ServeBundled(testPlugins) {
		return
	}
	if strings.HasPrefix(filepath.Base(os.Args[0]), ExternalPrefix) {
		plugin.Serve(probePlugin)
		return
	}
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// probe passes batches on; configured with {log: true} it logs a line at
// each level through slog's default logger (plugin.Logger, set by Serve)
// and writes plain lines to stderr, as a third-party plugin might.
type probe struct{}

func (*probe) Configure(_ context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	if strings.Contains(string(cfg.Raw), "log: true") {
		slog.Debug("probe debug line", "n", 1)
		slog.Info("probe configured", "step", "mine")
		slog.Warn("disk almost full", "free_bytes", 1234, "path", "/data")
		fmt.Fprintln(os.Stderr, "plain text line from probe")
		fmt.Fprintln(os.Stderr, "[WARN] tagged warning from probe")
		slog.Error("probe error line", "code", 7)
	}
	return in, nil
}

func (*probe) Process(_ context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	return b, nil, nil
}

func (*probe) Close(context.Context) error { return nil }

// startProbe starts the bundled probe for step "t".
func startProbe(t *testing.T, ref Ref, opts StartOptions) *Process {
	t.Helper()
	h := &Host{Bundled: testPlugins}
	if ref.Name == "" {
		ref.Name = "probe"
	}
	p, err := h.Start(context.Background(), "t", ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Command tiny is the smallest external plugin, built by core/host's tests
// into a temporary folder as etl-plugin-tiny, as a third-party author
// would build theirs (with -ldflags -X ...servedProtocol=N to pretend to
// speak another protocol version). Its transform passes batches on; its
// config decides how Configure and Close answer.
package main

import (
	"context"
	"fmt"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

type config struct {
	// Mode must be "pass" when set.
	Mode string `yaml:"mode"`
	// CloseUnavailable makes Close fail with an error wrapping
	// plugin.ErrUnavailable.
	CloseUnavailable bool `yaml:"close_unavailable"`
}

type tiny struct{ cfg config }

func (t *tiny) Configure(_ context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	if err := plugin.DecodeConfig(cfg.Raw, &t.cfg); err != nil {
		return record.Schema{}, err
	}
	if t.cfg.Mode != "" && t.cfg.Mode != "pass" {
		return in, plugin.ConfigErrors{{Path: "mode", Message: fmt.Sprintf("unknown mode %q (want pass)", t.cfg.Mode), Field: "id"}}
	}
	return in, nil
}

func (t *tiny) Process(_ context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	return b, nil, nil
}

func (t *tiny) Close(context.Context) error {
	if t.cfg.CloseUnavailable {
		return fmt.Errorf("tiny: the outside system is down: %w", plugin.ErrUnavailable)
	}
	return nil
}

func main() {
	plugin.Serve(plugin.Plugin{Name: "tiny", Version: "0.0.7", Transform: func() plugin.Transform { return &tiny{} }})
}

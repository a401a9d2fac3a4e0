// Command tiny is the smallest external plugin, built by core/host's tests
// into a temporary folder as etl-plugin-tiny, as a third-party author
// would build theirs (with -ldflags -X ...servedProtocol=N to pretend to
// speak another protocol version). Its transform passes batches on; its
// config decides how Configure and Close answer. Its source plays a
// consumer group's rebalance: it is assigned partition t/0, starts it
// where Assign says, then revokes it and reports what Release said.
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

// group is the rebalancing source.
type group struct {
	reads    int
	start    int64
	released []string
}

func (g *group) Configure(context.Context, plugin.Config) (record.Schema, error) {
	return record.Schema{}, nil
}
func (g *group) Open(context.Context, []record.Position) error { return nil }
func (g *group) Ack(context.Context, []record.Position) error  { return nil }
func (g *group) Close(context.Context) error                   { return nil }

func (g *group) Read(context.Context, plugin.ReadRequest) (plugin.ReadResult, error) {
	g.reads++
	switch g.reads {
	case 1:
		return plugin.ReadResult{Assigned: []string{"t/0"}}, nil
	case 2:
		return plugin.ReadResult{Positions: []record.Position{{Partition: "t/0", Offset: g.start + 1}}, Revoked: []string{"t/0"},
			Backlog: &plugin.Backlog{Lag: []plugin.PartitionLag{{Partition: "t/0", Messages: 9}}}}, nil
	}
	return plugin.ReadResult{CaughtUp: true, Backlog: &plugin.Backlog{Partitions: int64(len(g.released))}}, nil
}

func (g *group) Assign(_ context.Context, partitions []string, positions []record.Position) error {
	if len(partitions) != 1 || partitions[0] != "t/0" || len(positions) != 1 {
		return fmt.Errorf("tiny: Assign(%v, %v), want t/0 with its position", partitions, positions)
	}
	g.start = positions[0].Offset
	return nil
}

func (g *group) Release(_ context.Context, partitions []string) error {
	g.released = append(g.released, partitions...)
	return nil
}

func main() {
	plugin.Serve(plugin.Plugin{Name: "tiny", Version: "0.0.7",
		Source:    func() plugin.Source { return &group{} },
		Transform: func() plugin.Transform { return &tiny{} }})
}

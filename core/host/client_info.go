package host

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/pb"
)

// Info is what a plugin says of itself.
type Info struct {
	Name    string
	Version string
	Kinds   []string
	// Settings describe the keys of its config block.
	Settings []plugin.Setting
	// SinkAsksForRaw says its sink asks for the raw text of the rows it
	// stores as rejects (plugin.Plugin.SinkAsksForRaw).
	SinkAsksForRaw bool
	// TransformNeedsNoRaw says its transform reads no raw text
	// (plugin.Plugin.TransformNeedsNoRaw).
	TransformNeedsNoRaw bool
}

// infoDispenser dispenses an Info client in the engine.
type infoDispenser struct {
	goplugin.NetRPCUnsupportedPlugin
}

// GRPCServer is the plugin's side, in core/plugin.
func (*infoDispenser) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return errNotServer }

func (*infoDispenser) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &infoClient{c: pb.NewInfoClient(c)}, nil
}

// infoClient asks a plugin process what it is.
type infoClient struct{ c pb.InfoClient }

// Describe returns the plugin's name, version, kinds and settings.
func (c *infoClient) Describe(ctx context.Context) (Info, error) {
	r, err := c.c.Describe(ctx, &pb.Empty{})
	if err != nil {
		return Info{}, wire.UnwrapStatus(err)
	}
	return Info{Name: r.Name, Version: r.Version, Kinds: r.Kinds, Settings: settingsFromPB(r.Settings), SinkAsksForRaw: r.SinkAsksForRaw, TransformNeedsNoRaw: r.TransformNeedsNoRaw}, nil
}

// settingsFromPB is the settings a Describe answer holds.
func settingsFromPB(settings []*pb.Setting) []plugin.Setting {
	var out []plugin.Setting
	for _, s := range settings {
		out = append(out, plugin.Setting{Name: s.Name, Type: s.Type, Default: s.Default, Required: s.Required, Doc: s.Doc, Allowed: s.Allowed})
	}
	return out
}

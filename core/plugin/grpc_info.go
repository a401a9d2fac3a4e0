package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seed-etl/etl/core/plugin/pb"
)

// Info is what a plugin says of itself.
type Info struct {
	Name    string
	Version string
	Kinds   []string
	// Settings describe the keys of its config block.
	Settings []Setting
}

// infoPlugin serves and dispenses the Info service.
type infoPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	p Plugin
}

func (ip *infoPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterInfoServer(s, &infoServer{p: ip.p})
	return nil
}

func (ip *infoPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &InfoClient{c: pb.NewInfoClient(c)}, nil
}

type infoServer struct {
	pb.UnimplementedInfoServer
	p Plugin
}

func (s *infoServer) Describe(context.Context, *pb.Empty) (*pb.DescribeResponse, error) {
	return &pb.DescribeResponse{Name: s.p.Name, Version: s.p.Version, Kinds: s.p.Kinds(), Settings: settingsToPB(s.p.Settings)}, nil
}

// InfoClient asks a plugin process what it is.
type InfoClient struct{ c pb.InfoClient }

// Describe returns the plugin's name, version, kinds and settings.
func (c *InfoClient) Describe(ctx context.Context) (Info, error) {
	r, err := c.c.Describe(ctx, &pb.Empty{})
	if err != nil {
		return Info{}, unwrapStatus(err)
	}
	return Info{Name: r.Name, Version: r.Version, Kinds: r.Kinds, Settings: settingsFromPB(r.Settings)}, nil
}

// settingsFromPB is the settings a Describe answer holds.
func settingsFromPB(settings []*pb.Setting) []Setting {
	var out []Setting
	for _, s := range settings {
		out = append(out, Setting{Name: s.Name, Type: s.Type, Default: s.Default, Required: s.Required, Doc: s.Doc, Allowed: s.Allowed})
	}
	return out
}

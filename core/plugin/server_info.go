package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seed-etl/etl/core/plugin/pb"
)

// infoPlugin serves the Info service: what the plugin is.
type infoPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	p Plugin
}

func (ip *infoPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterInfoServer(s, &infoServer{p: ip.p})
	return nil
}

// GRPCClient is the engine's side, in core/host.
func (ip *infoPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errNotClient
}

type infoServer struct {
	pb.UnimplementedInfoServer
	p Plugin
}

func (s *infoServer) Describe(context.Context, *pb.Empty) (*pb.DescribeResponse, error) {
	return &pb.DescribeResponse{Name: s.p.Name, Version: s.p.Version, Kinds: s.p.Kinds(), Settings: settingsToPB(s.p.Settings),
		SinkAsksForRaw: s.p.Sink != nil && s.p.SinkAsksForRaw, TransformNeedsNoRaw: s.p.Transform != nil && s.p.TransformNeedsNoRaw}, nil
}

package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/plugin/pb"
)

// transformPlugin serves a Transform in a plugin process.
type transformPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl func() Transform
}

// GRPCClient is the engine's side, in core/host.
func (p *transformPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errNotClient
}

func (p *transformPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterTransformServer(s, &transformServer{impl: p.impl()})
	return nil
}

// transformServer is the plugin's side: it calls the author's Transform.
type transformServer struct {
	pb.UnimplementedTransformServer
	impl Transform
}

func (s *transformServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	schema, err := s.impl.Configure(ctx, configFromPB(req), wire.SchemaFromPB(req.Input))
	return &pb.ConfigureResponse{Schema: wire.SchemaToPB(schema), Errors: configErrorsToPB(err)}, nil
}

func (s *transformServer) Process(ctx context.Context, req *pb.ProcessRequest) (*pb.ProcessResponse, error) {
	in, err := wire.DecodeBatch(req.Batch, true)
	if err != nil {
		return nil, wire.StatusOf(err)
	}
	if req.RawHeld {
		ctx = wire.WithRawHeld(ctx)
	}
	out, rejects, err := s.impl.Process(ctx, in)
	if err != nil {
		return nil, wire.StatusOf(err)
	}
	data, err := wire.EncodeBatch(out)
	if err != nil {
		return nil, wire.StatusOf(err)
	}
	return &pb.ProcessResponse{Batch: data, Rejects: wire.RejectsToPB(rejects)}, nil
}

func (s *transformServer) Close(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, wire.StatusOf(s.impl.Close(ctx))
}

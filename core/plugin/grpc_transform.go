package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
)

// transformPlugin serves a Transform in a plugin process and dispenses a
// Transform client in the engine.
type transformPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl func() Transform
}

func (p *transformPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterTransformServer(s, &transformServer{impl: p.impl()})
	return nil
}

func (p *transformPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &transformClient{c: pb.NewTransformClient(c)}, nil
}

// transformClient is the engine's side of a Transform.
type transformClient struct{ c pb.TransformClient }

func (c *transformClient) Configure(ctx context.Context, cfg Config, in record.Schema) (record.Schema, error) {
	r, err := c.c.Configure(ctx, configureRequest(cfg, &in))
	if err != nil {
		return record.Schema{}, unwrapStatus(err)
	}
	return schemaFromPB(r.Schema), configErrorsFromPB(r.Errors)
}

func (c *transformClient) Process(ctx context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	data, err := encodeBatch(b)
	if err != nil {
		return nil, nil, err
	}
	r, err := c.c.Process(ctx, &pb.ProcessRequest{Batch: data})
	if err != nil {
		return nil, nil, unwrapStatus(err)
	}
	out, err := decodeBatch(r.Batch, false)
	if err != nil {
		return nil, nil, err
	}
	return out, rejectsFromPB(r.Rejects), nil
}

func (c *transformClient) Close(ctx context.Context) error {
	_, err := c.c.Close(ctx, &pb.Empty{})
	return unwrapStatus(err)
}

// transformServer is the plugin's side: it calls the author's Transform.
type transformServer struct {
	pb.UnimplementedTransformServer
	impl Transform
}

func (s *transformServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	schema, err := s.impl.Configure(ctx, configFromPB(req), schemaFromPB(req.Input))
	return &pb.ConfigureResponse{Schema: schemaToPB(schema), Errors: configErrorsToPB(err)}, nil
}

func (s *transformServer) Process(ctx context.Context, req *pb.ProcessRequest) (*pb.ProcessResponse, error) {
	in, err := decodeBatch(req.Batch, true)
	if err != nil {
		return nil, statusOf(err)
	}
	out, rejects, err := s.impl.Process(ctx, in)
	if err != nil {
		return nil, statusOf(err)
	}
	data, err := encodeBatch(out)
	if err != nil {
		return nil, statusOf(err)
	}
	return &pb.ProcessResponse{Batch: data, Rejects: rejectsToPB(rejects)}, nil
}

func (s *transformServer) Close(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, statusOf(s.impl.Close(ctx))
}

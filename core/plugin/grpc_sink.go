package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"etl/core/plugin/pb"
	"etl/core/record"
)

// sinkPlugin serves a Sink in a plugin process and dispenses a Sink client
// in the engine.
type sinkPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl func() Sink
}

func (p *sinkPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterSinkServer(s, &sinkServer{impl: p.impl()})
	return nil
}

func (p *sinkPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &sinkClient{c: pb.NewSinkClient(c)}, nil
}

// sinkClient is the engine's side of a Sink.
type sinkClient struct{ c pb.SinkClient }

func (c *sinkClient) Configure(ctx context.Context, cfg Config, in record.Schema) error {
	r, err := c.c.Configure(ctx, configureRequest(cfg, &in))
	if err != nil {
		return unwrapStatus(err)
	}
	return configErrorsFromPB(r.Errors)
}

func (c *sinkClient) Checkpoint(ctx context.Context) (Checkpoint, error) {
	r, err := c.c.Checkpoint(ctx, &pb.Empty{})
	if err != nil {
		return Checkpoint{}, unwrapStatus(err)
	}
	return Checkpoint{BatchID: r.BatchId, Positions: positionsFromPB(r.Positions)}, nil
}

func (c *sinkClient) Write(ctx context.Context, req WriteRequest) error {
	data, err := encodeBatch(req.Batch)
	if err != nil {
		return err
	}
	_, err = c.c.Write(ctx, &pb.WriteRequest{BatchId: req.BatchID, Batch: data, Rejects: rejectsToPB(req.Rejects), Positions: positionsToPB(req.Positions)})
	return unwrapStatus(err)
}

func (c *sinkClient) Close(ctx context.Context) error {
	_, err := c.c.Close(ctx, &pb.Empty{})
	return unwrapStatus(err)
}

// sinkServer is the plugin's side: it calls the author's Sink.
type sinkServer struct {
	pb.UnimplementedSinkServer
	impl Sink
}

func (s *sinkServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	err := s.impl.Configure(ctx, configFromPB(req), schemaFromPB(req.Input))
	return &pb.ConfigureResponse{Errors: configErrorsToPB(err)}, nil
}

func (s *sinkServer) Checkpoint(ctx context.Context, _ *pb.Empty) (*pb.CheckpointResponse, error) {
	cp, err := s.impl.Checkpoint(ctx)
	if err != nil {
		return nil, statusOf(err)
	}
	return &pb.CheckpointResponse{BatchId: cp.BatchID, Positions: positionsToPB(cp.Positions)}, nil
}

func (s *sinkServer) Write(ctx context.Context, req *pb.WriteRequest) (*pb.Empty, error) {
	b, err := decodeBatch(req.Batch, true)
	if err != nil {
		return nil, statusOf(err)
	}
	err = s.impl.Write(ctx, WriteRequest{BatchID: req.BatchId, Batch: b, Rejects: rejectsFromPB(req.Rejects), Positions: positionsFromPB(req.Positions)})
	return &pb.Empty{}, statusOf(err)
}

func (s *sinkServer) Close(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, statusOf(s.impl.Close(ctx))
}

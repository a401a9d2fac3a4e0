package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/plugin/pb"
)

// sourcePlugin serves a Source in a plugin process.
type sourcePlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl func() Source
}

// GRPCClient is the engine's side, in core/host.
func (p *sourcePlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errNotClient
}

func (p *sourcePlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterSourceServer(s, &sourceServer{impl: p.impl()})
	return nil
}

// sourceServer is the plugin's side: it calls the author's Source.
type sourceServer struct {
	pb.UnimplementedSourceServer
	impl Source
}

func (s *sourceServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	schema, err := s.impl.Configure(ctx, configFromPB(req))
	return &pb.ConfigureResponse{Schema: wire.SchemaToPB(schema), Errors: configErrorsToPB(err)}, nil
}

func (s *sourceServer) Open(ctx context.Context, req *pb.OpenRequest) (*pb.Empty, error) {
	return &pb.Empty{}, wire.StatusOf(s.impl.Open(ctx, wire.PositionsFromPB(req.Positions)))
}

func (s *sourceServer) Read(ctx context.Context, req *pb.ReadRequest) (*pb.ReadResponse, error) {
	res, err := s.impl.Read(ctx, ReadRequest{MaxRows: int(req.MaxRows), MaxBytes: int(req.MaxBytes), MaxWaitMillis: req.MaxWaitMillis})
	if err != nil {
		return nil, wire.StatusOf(err)
	}
	data, err := wire.EncodeBatch(res.Batch)
	if err != nil {
		return nil, wire.StatusOf(err)
	}
	return &pb.ReadResponse{Batch: data, Rejects: wire.RejectsToPB(res.Rejects), Positions: wire.PositionsToPB(res.Positions), CaughtUp: res.CaughtUp, Backlog: backlogToPB(res.Backlog),
		Assigned: res.Assigned, Revoked: res.Revoked}, nil
}

func (s *sourceServer) Assign(ctx context.Context, req *pb.AssignRequest) (*pb.Empty, error) {
	r, ok := s.impl.(Rebalancer)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "the source has no partitions that come and go")
	}
	return &pb.Empty{}, wire.StatusOf(r.Assign(ctx, req.Partitions, wire.PositionsFromPB(req.Positions)))
}

func (s *sourceServer) Release(ctx context.Context, req *pb.ReleaseRequest) (*pb.Empty, error) {
	r, ok := s.impl.(Rebalancer)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "the source has no partitions that come and go")
	}
	return &pb.Empty{}, wire.StatusOf(r.Release(ctx, req.Partitions))
}

func (s *sourceServer) Backlog(ctx context.Context, req *pb.BacklogRequest) (*pb.Backlog, error) {
	br, ok := s.impl.(BacklogReporter)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "the source cannot tell its backlog")
	}
	b, err := br.Backlog(ctx, wire.PositionsFromPB(req.Positions))
	if err != nil {
		return nil, wire.StatusOf(err)
	}
	return backlogToPB(&b), nil
}

func backlogToPB(b *Backlog) *pb.Backlog {
	if b == nil {
		return nil
	}
	out := &pb.Backlog{Partitions: b.Partitions, Bytes: b.Bytes, Quarantined: b.Quarantined}
	for _, u := range b.Unreadable {
		out.Unreadable = append(out.Unreadable, []byte(u))
	}
	for _, l := range b.Lag {
		out.Lag = append(out.Lag, &pb.PartitionLag{Partition: l.Partition, Messages: l.Messages})
	}
	return out
}

func (s *sourceServer) Ack(ctx context.Context, req *pb.AckRequest) (*pb.Empty, error) {
	return &pb.Empty{}, wire.StatusOf(s.impl.Ack(ctx, wire.PositionsFromPB(req.Positions)))
}

func (s *sourceServer) Close(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, wire.StatusOf(s.impl.Close(ctx))
}

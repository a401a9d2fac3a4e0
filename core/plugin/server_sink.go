package plugin

import (
	"context"
	"errors"
	"sort"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/plugin/pb"
)

// sinkPlugin serves a Sink in a plugin process and dispenses a Sink client
// in the engine.
type sinkPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl func() Sink
}

// GRPCClient is the engine's side, in core/host.
func (p *sinkPlugin) GRPCClient(context.Context, *goplugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errNotClient
}

func (p *sinkPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterSinkServer(s, &sinkServer{impl: p.impl()})
	return nil
}

// sinkServer is the plugin's side: it calls the author's Sink.
type sinkServer struct {
	pb.UnimplementedSinkServer
	impl Sink
}

func (s *sinkServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	err := s.impl.Configure(ctx, configFromPB(req), wire.SchemaFromPB(req.Input))
	return &pb.ConfigureResponse{Errors: configErrorsToPB(err)}, nil
}

func (s *sinkServer) Checkpoint(ctx context.Context, _ *pb.Empty) (*pb.CheckpointResponse, error) {
	cp, err := s.impl.Checkpoint(ctx)
	if err != nil {
		return nil, wire.StatusOf(err)
	}
	return &pb.CheckpointResponse{BatchId: cp.BatchID, Positions: wire.PositionsToPB(cp.Positions)}, nil
}

func (s *sinkServer) Status(ctx context.Context, _ *pb.Empty) (*pb.StatusResponse, error) {
	sr, ok := s.impl.(StatusReporter)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "the sink cannot tell its status")
	}
	st, err := sr.Status(ctx)
	if err != nil {
		return nil, wire.StatusOf(err)
	}
	r := &pb.StatusResponse{BatchId: st.BatchID, Positions: wire.PositionsToPB(st.Positions), RejectsKnown: st.Rejects != nil}
	if !st.CommittedAt.IsZero() {
		r.CommittedAtUnixNano = st.CommittedAt.UnixNano()
	}
	types := make([]string, 0, len(st.Rejects))
	for t := range st.Rejects {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		r.Rejects = append(r.Rejects, &pb.RejectCount{ErrorType: t, Count: st.Rejects[t]})
	}
	return r, nil
}

func (s *sinkServer) Check(ctx context.Context, _ *pb.Empty) (*pb.CheckResponse, error) {
	ch, ok := s.impl.(Checker)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "the sink cannot check its destination")
	}
	res, err := ch.Check(ctx)
	var ces ConfigErrors
	var ce ConfigError
	if err != nil && !errors.As(err, &ces) && !errors.As(err, &ce) {
		return nil, wire.StatusOf(err)
	}
	return &pb.CheckResponse{Errors: configErrorsToPB(err), Notes: res.Notes}, nil
}

func (s *sinkServer) Write(ctx context.Context, req *pb.WriteRequest) (*pb.WriteResponse, error) {
	b, err := wire.DecodeBatch(req.Batch, true)
	if err != nil {
		return nil, wire.StatusOf(err)
	}
	err = s.impl.Write(ctx, WriteRequest{BatchID: req.BatchId, Batch: b, Rejects: wire.RejectsFromPB(req.Rejects), Positions: wire.PositionsFromPB(req.Positions),
		From: wire.PositionsFromPB(req.From), RawHeld: req.RawHeld, Raw: wire.RawFromPB(req.Raw)})
	if need, ok := errors.AsType[*NeedRaw](err); ok && req.RawHeld && len(need.Origins) > 0 {
		return &pb.WriteResponse{NeedRaw: wire.OriginsToPB(need.Origins)}, nil
	}
	return &pb.WriteResponse{}, wire.StatusOf(err)
}

func (s *sinkServer) Close(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, wire.StatusOf(s.impl.Close(ctx))
}

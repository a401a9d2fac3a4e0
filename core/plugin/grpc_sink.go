package plugin

import (
	"context"
	"errors"
	"sort"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
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

// Status asks the plugin what is committed; a plugin without the method
// answers with an error wrapping errors.ErrUnsupported.
func (c *sinkClient) Status(ctx context.Context) (Status, error) {
	r, err := c.c.Status(ctx, &pb.Empty{})
	if err != nil {
		return Status{}, unwrapStatus(err)
	}
	st := Status{Checkpoint: Checkpoint{BatchID: r.BatchId, Positions: positionsFromPB(r.Positions)}}
	if r.CommittedAtUnixNano != 0 {
		st.CommittedAt = time.Unix(0, r.CommittedAtUnixNano)
	}
	if r.RejectsKnown {
		st.Rejects = make(map[string]int64, len(r.Rejects))
		for _, rc := range r.Rejects {
			st.Rejects[rc.ErrorType] += rc.Count
		}
	}
	return st, nil
}

// Check asks the plugin to check its destination; a plugin without the
// method answers with an error wrapping errors.ErrUnsupported. The mistakes
// come back as ConfigErrors, with the notes in the result.
func (c *sinkClient) Check(ctx context.Context) (CheckResult, error) {
	r, err := c.c.Check(ctx, &pb.Empty{})
	if err != nil {
		return CheckResult{}, unwrapStatus(err)
	}
	return CheckResult{Notes: r.Notes}, configErrorsFromPB(r.Errors)
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

func (s *sinkServer) Status(ctx context.Context, _ *pb.Empty) (*pb.StatusResponse, error) {
	sr, ok := s.impl.(StatusReporter)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "the sink cannot tell its status")
	}
	st, err := sr.Status(ctx)
	if err != nil {
		return nil, statusOf(err)
	}
	r := &pb.StatusResponse{BatchId: st.BatchID, Positions: positionsToPB(st.Positions), RejectsKnown: st.Rejects != nil}
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
		return nil, statusOf(err)
	}
	return &pb.CheckResponse{Errors: configErrorsToPB(err), Notes: res.Notes}, nil
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

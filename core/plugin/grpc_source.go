package plugin

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
)

// sourcePlugin serves a Source in a plugin process and dispenses a Source
// client in the engine.
type sourcePlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	impl func() Source
}

func (p *sourcePlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterSourceServer(s, &sourceServer{impl: p.impl()})
	return nil
}

func (p *sourcePlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &sourceClient{c: pb.NewSourceClient(c)}, nil
}

// sourceClient is the engine's side: a Source that calls the plugin. The
// batches it returns are not indexed, so forwarding them costs a copy.
type sourceClient struct{ c pb.SourceClient }

func (c *sourceClient) Configure(ctx context.Context, cfg Config) (record.Schema, error) {
	r, err := c.c.Configure(ctx, configureRequest(cfg, nil))
	if err != nil {
		return record.Schema{}, unwrapStatus(err)
	}
	return schemaFromPB(r.Schema), configErrorsFromPB(r.Errors)
}

func (c *sourceClient) Open(ctx context.Context, positions []record.Position) error {
	_, err := c.c.Open(ctx, &pb.OpenRequest{Positions: positionsToPB(positions)})
	return unwrapStatus(err)
}

func (c *sourceClient) Read(ctx context.Context, req ReadRequest) (ReadResult, error) {
	r, err := c.c.Read(ctx, &pb.ReadRequest{MaxRows: int64(req.MaxRows), MaxBytes: int64(req.MaxBytes), MaxWaitMillis: req.MaxWaitMillis})
	if err != nil {
		return ReadResult{}, unwrapStatus(err)
	}
	b, err := decodeBatch(r.Batch, false)
	if err != nil {
		return ReadResult{}, err
	}
	return ReadResult{Batch: b, Rejects: rejectsFromPB(r.Rejects), Positions: positionsFromPB(r.Positions), CaughtUp: r.CaughtUp, Backlog: backlogFromPB(r.Backlog)}, nil
}

// Backlog asks the plugin what waits after positions; a plugin without
// the method answers with an error wrapping errors.ErrUnsupported.
func (c *sourceClient) Backlog(ctx context.Context, positions []record.Position) (Backlog, error) {
	r, err := c.c.Backlog(ctx, &pb.BacklogRequest{Positions: positionsToPB(positions)})
	if err != nil {
		return Backlog{}, unwrapStatus(err)
	}
	return *backlogFromPB(r), nil
}

func (c *sourceClient) Ack(ctx context.Context, positions []record.Position) error {
	_, err := c.c.Ack(ctx, &pb.AckRequest{Positions: positionsToPB(positions)})
	return unwrapStatus(err)
}

func (c *sourceClient) Close(ctx context.Context) error {
	_, err := c.c.Close(ctx, &pb.Empty{})
	return unwrapStatus(err)
}

// sourceServer is the plugin's side: it calls the author's Source.
type sourceServer struct {
	pb.UnimplementedSourceServer
	impl Source
}

func (s *sourceServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	schema, err := s.impl.Configure(ctx, configFromPB(req))
	return &pb.ConfigureResponse{Schema: schemaToPB(schema), Errors: configErrorsToPB(err)}, nil
}

func (s *sourceServer) Open(ctx context.Context, req *pb.OpenRequest) (*pb.Empty, error) {
	return &pb.Empty{}, statusOf(s.impl.Open(ctx, positionsFromPB(req.Positions)))
}

func (s *sourceServer) Read(ctx context.Context, req *pb.ReadRequest) (*pb.ReadResponse, error) {
	res, err := s.impl.Read(ctx, ReadRequest{MaxRows: int(req.MaxRows), MaxBytes: int(req.MaxBytes), MaxWaitMillis: req.MaxWaitMillis})
	if err != nil {
		return nil, statusOf(err)
	}
	data, err := encodeBatch(res.Batch)
	if err != nil {
		return nil, statusOf(err)
	}
	return &pb.ReadResponse{Batch: data, Rejects: rejectsToPB(res.Rejects), Positions: positionsToPB(res.Positions), CaughtUp: res.CaughtUp, Backlog: backlogToPB(res.Backlog)}, nil
}

func (s *sourceServer) Backlog(ctx context.Context, req *pb.BacklogRequest) (*pb.Backlog, error) {
	br, ok := s.impl.(BacklogReporter)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "the source cannot tell its backlog")
	}
	b, err := br.Backlog(ctx, positionsFromPB(req.Positions))
	if err != nil {
		return nil, statusOf(err)
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
	return out
}

func backlogFromPB(b *pb.Backlog) *Backlog {
	if b == nil {
		return nil
	}
	out := &Backlog{Partitions: b.Partitions, Bytes: b.Bytes, Quarantined: b.Quarantined}
	for _, u := range b.Unreadable {
		out.Unreadable = append(out.Unreadable, string(u))
	}
	return out
}

func (s *sourceServer) Ack(ctx context.Context, req *pb.AckRequest) (*pb.Empty, error) {
	return &pb.Empty{}, statusOf(s.impl.Ack(ctx, positionsFromPB(req.Positions)))
}

func (s *sourceServer) Close(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, statusOf(s.impl.Close(ctx))
}

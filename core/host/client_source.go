package host

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
)

// sourceDispenser dispenses a Source client in the engine.
type sourceDispenser struct {
	goplugin.NetRPCUnsupportedPlugin
}

// GRPCServer is the plugin's side, in core/plugin.
func (*sourceDispenser) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return errNotServer }

func (*sourceDispenser) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &sourceClient{c: pb.NewSourceClient(c)}, nil
}

// sourceClient is the engine's side: a Source that calls the plugin. The
// batches it returns are not indexed, so forwarding them costs a copy.
type sourceClient struct{ c pb.SourceClient }

func (c *sourceClient) Configure(ctx context.Context, cfg plugin.Config) (record.Schema, error) {
	r, err := c.c.Configure(ctx, configureRequest(cfg, nil))
	if err != nil {
		return record.Schema{}, wire.UnwrapStatus(err)
	}
	return wire.SchemaFromPB(r.Schema), configErrorsFromPB(r.Errors)
}

func (c *sourceClient) Open(ctx context.Context, positions []record.Position) error {
	_, err := c.c.Open(ctx, &pb.OpenRequest{Positions: wire.PositionsToPB(positions)})
	return wire.UnwrapStatus(err)
}

func (c *sourceClient) Read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResult, error) {
	r, err := c.c.Read(ctx, &pb.ReadRequest{MaxRows: int64(req.MaxRows), MaxBytes: int64(req.MaxBytes), MaxWaitMillis: req.MaxWaitMillis})
	if err != nil {
		return plugin.ReadResult{}, wire.UnwrapStatus(err)
	}
	b, err := wire.DecodeBatch(r.Batch, false)
	if err != nil {
		return plugin.ReadResult{}, err
	}
	return plugin.ReadResult{Batch: b, Rejects: wire.RejectsFromPB(r.Rejects), Positions: wire.PositionsFromPB(r.Positions), CaughtUp: r.CaughtUp, Backlog: backlogFromPB(r.Backlog),
		Assigned: r.Assigned, Revoked: r.Revoked}, nil
}

// Assign starts the partitions a Read named as assigned at positions.
func (c *sourceClient) Assign(ctx context.Context, partitions []string, positions []record.Position) error {
	_, err := c.c.Assign(ctx, &pb.AssignRequest{Partitions: partitions, Positions: wire.PositionsToPB(positions)})
	return wire.UnwrapStatus(err)
}

// Release lets the source go of the partitions a Read named as revoked.
func (c *sourceClient) Release(ctx context.Context, partitions []string) error {
	_, err := c.c.Release(ctx, &pb.ReleaseRequest{Partitions: partitions})
	return wire.UnwrapStatus(err)
}

// Backlog asks the plugin what waits after positions; a plugin without
// the method answers with an error wrapping errors.ErrUnsupported.
func (c *sourceClient) Backlog(ctx context.Context, positions []record.Position) (plugin.Backlog, error) {
	r, err := c.c.Backlog(ctx, &pb.BacklogRequest{Positions: wire.PositionsToPB(positions)})
	if err != nil {
		return plugin.Backlog{}, wire.UnwrapStatus(err)
	}
	return *backlogFromPB(r), nil
}

func (c *sourceClient) Ack(ctx context.Context, positions []record.Position) error {
	_, err := c.c.Ack(ctx, &pb.AckRequest{Positions: wire.PositionsToPB(positions)})
	return wire.UnwrapStatus(err)
}

func (c *sourceClient) Close(ctx context.Context) error {
	_, err := c.c.Close(ctx, &pb.Empty{})
	return wire.UnwrapStatus(err)
}

func backlogFromPB(b *pb.Backlog) *plugin.Backlog {
	if b == nil {
		return nil
	}
	out := &plugin.Backlog{Partitions: b.Partitions, Bytes: b.Bytes, Quarantined: b.Quarantined}
	for _, u := range b.Unreadable {
		out.Unreadable = append(out.Unreadable, string(u))
	}
	for _, l := range b.Lag {
		out.Lag = append(out.Lag, plugin.PartitionLag{Partition: l.Partition, Messages: l.Messages})
	}
	return out
}

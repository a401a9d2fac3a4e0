package host

import (
	"context"
	"fmt"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
)

// sinkDispenser dispenses a Sink client in the engine.
type sinkDispenser struct {
	goplugin.NetRPCUnsupportedPlugin
}

// GRPCServer is the plugin's side, in core/plugin.
func (*sinkDispenser) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return errNotServer }

func (*sinkDispenser) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &sinkClient{c: pb.NewSinkClient(c)}, nil
}

// sinkClient is the engine's side of a Sink.
type sinkClient struct{ c pb.SinkClient }

func (c *sinkClient) Configure(ctx context.Context, cfg plugin.Config, in record.Schema) error {
	r, err := c.c.Configure(ctx, configureRequest(cfg, &in))
	if err != nil {
		return wire.UnwrapStatus(err)
	}
	return configErrorsFromPB(r.Errors)
}

func (c *sinkClient) Checkpoint(ctx context.Context) (plugin.Checkpoint, error) {
	r, err := c.c.Checkpoint(ctx, &pb.Empty{})
	if err != nil {
		return plugin.Checkpoint{}, wire.UnwrapStatus(err)
	}
	return plugin.Checkpoint{BatchID: r.BatchId, Positions: wire.PositionsFromPB(r.Positions)}, nil
}

// Status asks the plugin what is committed; a plugin without the method
// answers with an error wrapping errors.ErrUnsupported.
func (c *sinkClient) Status(ctx context.Context) (plugin.Status, error) {
	r, err := c.c.Status(ctx, &pb.Empty{})
	if err != nil {
		return plugin.Status{}, wire.UnwrapStatus(err)
	}
	st := plugin.Status{Checkpoint: plugin.Checkpoint{BatchID: r.BatchId, Positions: wire.PositionsFromPB(r.Positions)}}
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
func (c *sinkClient) Check(ctx context.Context) (plugin.CheckResult, error) {
	r, err := c.c.Check(ctx, &pb.Empty{})
	if err != nil {
		return plugin.CheckResult{}, wire.UnwrapStatus(err)
	}
	return plugin.CheckResult{Notes: r.Notes}, configErrorsFromPB(r.Errors)
}

func (c *sinkClient) Write(ctx context.Context, req plugin.WriteRequest) error {
	data, err := wire.EncodeBatch(req.Batch)
	if err != nil {
		return err
	}
	r, err := c.c.Write(ctx, &pb.WriteRequest{BatchId: req.BatchID, Batch: data, Rejects: wire.RejectsToPB(req.Rejects), Positions: wire.PositionsToPB(req.Positions),
		From: wire.PositionsToPB(req.From), RawHeld: req.RawHeld, Raw: wire.RawToPB(req.Raw)})
	if err != nil {
		return wire.UnwrapStatus(err)
	}
	if len(r.NeedRaw) > 0 {
		if !req.RawHeld {
			return fmt.Errorf("asked for the raw text of %d rows, which the engine did not offer (WriteRequest.raw_held unset)", len(r.NeedRaw))
		}
		return &plugin.NeedRaw{Origins: wire.OriginsFromPB(r.NeedRaw)}
	}
	return nil
}

func (c *sinkClient) Close(ctx context.Context) error {
	_, err := c.c.Close(ctx, &pb.Empty{})
	return wire.UnwrapStatus(err)
}

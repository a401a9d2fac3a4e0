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

// transformDispenser dispenses a Transform client in the engine.
type transformDispenser struct {
	goplugin.NetRPCUnsupportedPlugin
}

// GRPCServer is the plugin's side, in core/plugin.
func (*transformDispenser) GRPCServer(*goplugin.GRPCBroker, *grpc.Server) error { return errNotServer }

func (*transformDispenser) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &transformClient{c: pb.NewTransformClient(c)}, nil
}

// transformClient is the engine's side of a Transform.
type transformClient struct{ c pb.TransformClient }

func (c *transformClient) Configure(ctx context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	r, err := c.c.Configure(ctx, configureRequest(cfg, &in))
	if err != nil {
		return record.Schema{}, wire.UnwrapStatus(err)
	}
	return wire.SchemaFromPB(r.Schema), configErrorsFromPB(r.Errors)
}

func (c *transformClient) Process(ctx context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	data, err := wire.EncodeBatch(b)
	if err != nil {
		return nil, nil, err
	}
	r, err := c.c.Process(ctx, &pb.ProcessRequest{Batch: data, RawHeld: wire.RawHeld(ctx)})
	if err != nil {
		return nil, nil, wire.UnwrapStatus(err)
	}
	out, err := wire.DecodeBatch(r.Batch, false)
	if err != nil {
		return nil, nil, err
	}
	return out, wire.RejectsFromPB(r.Rejects), nil
}

func (c *transformClient) Close(ctx context.Context) error {
	_, err := c.c.Close(ctx, &pb.Empty{})
	return wire.UnwrapStatus(err)
}

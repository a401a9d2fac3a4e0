package host

import (
	"context"
	"errors"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
)

// This file and the client_*.go files are the engine's side of the plugin
// protocol: what go-plugin dispenses for each kind, and the clients that
// make a plugin process look like a plugin.Source, Transform or Sink.

// ProtocolVersion is the version of the plugin protocol this etl speaks.
const ProtocolVersion = wire.ProtocolVersion

// errNotServer is what the engine's dispensers answer when asked to serve.
var errNotServer = errors.New("core/host dispenses clients only; a plugin serves with plugin.Serve")

// clientPlugins is the go-plugin set the engine uses to talk to any plugin,
// keyed by protocol version.
func clientPlugins() map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{wire.ProtocolVersion: {
		wire.KindInfo:      &infoDispenser{},
		wire.KindSource:    &sourceDispenser{},
		wire.KindTransform: &transformDispenser{},
		wire.KindSink:      &sinkDispenser{},
	}}
}

// WithEngineRetry marks ctx, for the calls the engine makes with it: the
// engine retries a call that fails with plugin.ErrUnavailable for as long
// as it takes, so the plugin should give up retrying by itself promptly
// and return such an error instead (see plugin.EngineRetries). The mark
// crosses to the plugin process as gRPC metadata.
func WithEngineRetry(ctx context.Context) context.Context { return wire.WithEngineRetry(ctx) }

// WithRawHeld marks ctx for a transform's Process call whose rows' raw
// text the engine holds until they are committed: the transform may leave
// it out of its output (see plugin.RawHeld). It crosses to the plugin
// process as pb.ProcessRequest.raw_held.
func WithRawHeld(ctx context.Context) context.Context { return wire.WithRawHeld(ctx) }

// StartProfile starts etl's own CPU profile when ETL_CPUPROFILE names a
// folder (see README, Performance); call the function it returns at exit.
func StartProfile(name string) (stop func()) { return wire.StartProfile(name) }

func configureRequest(cfg plugin.Config, in *record.Schema) *pb.ConfigureRequest {
	req := &pb.ConfigureRequest{Pipeline: cfg.Pipeline, Name: cfg.Name, Raw: cfg.Raw}
	if in != nil {
		req.Input = wire.SchemaToPB(*in)
	}
	return req
}

func configErrorsFromPB(es []*pb.ConfigError) error {
	if len(es) == 0 {
		return nil
	}
	out := make(plugin.ConfigErrors, len(es))
	for i, e := range es {
		out[i] = plugin.ConfigError{Path: e.Path, Message: e.Message, Field: e.Field}
	}
	return out
}

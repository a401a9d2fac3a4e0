package plugin

import (
	"errors"

	"github.com/seed-etl/etl/core/plugin/pb"
)

// This file and the server_*.go files are the plugin's side of the
// protocol: the gRPC servers that call the author's Source, Transform or
// Sink. The engine's side is in core/host.

// errNotClient is what a plugin's go-plugin set answers when asked for a
// client.
var errNotClient = errors.New("a plugin serves; core/host dispenses the clients")

func configErrorsToPB(err error) []*pb.ConfigError {
	es := AsConfigErrors(err)
	out := make([]*pb.ConfigError, len(es))
	for i, e := range es {
		out[i] = &pb.ConfigError{Path: e.Path, Message: e.Message, Field: e.Field}
	}
	return out
}

func configFromPB(req *pb.ConfigureRequest) Config {
	return Config{Pipeline: req.Pipeline, Name: req.Name, Raw: req.Raw}
}

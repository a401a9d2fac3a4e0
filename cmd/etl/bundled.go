package main

import (
	"etl/core/plugin"
	"etl/plugins/postgres"
)

// bundled are the plugins compiled into etl. Each runs in its own process,
// served by etl re-executing itself, so it crosses the same gRPC boundary
// as an external plugin.
var bundled = map[string]plugin.Plugin{
	postgres.Plugin.Name: postgres.Plugin,
}

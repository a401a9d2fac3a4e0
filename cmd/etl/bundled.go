package main

import (
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/plugins/cleanser"
	"github.com/seed-etl/etl/plugins/csvdir"
	"github.com/seed-etl/etl/plugins/kafka"
	"github.com/seed-etl/etl/plugins/postgres"
)

// bundled are the plugins compiled into etl. Each runs in its own process,
// served by etl re-executing itself, so it crosses the same gRPC boundary
// as an external plugin.
var bundled = map[string]plugin.Plugin{
	csvdir.Plugin.Name:   csvdir.Plugin,
	cleanser.Plugin.Name: cleanser.Plugin,
	postgres.Plugin.Name: postgres.Plugin,
	kafka.Plugin.Name:    kafka.Plugin,
}

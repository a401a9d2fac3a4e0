package main

import (
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/plugintest"
	"github.com/seed-etl/etl/core/record"
)

// TestAcceptance runs the plugin acceptance suite on the transform, as an
// author outside this repository would.
func TestAcceptance(t *testing.T) {
	schema := record.Schema{Fields: []record.Field{
		{Name: "id", Type: record.Int64},
		{Name: "name", Type: record.String, Nullable: true},
		{Name: "price", Type: record.Decimal, Scale: 2, Nullable: true},
	}}
	plugintest.TransformSuite{
		New:    func() plugin.Transform { return &fingerprint{} },
		Config: "column: row_fingerprint\n",
		Schema: schema,
		Rows: []plugintest.Row{
			{Raw: "1,Blue Mug,19.99", Cells: []any{1, "Blue Mug", "19.99"}},
			{Raw: "2,,", Cells: []any{2, nil, nil}},
			{Raw: "1,Blue Mug,19.99", Origin: record.Origin{Source: "again.csv", Line: 2}, Cells: []any{1, "Blue Mug", "19.99"}},
		},
		BadConfigs: []plugintest.BadConfig{
			{Name: "not a column name", Config: "column: Row-Fingerprint\n", Paths: []string{"column"}},
			{Name: "a column the input has", Config: "column: name\n", Paths: []string{"column"}},
			{Name: "unknown key", Config: "colum: x\n", Paths: []string{"colum"}},
		},
	}.Run(t)
}

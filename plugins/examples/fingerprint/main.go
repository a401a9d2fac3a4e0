// Command etl-plugin-fingerprint is an example of a third-party etl plugin:
// a transform that adds a column holding a fingerprint of each row's raw
// input (64-bit FNV-1a, as 16 hex digits), handy to find duplicate input.
//
// It imports only github.com/seed-etl/etl/core/plugin and
// github.com/seed-etl/etl/core/record, as any plugin written outside this
// repository would. Build it into a folder on the
// plugin path and name it in a pipeline:
//
//	go build -o plugins/bin/etl-plugin-fingerprint ./plugins/examples/fingerprint
//
//	transforms:
//	  - plugin: fingerprint
//	    config: {column: row_fingerprint}
package main

import (
	"context"
	"encoding/hex"
	"hash/fnv"
	"regexp"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

func main() {
	plugin.Serve(plugin.Plugin{
		Name:    "fingerprint",
		Version: "1.0.0",
		// The settings, described once from the config struct and its
		// defaults, for `etl plugins fingerprint`.
		Settings:  plugin.MustSettingsOf(defaultConfig()),
		Transform: func() plugin.Transform { return &fingerprint{} },
	})
}

// config is the transform's `config:` block; its tags describe each key.
type config struct {
	Column string `yaml:"column" doc:"The name of the added column: lower case letters, digits and _."`
}

func defaultConfig() config { return config{Column: "row_fingerprint"} }

// fingerprint is the transform.
type fingerprint struct {
	cfg  config
	cols int
	out  record.Schema
}

var columnRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Configure checks the config and returns the input schema plus the new
// column.
func (f *fingerprint) Configure(_ context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	f.cfg = defaultConfig()
	errs := plugin.AsConfigErrors(plugin.DecodeConfig(cfg.Raw, &f.cfg))
	if !columnRE.MatchString(f.cfg.Column) {
		errs.Add("column", "%q is not a column name (lower case letters, digits and _)", f.cfg.Column)
	}
	if in.Index(f.cfg.Column) >= 0 {
		errs.Add("column", "the input already has a column %q", f.cfg.Column)
	}
	if err := errs.Err(); err != nil {
		return record.Schema{}, err
	}
	f.cols = len(in.Fields)
	f.out = record.Schema{Fields: append(append([]record.Field(nil), in.Fields...), record.Field{Name: f.cfg.Column, Type: record.String})}
	return f.out, nil
}

// Process copies each row and appends its fingerprint.
func (f *fingerprint) Process(_ context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	out := record.NewBatch(f.out)
	out.Grow(b.Len(), b.Size()+b.Len()*17)
	var sum [8]byte
	var hexed [16]byte
	for i := 0; i < b.Len(); i++ {
		out.StartRow(b.Origin(i), b.Raw(i))
		for c := 0; c < f.cols; c++ {
			out.AppendCell(b, i, c)
		}
		h := fnv.New64a()
		h.Write(b.Raw(i))
		hex.Encode(hexed[:], h.Sum(sum[:0]))
		out.AppendBytes(hexed[:])
	}
	return out, nil, nil
}

// Close has nothing to release.
func (f *fingerprint) Close(context.Context) error { return nil }

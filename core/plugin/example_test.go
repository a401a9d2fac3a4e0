package plugin_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// upper is a transform: it upper-cases one text column and refuses rows
// where it is empty.
type upper struct {
	cfg struct {
		Column string `yaml:"column"`
	}
	col, cols int
}

func (u *upper) Configure(_ context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	errs := plugin.AsConfigErrors(plugin.DecodeConfig(cfg.Raw, &u.cfg))
	if u.col = in.Index(u.cfg.Column); u.col < 0 {
		errs.Add("column", "%q is not an input field (the input has %s)", u.cfg.Column, strings.Join(in.Names(), ", "))
	}
	u.cols = len(in.Fields)
	return in, errs.Err()
}

func (u *upper) Process(_ context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	out := record.NewBatch(b.Schema())
	var rejects []record.Reject
	for row := 0; row < b.Len(); row++ {
		if b.IsNull(row, u.col) || b.Text(row, u.col) == "" {
			rejects = append(rejects, b.Reject(row, "EMPTY_NAME", u.cfg.Column+" is empty"))
			continue
		}
		out.StartRow(b.Origin(row), b.Raw(row)) // keeps where the row came from and its raw text
		for c := 0; c < u.cols; c++ {
			if c == u.col {
				out.AppendString(strings.ToUpper(b.Text(row, c)))
			} else {
				out.AppendCell(b, row, c)
			}
		}
	}
	return out, rejects, nil
}

func (u *upper) Close(context.Context) error { return nil }

// A transform plugin: its main is one call to Serve. Here the transform is
// called directly, as the engine would through its plugin process.
func Example_transform() {
	// func main() {
	//	plugin.Serve(plugin.Plugin{Name: "upper", Version: "1.0.0",
	//		Transform: func() plugin.Transform { return &upper{} }})
	// }
	var t plugin.Transform = &upper{}
	in := record.Schema{Fields: []record.Field{{Name: "id", Type: record.String}, {Name: "name", Type: record.String}}}
	if _, err := t.Configure(context.Background(), plugin.Config{Raw: []byte("column: name")}, in); err != nil {
		fmt.Println(err)
		return
	}
	b := record.NewBatch(in)
	for i, row := range [][2]string{{"1", "mug"}, {"2", ""}} {
		b.StartRow(record.Origin{Source: "in.csv", Line: int64(i + 2)}, []byte(row[0]+","+row[1]))
		b.AppendString(row[0])
		b.AppendString(row[1])
	}
	out, rejects, _ := t.Process(context.Background(), b)
	fmt.Println(out.Text(0, 0), out.Text(0, 1))
	for _, r := range rejects {
		fmt.Printf("%s line %d %s: %s (raw %q)\n", r.Origin.Source, r.Origin.Line, r.ErrorType, r.Reason, r.Raw)
	}
	// Output:
	// 1 MUG
	// in.csv line 3 EMPTY_NAME: name is empty (raw "2,")
}

// Configuration mistakes are ConfigErrors with key paths inside the
// plugin's config block; etl turns each into the file:line:col of the key.
func ExampleDecodeConfig() {
	var cfg struct {
		Path  string `yaml:"path"`
		Batch struct {
			MaxRows int `yaml:"max_rows"`
		} `yaml:"batch"`
	}
	err := plugin.DecodeConfig([]byte("path: /data\nbatch:\n  max_rows: many\ncolour: red\n"), &cfg)
	for _, e := range plugin.AsConfigErrors(err) {
		fmt.Printf("%s: %s\n", e.Path, e.Message)
	}
	// Output:
	// batch.max_rows: wrong type: text `many` into int
	// colour: unknown key "colour"
}

package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/core/spec"
)

// checkSink answers Check with fixed mistakes and notes.
type checkSink struct {
	countSink
	errs plugin.ConfigErrors
}

func (s *checkSink) Check(context.Context) (plugin.CheckResult, error) {
	return plugin.CheckResult{Notes: []string{"a run creates etl_offsets"}}, s.errs.Err()
}

// TestCheckLocatesEachMistake: a mistake at a key of the sink's config is
// located there; one about a field the sink's config does not map is
// located at the step that made the field (its `fields` entry); a sink
// without Check is "not checked".
func TestCheckLocatesEachMistake(t *testing.T) {
	s, err := spec.Parse("p.yaml", []byte(`version: 1
name: shop
source:
  plugin: gen
  config: {columns: [user_id, price, amount]}
transforms:
  - name: clean
    plugin: cleanser
    config:
      fields:
        - {name: user_id, type: int64}
        - {name: price, type: decimal}
  - name: pass
    plugin: copy
sink:
  plugin: db
  config:
    table: evnts
    columns: {amount: amt}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	str := func(names ...string) record.Schema {
		var sc record.Schema
		for _, n := range names {
			sc.Fields = append(sc.Fields, record.Field{Name: n, Type: record.String})
		}
		return sc
	}
	typed := record.Schema{Fields: []record.Field{{Name: "user_id", Type: record.Int64}, {Name: "price", Type: record.Decimal}, {Name: "amount", Type: record.String}}}
	sink := &checkSink{errs: plugin.ConfigErrors{
		{Path: "table", Message: "table evnts does not exist"},
		{Path: "table", Field: "price", Message: "price: wrong type"},
		{Path: "columns.amount", Field: "amount", Message: "amount: wrong type"},
		{Path: "table", Field: "user_id", Message: "user_id: wrong type"},
	}}
	in := &engine.Instance{Spec: s, Schemas: []record.Schema{str("user_id", "price", "amount"), typed, typed}, SinkConfigured: true,
		Pipeline: engine.Pipeline{Sink: engine.Step[plugin.Sink]{Name: "sink", Plugin: sink}}}
	notes, errs, err := in.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 {
		t.Errorf("notes %q, want the sink's one", notes)
	}
	want := []string{
		"p.yaml:18:5: sink.config.table: table evnts does not exist",
		"p.yaml:12:11: transforms[0].config.fields[1]: price: wrong type",
		"p.yaml:19:15: sink.config.columns.amount: amount: wrong type",
		"p.yaml:11:11: transforms[0].config.fields[0]: user_id: wrong type",
	}
	if got := strings.Split(errs.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("mistakes:\n%s\nwant:\n%s", errs, strings.Join(want, "\n"))
	}

	in.Pipeline.Sink.Plugin = &countSink{}
	if _, _, err := in.Check(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Check of a sink without it: %v, want ErrUnsupported", err)
	}
}

package engine_test

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/record"
)

func TestFolderConfigPointsTheSourceAtTheSampleFolder(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want map[string]any
	}{
		{"archive replaced by keep", "path: data/events\nafter_read: archive\narchive_path: data/archive\nquarantine_path: data/q\nheader: true\n",
			map[string]any{"path": "/tmp/s/in", "after_read": "keep", "quarantine_path": "/tmp/s/q", "header": true}},
		{"keys not set stay unset", "path: data/events\ncolumns: [a, b]\n",
			map[string]any{"path": "/tmp/s/in", "columns": []any{"a", "b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := engine.FolderConfig([]byte(tt.raw), "/tmp/s/in", "/tmp/s/q")
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if g, w := yaml2s(got[k]), yaml2s(v); g != w {
					t.Errorf("%s: got %s, want %s", k, g, w)
				}
			}
		})
	}
}

func yaml2s(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

func TestFolderConfigRefusesASourceWithoutPath(t *testing.T) {
	for _, raw := range []string{"", "brokers: [a]\n", "- a\n"} {
		if _, err := engine.FolderConfig([]byte(raw), "/x", "/q"); err == nil || !strings.Contains(err.Error(), "`path`") {
			t.Errorf("%q: got %v, want an error naming path", raw, err)
		}
	}
}

func TestFormatCellWritesCanonicalText(t *testing.T) {
	fields := []record.Field{
		{Name: "i", Type: record.Int64},
		{Name: "d", Type: record.Decimal, Scale: 2},
		{Name: "t", Type: record.Timestamp},
		{Name: "tf", Type: record.Timestamp},
		{Name: "f", Type: record.Float64},
		{Name: "b", Type: record.Bool},
		{Name: "s", Type: record.String},
		{Name: "n", Type: record.String, Nullable: true},
	}
	b := record.NewBatch(record.Schema{Fields: fields})
	b.StartRow(record.Origin{Source: "x", Line: 1}, nil)
	b.AppendInt64(-42)
	b.AppendDecimal(350)
	b.AppendTimestamp(time.Date(2024, 3, 1, 16, 5, 9, 0, time.FixedZone("", 2*3600)))
	b.AppendTimestamp(time.Date(2024, 3, 1, 14, 5, 9, 123000000, time.UTC))
	b.AppendFloat64(0.1)
	b.AppendBool(true)
	b.AppendString(" a b ")
	b.AppendNull()
	want := []engine.Value{{Text: "-42"}, {Text: "3.50"}, {Text: "2024-03-01T14:05:09Z"}, {Text: "2024-03-01T14:05:09.123Z"},
		{Text: "0.1"}, {Text: "true"}, {Text: " a b "}, {Null: true}}
	for col, f := range fields {
		if got := engine.FormatCell(b, 0, col, f); got != want[col] {
			t.Errorf("%s: got %+v, want %+v", f.Name, got, want[col])
		}
	}
}

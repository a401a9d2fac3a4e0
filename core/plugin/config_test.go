package plugin

import (
	"strings"
	"testing"
)

type testConfig struct {
	Path  string `yaml:"path"`
	Batch struct {
		MaxRows int `yaml:"max_rows"`
	} `yaml:"batch"`
	Rules []struct {
		Name string `yaml:"name"`
		Expr string `yaml:"expr"`
	} `yaml:"rules"`
}

func TestDecodeConfigReportsPaths(t *testing.T) {
	cases := []struct {
		name string
		raw  string
		want []string
	}{
		{"ok", "path: x\nbatch:\n  max_rows: 5\n", nil},
		{"empty", "", nil},
		{"unknown keys everywhere", "path: x\ncolour: red\nbatch:\n  max_rowz: 5\nrules:\n  - name: a\n    exprr: b\n", []string{
			`colour: unknown key "colour"`, `batch.max_rowz: unknown key "max_rowz"`, `rules[0].exprr: unknown key "exprr"`,
		}},
		{"wrong type", "batch:\n  max_rows: many\n", []string{"batch.max_rows: wrong type: text `many`"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var cfg testConfig
			err := DecodeConfig([]byte(c.raw), &cfg)
			es := AsConfigErrors(err)
			if len(es) != len(c.want) {
				t.Fatalf("got %d errors (%v), want %d", len(es), err, len(c.want))
			}
			for i, w := range c.want {
				if !strings.HasPrefix(es[i].Error(), w) {
					t.Errorf("error %d = %q, want it to start with %q", i, es[i].Error(), w)
				}
			}
		})
	}
}

func TestDecodeConfigKeepsGoodFields(t *testing.T) {
	var cfg testConfig
	cfg.Batch.MaxRows = 7
	err := DecodeConfig([]byte("path: here\ncolour: red\n"), &cfg)
	if err == nil || cfg.Path != "here" || cfg.Batch.MaxRows != 7 {
		t.Fatalf("got %+v, %v: want path decoded, the default kept and an error", cfg, err)
	}
}

func TestMergeLeavesOutKnockOnMistakes(t *testing.T) {
	cases := []struct {
		name       string
		have, more []string
		want       []string
	}{
		{"same path", []string{"fields[0].type"}, []string{"fields[0].type"}, []string{"fields[0].type"}},
		{"under a decode error", []string{"fields[0]"}, []string{"fields[0].type", "fields[1].name"}, []string{"fields[0]", "fields[1].name"}},
		{"above a decode error", []string{"fields[0].type"}, []string{"fields"}, []string{"fields[0].type"}},
		{"a longer key is another key", []string{"table"}, []string{"tables", "table_x"}, []string{"table", "tables", "table_x"}},
		{"pathless ones are kept", []string{""}, []string{"dsn"}, []string{"", "dsn"}},
		{"nothing before", nil, []string{"a", "a.b"}, []string{"a", "a.b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var es ConfigErrors
			for _, p := range c.have {
				es.Add(p, "first")
			}
			var more ConfigErrors
			for _, p := range c.more {
				more.Add(p, "later")
			}
			es.Merge(more)
			var got []string
			for _, e := range es {
				got = append(got, e.Path)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

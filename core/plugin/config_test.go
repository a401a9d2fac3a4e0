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

package csvdir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
)

func TestConfigErrorsReportedTogether(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	notDir := writeFile(t, dir, "plain.csv", "a,b\n", baseTime)
	cases := []struct {
		name string
		yaml string
		// want maps each expected error path to a piece of its message.
		want map[string]string
	}{
		{"empty config", ``, map[string]string{"path": "required"}},
		{"missing folder", fmt.Sprintf("path: %q\ncolumns: [a]", missing), map[string]string{"path": "does not exist"}},
		{"path is a file", fmt.Sprintf("path: %q\ncolumns: [a]", notDir), map[string]string{"path": "not a folder"}},
		{"every mistake at once", fmt.Sprintf(`path: %q
pattern: "[x"
delimiter: ";;"
poll_interval: soon
max_files_per_batch: -1
max_line_bytes: 0
after_read: move
header: false
columns: [a, "", a]
colour: blue
`, missing), map[string]string{
			"path":                "does not exist",
			"pattern":             "not a glob",
			"delimiter":           "one ASCII character",
			"poll_interval":       "not a duration",
			"max_files_per_batch": ">= 0",
			"max_line_bytes":      "> 0",
			"after_read":          "not one of keep, archive, delete",
			"columns[1]":          "empty column name",
			"columns[2]":          "also columns[0]",
			"colour":              "unknown key",
		}},
		{"header false needs columns", fmt.Sprintf("path: %q\nheader: false", dir), map[string]string{"columns": "required when header is false"}},
		{"no file to learn the header from", fmt.Sprintf("path: %q\npattern: \"*.tsv\"", dir), map[string]string{"columns": "no file matching"}},
		{"archive needs archive_path", fmt.Sprintf("path: %q\ncolumns: [a]\nafter_read: archive", dir), map[string]string{"archive_path": "required"}},
		{"archive_path is path", fmt.Sprintf("path: %q\ncolumns: [a]\nafter_read: archive\narchive_path: %q", dir, dir+"/."), map[string]string{"archive_path": "another folder"}},
		{"archive_path without archive", fmt.Sprintf("path: %q\ncolumns: [a]\narchive_path: %q", dir, missing), map[string]string{"archive_path": "only used with"}},
		{"quote delimiter", fmt.Sprintf("path: %q\ncolumns: [a]\ndelimiter: '\"'", dir), map[string]string{"delimiter": "other than a quote"}},
		{"zero poll interval", fmt.Sprintf("path: %q\ncolumns: [a]\npoll_interval: 0s", dir), map[string]string{"poll_interval": "> 0"}},
		{"wrong type", fmt.Sprintf("path: %q\ncolumns: [a]\nheader: maybe", dir), map[string]string{"header": "wrong type"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New().Configure(context.Background(), plugin.Config{Raw: []byte(tc.yaml)})
			if err == nil {
				t.Fatal("Configure accepted the config")
			}
			var es plugin.ConfigErrors
			if !asConfigErrors(err, &es) {
				t.Fatalf("error %T %v is not ConfigErrors", err, err)
			}
			got := map[string]string{}
			for _, e := range es {
				got[e.Path] += e.Message + "; "
			}
			for path, frag := range tc.want {
				if !strings.Contains(got[path], frag) {
					t.Errorf("error at %q = %q, want it to mention %q (all: %v)", path, got[path], frag, err)
				}
			}
			for path := range got {
				if _, ok := tc.want[path]; !ok {
					t.Errorf("unexpected error at %q: %s", path, got[path])
				}
			}
		})
	}
}

func asConfigErrors(err error, es *plugin.ConfigErrors) bool { return errors.As(err, es) }

func TestConfigDefaultsAndCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inbox", "events")
	src, schema := configure(t, fmt.Sprintf("path: %q\ncreate: true\ncolumns: [a, b]", dir))
	if got := schema.Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("schema %v, want [a b]", got)
	}
	s := src.(*Source)
	if s.set.pattern != "*.csv" || !s.set.header || s.set.delim != ',' || s.set.poll != DefaultPollInterval ||
		s.set.maxLineBytes != 1<<20 || s.set.afterRead != "keep" || s.set.maxFiles != 0 {
		t.Errorf("defaults: %+v", s.set)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("Configure created the folder; only Open should")
	}
	if err := src.Open(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("Open with create: true did not create the folder: %v", err)
	}
}

func TestPluginDescribesTheSource(t *testing.T) {
	if Plugin.Name != "csvdir" || Plugin.Version != "0.1.0" || Plugin.Source == nil || Plugin.Sink != nil || Plugin.Transform != nil {
		t.Fatalf("Plugin = %+v", Plugin)
	}
	if _, ok := Plugin.Source().(*Source); !ok {
		t.Error("Plugin.Source does not build a *Source")
	}
}

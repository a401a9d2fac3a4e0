package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// plantedMistake is one mistake planted in plantedPipeline: where
// validate must report it and a part of its message.
type plantedMistake struct {
	at, path, msg string
}

// plantedPipeline is a pipeline file with mistakes in all four parts:
// top level, source, transforms (two of them unknown plugins) and sink.
// dir holds its input folder.
func plantedPipeline(dir string) (string, []plantedMistake) {
	yaml := fmt.Sprintf(`version: 1
name: shop
colour: blue
engine:
  batch: {max_rows: -5, max_wait: soon}
source:
  plugin: csvdir
  config:
    path: %s
    header: maybe
    columns: [user_id, action, product_id, price, event_time]
    poll_interval: fast
transforms:
  - name: clean
    plugin: cleanser
    config:
      fields:
        - {name: user_id, type: int46, required: true}
        - {name: action, type: string, max_length: ten}
        - {name: product_id, type: int64}
        - {name: price, type: bool}
        - {name: event_time, type: timestamp, time_zone: Mars/Base}
      rules:
        - {name: ids_positive, expr: user_id > 0 && product_id > 0}
        - {name: price_ok, expr: price >=}
  - name: enrich
    plugin: enrichr
  - name: tag
    plugin: cleanzer
sink:
  plugin: postgres
  config:
    dsn: "${ETL_PLANTED_DSN}"
    table: events
    rejects_table: corrupt_recs
    batch_size: 10
`, filepath.Join(dir, "in"))
	return yaml, []plantedMistake{
		{"3:1", "colour", "unknown key"},
		{"5:21", "engine.batch.max_rows", "must be > 0"},
		{"5:35", "engine.batch.max_wait", `"soon" is not a duration`},
		{"10:5", "source.config.header", "wrong type"},
		{"12:5", "source.config.poll_interval", `"fast" is not a duration`},
		{"18:27", "transforms[0].config.fields[0].type", `unknown type "int46"`},
		{"19:40", "transforms[0].config.fields[1].max_length", "wrong type"},
		{"21:11", "transforms[0].config.fields[3]", `field "price" is bool but column "price" of "events" is numeric(12,2)`},
		{"22:47", "transforms[0].config.fields[4].time_zone", `unknown time zone "Mars/Base"`},
		{"25:28", "transforms[0].config.rules[1].expr", `rule "price_ok"`},
		{"27:13", "transforms[1].plugin", `"enrichr" is not bundled`},
		{"29:13", "transforms[2].plugin", `did you mean cleanser?`},
		{"35:5", "sink.config.rejects_table", `table "corrupt_recs" does not exist`},
		{"36:5", "sink.config.batch_size", `unknown key "batch_size"`},
	}
}

// One validate run lists every planted mistake, the database's too, each
// at its file:line:col, in file order, and nothing else: no knock-on
// mistake (the rule reading the mistyped user_id; the columns of the
// fields whose config has a mistake). --offline lists all but the
// database's and says the database was not checked.
func TestValidateFindsEveryPlantedMistakeAtOnce(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	t.Setenv("ETL_PLANTED_DSN", dsn)
	dir := t.TempDir()
	yaml, want := plantedPipeline(dir)
	path := filepath.Join(dir, "planted.yaml")
	if err := os.Mkdir(filepath.Join(dir, "in"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	fromDB := map[string]bool{"sink.config.rejects_table": true, "transforms[0].config.fields[3]": true}
	var offline []plantedMistake
	for _, w := range want {
		if !fromDB[w.path] {
			offline = append(offline, w)
		}
	}
	for _, tc := range []struct {
		name  string
		args  []string
		want  []plantedMistake
		after string
	}{
		{"against the database", []string{"validate", path}, want, ""},
		{"offline", []string{"validate", "--offline", path}, offline, "destination (database) not checked (--offline)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := etl(t, tc.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stdout %q, stderr:\n%s", code, stdout, stderr)
			}
			checkPlanted(t, path, stderr, tc.want, tc.after)
		})
	}
}

// checkPlanted checks that stderr lists exactly the mistakes want, in
// order, then how many, then the line after (when set).
func checkPlanted(t *testing.T, path, stderr string, want []plantedMistake, after string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "  note: ") {
		lines = lines[:len(lines)-1]
	}
	if after != "" {
		if last := lines[len(lines)-1]; !strings.Contains(last, after) {
			t.Errorf("last line %q, want %q", last, after)
		}
		lines = lines[:len(lines)-1]
	}
	if last := lines[len(lines)-1]; last != fmt.Sprintf("%d mistakes", len(want)) {
		t.Errorf("line %q, want %q", last, fmt.Sprintf("%d mistakes", len(want)))
	}
	lines = lines[:len(lines)-1]
	for i, w := range want {
		if i >= len(lines) {
			t.Errorf("missing %s: %s: %s", w.at, w.path, w.msg)
			continue
		}
		prefix := path + ":" + w.at + ": " + w.path + ": "
		if !strings.HasPrefix(lines[i], prefix) || !strings.Contains(lines[i], w.msg) {
			t.Errorf("mistake %d:\n got %s\nwant %s...%s", i+1, lines[i], prefix, w.msg)
		}
	}
	for _, extra := range lines[min(len(want), len(lines)):] {
		t.Errorf("unexpected: %s", extra)
	}
}

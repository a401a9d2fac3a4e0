package spec

import (
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

const good = `version: 1
name: shop
engine:
  batch:
    max_rows: 500
    max_bytes: 1MiB
    max_wait: 100ms
  queue_depth: 3
  writers: 2
source:
  plugin: csvdir
  config:
    path: ${EVENTS_DIR:-data/events}
    header: true
transforms:
  - name: clean
    plugin: cleanser
    config:
      rules:
        - {name: r1, expr: "price >= 0"}
sink:
  plugin: postgres
  config:
    dsn: ${DATABASE_URL}
    cost: "$$5"
`

func TestParseGoodPipeline(t *testing.T) {
	s, err := Parse("p.yaml", []byte(good), env(map[string]string{"DATABASE_URL": "postgres://x@h/db"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "shop" || s.Version != 1 {
		t.Errorf("name/version = %q/%d", s.Name, s.Version)
	}
	want := Engine{BatchMaxRows: 500, BatchMaxBytes: 1 << 20, BatchMaxWait: 100 * time.Millisecond, QueueDepth: 3, Writers: 2, MaxRestarts: DefaultMaxRestarts, RestartWindow: DefaultRestartWindow}
	if s.Engine != want {
		t.Errorf("engine = %+v, want %+v", s.Engine, want)
	}
	if s.Source.Plugin != "csvdir" || s.Source.Name != "source" || s.Transforms[0].Name != "clean" || s.Sink.Name != "sink" {
		t.Errorf("steps: %+v / %+v / %+v", s.Source, s.Transforms, s.Sink)
	}
	for _, want := range []string{"path: data/events", "header: true"} {
		if !strings.Contains(string(s.Source.Config), want) {
			t.Errorf("source config %q lacks %q", s.Source.Config, want)
		}
	}
	for _, want := range []string{"dsn: postgres://x@h/db", `cost: "$5"`} {
		if !strings.Contains(string(s.Sink.Config), want) {
			t.Errorf("sink config %q lacks %q", s.Sink.Config, want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse("p.yaml", []byte("version: 1\nname: n\nsource: {plugin: a}\nsink: {plugin: b}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Engine{BatchMaxRows: DefaultBatchMaxRows, BatchMaxBytes: DefaultBatchMaxBytes, BatchMaxWait: DefaultBatchMaxWait, QueueDepth: DefaultQueueDepth, Writers: DefaultWriters,
		MaxRestarts: DefaultMaxRestarts, RestartWindow: DefaultRestartWindow}
	if s.Engine != want || len(s.Transforms) != 0 {
		t.Errorf("engine = %+v, transforms %v", s.Engine, s.Transforms)
	}
}

func TestParseReportsEveryMistakeWithPosition(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{"three mistakes", `version: 1
name: shop
engine:
  batch:
    max_rows: 0
    max_wait: soon
source:
  plugin: csvdir
  colour: red
sink:
  plugin: postgres
`, []string{
			"p.yaml:5:15: engine.batch.max_rows: must be > 0",
			`p.yaml:6:15: engine.batch.max_wait: "soon" is not a duration`,
			"p.yaml:9:3: source.colour: unknown key",
		}},
		{"missing parts", "version: 2\n", []string{
			"p.yaml:1:10: version: unsupported version 2",
			"p.yaml:1:1: name: missing",
			"p.yaml:1:1: source: missing",
			"p.yaml:1:1: sink: missing",
		}},
		{"unset variable", "version: 1\nname: n\nsource: {plugin: a}\nsink:\n  plugin: b\n  config:\n    dsn: ${NOPE}\n", []string{
			"p.yaml:7:10: sink.config.dsn: environment variable NOPE is not set",
		}},
		{"no plugin, duplicate names", "version: 1\nname: n\nsource: {name: x, plugin: a}\ntransforms:\n  - {name: x, plugin: t}\n  - config: {}\nsink: {plugin: b}\n", []string{
			"p.yaml:5:5: transforms[0].name: name \"x\" is already used by source",
			"p.yaml:6:5: transforms[1].plugin: missing",
		}},
		{"bad yaml", "version: 1\nname: [\n", []string{"p.yaml:2:1: invalid YAML"}},
		{"too many writers", "version: 1\nname: n\nengine: {writers: 99}\nsource: {plugin: a}\nsink: {plugin: b}\n", []string{
			"p.yaml:3:19: engine.writers: must be at most 16",
		}},
		{"bad env names", "version: 1\nname: n\nsource:\n  plugin: a\n  env: [AWS_PROFILE, \"${SECRET}\", 9LIVES, AWS_PROFILE, PLUGIN_UNIX_SOCKET_DIR]\nsink: {plugin: b, env: AWS_PROFILE}\n", []string{
			`p.yaml:5:22: source.env[1]: "${SECRET}" is not an environment variable name`,
			`p.yaml:5:35: source.env[2]: "9LIVES" is not an environment variable name`,
			"p.yaml:5:43: source.env[3]: AWS_PROFILE is listed twice",
			"p.yaml:5:56: source.env[4]: PLUGIN_UNIX_SOCKET_DIR is set by etl itself",
			"p.yaml:6:24: sink.env: must be a list of environment variable names",
		}},
		{"bad restart bounds", "version: 1\nname: n\nengine: {max_restarts: -1, restart_window: 0s}\nsource: {plugin: a}\nsink: {plugin: b}\n", []string{
			"p.yaml:3:24: engine.max_restarts: must be >= 0",
			"p.yaml:3:44: engine.restart_window: must be > 0",
		}},
		{"bad size", "version: 1\nname: n\nengine: {batch: {max_bytes: lots}}\nsource: {plugin: a}\nsink: {plugin: b}\n", []string{
			`engine.batch.max_bytes: "lots" is not a size`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(c.yaml), env(nil))
			if err == nil {
				t.Fatal("want errors")
			}
			es, ok := err.(Errors)
			if !ok {
				t.Fatalf("want Errors, got %T", err)
			}
			if len(es) != len(c.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(es), len(c.want), err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors lack %q; got:\n%v", w, err)
				}
			}
		})
	}
}

func TestLocatePluginErrorPaths(t *testing.T) {
	s, err := Parse("p.yaml", []byte(good), env(map[string]string{"DATABASE_URL": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		step *Step
		path string
		want string
	}{
		{&s.Source, "header", "p.yaml:14:5: source.config.header"},
		{&s.Transforms[0], "rules[0].expr", "p.yaml:20:22: transforms[0].config.rules[0].expr"},
		{&s.Transforms[0], "rules[0]", "p.yaml:20:11: transforms[0].config.rules[0]"},
		{&s.Sink, "nothing.here", "p.yaml:24:5: sink.config.nothing.here"},
	}
	for _, c := range cases {
		e := s.Locate(c.step, c.path)
		e.Msg = "m"
		if got := e.Error(); got != c.want+": m" {
			t.Errorf("Locate(%s, %q) = %q, want %q", c.step.Role, c.path, got, c.want+": m")
		}
	}
}

func TestStepEnvAndRelativePath(t *testing.T) {
	yaml := "version: 1\nname: n\nsource: {plugin: a, env: [AWS_PROFILE, LC_CUSTOM]}\ntransforms:\n  - {path: ../bin/etl-plugin-t}\n  - {path: /opt/etl-plugin-u}\nsink: {plugin: b}\n"
	s, err := Parse("/srv/etl/pipelines/p.yaml", []byte(yaml), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Source.Env, ","); got != "AWS_PROFILE,LC_CUSTOM" {
		t.Errorf("source env = %q", got)
	}
	if s.Sink.Env != nil {
		t.Errorf("sink env = %q, want none", s.Sink.Env)
	}
	// A relative path: is relative to the pipeline file, not to the
	// working directory.
	if got := s.Transforms[0].Path; got != "/srv/etl/bin/etl-plugin-t" {
		t.Errorf("relative path resolved to %q", got)
	}
	if got := s.Transforms[1].Path; got != "/opt/etl-plugin-u" {
		t.Errorf("absolute path became %q", got)
	}
}

func TestParseRestartBounds(t *testing.T) {
	tests := []struct {
		engine string
		max    int
		window time.Duration
	}{
		{"{}", DefaultMaxRestarts, DefaultRestartWindow},
		{"{max_restarts: 2, restart_window: 90s}", 2, 90 * time.Second},
		{"{max_restarts: 0}", 0, DefaultRestartWindow},
	}
	for _, tt := range tests {
		t.Run(tt.engine, func(t *testing.T) {
			s, err := Parse("p.yaml", []byte("version: 1\nname: n\nengine: "+tt.engine+"\nsource: {plugin: a}\nsink: {plugin: b}\n"), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if s.Engine.MaxRestarts != tt.max || s.Engine.RestartWindow != tt.window {
				t.Errorf("max_restarts %d, restart_window %s; want %d, %s", s.Engine.MaxRestarts, s.Engine.RestartWindow, tt.max, tt.window)
			}
		})
	}
}

// A file with mistakes still gives the spec as far as it was read, and
// says which steps' plugins can still check their config.
func TestParseWithMistakesKeepsUsableSteps(t *testing.T) {
	s, err := Parse("p.yaml", []byte(`version: 1
name: n
colour: red
source: {plugin: csvdir, colour: red, config: {path: x}}
transforms:
  - {name: a, plugin: [x, y]}
  - {name: b, plugin: cleanser, config: [1]}
  - {name: c, path: ./plug, env: [1X]}
sink: {plugin: postgres, config: {dsn: "${UNSET_DSN}"}}
`), env(nil))
	if err == nil || s == nil {
		t.Fatalf("want mistakes and a partial spec, got %v, %v", s, err)
	}
	usable := map[string]bool{}
	for _, st := range s.Steps() {
		usable[st.Role] = st.Usable()
	}
	want := map[string]bool{"source": true, "transforms[0]": false, "transforms[1]": false, "transforms[2]": true, "sink": true}
	for role, u := range want {
		if usable[role] != u {
			t.Errorf("%s usable %v, want %v", role, usable[role], u)
		}
	}
	e := s.LocateKey(&s.Transforms[2], "path")
	if e.Line != 8 || e.Path != "transforms[2].path" {
		t.Errorf("LocateKey: %+v, want line 8 transforms[2].path", e)
	}
}

func TestMergeAndSortErrors(t *testing.T) {
	es := Errors{{Line: 9, Path: "sink.config.dsn", Msg: "unset"}, {Line: 2, Path: "colour"}}
	es.Merge(Errors{{Line: 9, Path: "sink.config.dsn", Msg: "required"}, {Line: 9, Path: "sink.config.dsn_x"}, {Line: 1, Path: "sink.config"}})
	es.Sort()
	var got []string
	for _, e := range es {
		got = append(got, e.Path)
	}
	if strings.Join(got, " ") != "sink.config colour sink.config.dsn sink.config.dsn_x" {
		t.Errorf("got %v", got)
	}
}

// The engine's batch bounds are parsed as plugin settings are (core/units).
func TestParseBatchBoundsWithUnits(t *testing.T) {
	tests := []struct {
		batch string
		bytes int
		wait  time.Duration
	}{
		{"{max_bytes: 1.5MiB, max_wait: 1m30s}", 1572864, 90 * time.Second},
		{"{max_bytes: 512KB, max_wait: 250ms}", 512000, 250 * time.Millisecond},
		{"{max_bytes: 4096}", 4096, DefaultBatchMaxWait},
	}
	for _, tt := range tests {
		t.Run(tt.batch, func(t *testing.T) {
			s, err := Parse("p.yaml", []byte("version: 1\nname: n\nengine: {batch: "+tt.batch+"}\nsource: {plugin: a}\nsink: {plugin: b}\n"), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if s.Engine.BatchMaxBytes != tt.bytes || s.Engine.BatchMaxWait != tt.wait {
				t.Errorf("max_bytes %d, max_wait %s; want %d, %s", s.Engine.BatchMaxBytes, s.Engine.BatchMaxWait, tt.bytes, tt.wait)
			}
		})
	}
}

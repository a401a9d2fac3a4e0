package plugin

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// The shape go-hclog (and so etl's host) reads a plugin's log line in.
func TestLoggerWritesHclogJSON(t *testing.T) {
	cases := []struct {
		level string // LogLevelEnv
		log   func(*slog.Logger)
		want  map[string]any // nil: nothing written
	}{
		{"", func(l *slog.Logger) { l.Warn("disk almost full", "free_bytes", 1234, "path", "/data") },
			map[string]any{"@level": "warn", "@message": "disk almost full", "@module": "csvdir", "free_bytes": 1234.0, "path": "/data"}},
		{"", func(l *slog.Logger) { l.Error("boom", slog.Group("g", "a", 1)) },
			map[string]any{"@level": "error", "@message": "boom", "g": map[string]any{"a": 1.0}}},
		{"", func(l *slog.Logger) { l.Debug("hidden") }, nil},
		{"debug", func(l *slog.Logger) { l.Debug("shown") }, map[string]any{"@level": "debug", "@message": "shown"}},
		{"error", func(l *slog.Logger) { l.Warn("hidden") }, nil},
		{"nonsense", func(l *slog.Logger) { l.Info("info is the default") }, map[string]any{"@level": "info"}},
	}
	for i, c := range cases {
		var buf bytes.Buffer
		c.log(newLogger(&buf, "csvdir", c.level))
		if c.want == nil {
			if buf.Len() != 0 {
				t.Errorf("case %d: wrote %q, want nothing", i, buf.String())
			}
			continue
		}
		if strings.Count(buf.String(), "\n") != 1 {
			t.Fatalf("case %d: want one line, got %q", i, buf.String())
		}
		var got map[string]any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("case %d: %v: %q", i, err, buf.String())
		}
		for k, v := range c.want {
			if gv, ok := got[k]; !ok || !jsonEqual(gv, v) {
				t.Errorf("case %d: %s = %v, want %v (line %s)", i, k, got[k], v, buf.String())
			}
		}
		if _, ok := got["@timestamp"]; !ok {
			t.Errorf("case %d: no @timestamp: %s", i, buf.String())
		}
		for _, k := range []string{"level", "msg", "time"} {
			if _, ok := got[k]; ok {
				t.Errorf("case %d: slog's own key %q left: %s", i, k, buf.String())
			}
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

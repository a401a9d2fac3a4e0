package host

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLines decodes etl's JSON log.
func jsonLines(t *testing.T, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("etl log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func findMsg(lines []map[string]any, msg string) map[string]any {
	for _, l := range lines {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

// Defect 10: every plugin stderr line used to be logged at INFO, its text
// packed into msg, so --log-level warn hid plugin warnings.
func TestPluginLogLinesKeepTheirLevelAndFields(t *testing.T) {
	cases := []struct {
		level   slog.Level // etl's --log-level
		present map[string]string
		absent  []string
	}{
		{slog.LevelInfo, map[string]string{
			"probe configured": "INFO", "disk almost full": "WARN", "probe error line": "ERROR",
			"plain text line from probe": "INFO", "[WARN] tagged warning from probe": "WARN",
		}, []string{"probe debug line"}},
		{slog.LevelWarn, map[string]string{"disk almost full": "WARN", "probe error line": "ERROR", "[WARN] tagged warning from probe": "WARN"},
			[]string{"probe configured", "plain text line from probe", "probe debug line"}},
		{slog.LevelError, map[string]string{"probe error line": "ERROR"},
			[]string{"disk almost full", "[WARN] tagged warning from probe", "probe configured"}},
	}
	for _, c := range cases {
		t.Run(c.level.String(), func(t *testing.T) {
			var buf syncBuffer
			logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: c.level}))
			p := startProbe(t, Ref{}, StartOptions{Logger: logger})
			tr, err := p.Transform()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Configure(context.Background(), plugin.Config{Raw: []byte("log: true\n")}, record.Schema{}); err != nil {
				t.Fatal(err)
			}
			// Lines written through slog and plain ones to os.Stderr
			// take two paths (fd 2; go-plugin's forwarding over gRPC):
			// wait for the last of each.
			waitFor(t, "the plugin's lines", func() bool {
				return strings.Contains(buf.String(), "probe error line") && strings.Contains(p.Stderr(), "[WARN] tagged warning from probe")
			})
			p.Kill()
			lines := jsonLines(t, buf.String())
			for msg, level := range c.present {
				l := findMsg(lines, msg)
				if l == nil {
					t.Errorf("etl's log lacks %q:\n%s", msg, buf.String())
					continue
				}
				if l["level"] != level || l["plugin"] != "probe" || l["step"] != "t" {
					t.Errorf("%q logged as %v, want level %s with plugin probe and step t", msg, l, level)
				}
			}
			for _, msg := range c.absent {
				if findMsg(lines, msg) != nil {
					t.Errorf("at --log-level %s etl logged %q:\n%s", c.level, msg, buf.String())
				}
			}
			if l := findMsg(lines, "disk almost full"); l != nil {
				if l["free_bytes"] != 1234.0 || l["path"] != "/data" {
					t.Errorf("the warning lost its fields: %v", l)
				}
				if _, ok := l["@module"]; ok {
					t.Errorf("the warning keeps go-hclog's @module: %v", l)
				}
			}
			if l := findMsg(lines, "probe configured"); l != nil && l["plugin_step"] != "mine" {
				t.Errorf("the plugin's own step field is not kept as plugin_step: %v", l)
			}
			// The tail for crash reports keeps every line from INFO up,
			// whatever etl's level, readable.
			tail := p.Stderr()
			for _, want := range []string{"plain text line from probe", "ERROR probe error line code=7", "WARN disk almost full free_bytes=1234 path=/data", "INFO probe configured"} {
				if !strings.Contains(tail, want) {
					t.Errorf("stderr tail lacks %q:\n%s", want, tail)
				}
			}
		})
	}
}

func TestPlainStderrLines(t *testing.T) {
	var buf bytes.Buffer
	tw := newTailWriter(1<<10, slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "sink", "x")
	w, other := tw.stream(), tw.stream()
	// Another source writes half a line meanwhile: the lines stay whole.
	other.Write([]byte("from the other "))
	w.Write([]byte("starting up\n[ERROR] cannot open /data: permission denied\ntime=2026-01-01T00:00:00Z level=WARN msg=slow\n"))
	w.Write([]byte("panic: runtime error: index out of range\n\ngoroutine 1 [running]:\nmain.main()\n"))
	w.Write([]byte(`{"@level":"debug","@message":"json","n":9007199254740993,"nested":{"a":1}}` + "\n"))
	w.Write([]byte("no newline yet"))
	other.Write([]byte("stream\n"))
	want := []struct{ msg, level string }{
		{"starting up", "INFO"},
		{"[ERROR] cannot open /data: permission denied", "ERROR"},
		{"time=2026-01-01T00:00:00Z level=WARN msg=slow", "WARN"},
		{"panic: runtime error: index out of range", "ERROR"},
		{"goroutine 1 [running]:", "ERROR"},
		{"main.main()", "ERROR"},
		{"json", "DEBUG"},
		{"from the other stream", "INFO"},
	}
	lines := jsonLines(t, buf.String())
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if lines[i]["msg"] != w.msg || lines[i]["level"] != w.level {
			t.Errorf("line %d = %v, want %q at %s", i, lines[i], w.msg, w.level)
		}
	}
	if !strings.Contains(buf.String(), `"n":9007199254740993`) || !strings.Contains(buf.String(), `"nested":{"a":1}`) {
		t.Errorf("numbers or objects changed on the way:\n%s", buf.String())
	}
	if tail := tw.Tail(); !strings.HasSuffix(tail, "main.main()\nDEBUG json n=9007199254740993 nested=map[a:1]\nfrom the other stream\nno newline yet") {
		t.Errorf("tail = %q", tail)
	}
}

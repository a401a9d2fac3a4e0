package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/seed-etl/etl/core/internal/wire"
)

// tailWriter receives a plugin's stderr line by line, through one stream
// per source (go-plugin writes each line of fd 2, then "\n"), keeps its last bytes for crash reports, and passes each
// line to a logger at the line's own level:
//
//   - a JSON object line (what plugin.Logger writes, go-hclog's shape:
//     "@level", "@message", "@timestamp", other keys; slog's JSON shape
//     "level", "msg", "time" too) is logged at its level, with its other
//     keys as attributes, at the time it carries;
//   - any other line is logged whole as the message: at the level of a
//     leading "[WARN]"-style tag or an slog text "level=WARN" field when it
//     has one, at ERROR from a "panic: " or "fatal error: " line on (the
//     trace of a crash), else at INFO.
//
// Every line gets the attributes plugin and step; a plugin's own key of
// that name is kept as plugin_KEY.
type tailWriter struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	logger  *slog.Logger
	step    string
	name    string
	streams []*stream
}

func newTailWriter(max int, logger *slog.Logger, step, name string) *tailWriter {
	return &tailWriter{max: max, logger: logger, step: step, name: name}
}

// stream returns a writer for one source of lines (the plugin's fd 2, its
// os.Stderr forwarded by go-plugin, its stdout): each has its own
// unfinished line, so that two sources writing at once do not mix their
// lines.
func (w *tailWriter) stream() *stream {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := &stream{t: w}
	w.streams = append(w.streams, s)
	return s
}

// stream is one source of a plugin's output lines.
type stream struct {
	t    *tailWriter
	line []byte
	// inPanic is set from a "panic: " line on: the rest is its trace.
	inPanic bool
}

func (s *stream) Write(p []byte) (int, error) {
	n := len(p)
	w := s.t
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.line = append(s.line, p...)
			break
		}
		s.line = append(s.line, p[:i]...)
		w.handle(s, s.line)
		s.line = s.line[:0]
		p = p[i+1:]
	}
	return n, nil
}

// handle logs one line and keeps it, readable, in the tail.
func (w *tailWriter) handle(s *stream, line []byte) {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	e, ok := parseJSONLine(line)
	if !ok {
		e = s.plainEntry(string(line))
	}
	w.keep(e.text(ok))
	if w.logger == nil {
		return
	}
	ctx := context.Background()
	if !w.logger.Enabled(ctx, e.level) {
		return
	}
	if e.time.IsZero() {
		e.time = time.Now()
	}
	r := slog.NewRecord(e.time, e.level, e.msg, 0)
	r.AddAttrs(slog.String("plugin", w.name), slog.String("step", w.step))
	for _, a := range e.attrs {
		if a.Key == "plugin" || a.Key == "step" {
			a.Key = "plugin_" + a.Key
		}
		r.AddAttrs(a)
	}
	_ = w.logger.Handler().Handle(ctx, r)
}

func (w *tailWriter) keep(text string) {
	w.buf = append(w.buf, text...)
	w.buf = append(w.buf, '\n')
	if len(w.buf) > 2*w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
}

// entry is one parsed stderr line.
type entry struct {
	level slog.Level
	msg   string
	time  time.Time
	attrs []slog.Attr
}

// text renders the entry for the stderr tail: a plain line as it was, a
// JSON one as "LEVEL message key=value ...".
func (e entry) text(structured bool) string {
	if !structured {
		return e.msg
	}
	var b strings.Builder
	b.WriteString(e.level.String())
	b.WriteByte(' ')
	b.WriteString(e.msg)
	for _, a := range e.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	return b.String()
}

var (
	tagRE      = regexp.MustCompile(`^\[(TRACE|DEBUG|INFO|WARN|WARNING|ERROR)\]`)
	textLevel  = regexp.MustCompile(`(?:^|\s)level=([A-Za-z]+(?:[+-]\d+)?)(?:\s|$)`)
	panicStart = []string{"panic: ", "fatal error: "}
)

func (w *stream) plainEntry(line string) entry {
	e := entry{level: slog.LevelInfo, msg: line}
	for _, p := range panicStart {
		if strings.HasPrefix(line, p) {
			w.inPanic = true
		}
	}
	switch {
	case w.inPanic:
		e.level = slog.LevelError
	case tagRE.MatchString(line):
		e.level, _ = wire.ParseLevel(tagRE.FindStringSubmatch(line)[1])
	case textLevel.MatchString(line):
		if l, ok := wire.ParseLevel(textLevel.FindStringSubmatch(line)[1]); ok {
			e.level = l
		}
	}
	return e
}

// parseJSONLine reads a JSON object line, keeping its keys in order.
func parseJSONLine(line []byte) (entry, bool) {
	line = bytes.TrimSpace(line)
	if len(line) < 2 || line[0] != '{' || !json.Valid(line) {
		return entry{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return entry{}, false
	}
	e := entry{level: slog.LevelInfo}
	var haveMsg bool
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return entry{}, false
		}
		key, _ := t.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return entry{}, false
		}
		switch key {
		case wire.LogKeyLevel, slog.LevelKey:
			if s, ok := v.(string); ok {
				if l, ok := wire.ParseLevel(s); ok {
					e.level = l
					continue
				}
			}
		case wire.LogKeyMessage, slog.MessageKey:
			if s, ok := v.(string); ok && !haveMsg {
				e.msg, haveMsg = s, true
				continue
			}
		case wire.LogKeyTime, slog.TimeKey:
			if s, ok := v.(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					e.time = t
					continue
				}
			}
		case wire.LogKeyModule:
			continue // the plugin attribute says it
		}
		e.attrs = append(e.attrs, slog.Any(key, v))
	}
	return e, true
}

// Tail returns the last lines written, at most about max bytes, with the
// lines still being written, if any.
func (w *tailWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := append([]byte(nil), w.buf...)
	for _, s := range w.streams {
		b = append(b, s.line...)
	}
	if len(b) > w.max {
		b = b[len(b)-w.max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

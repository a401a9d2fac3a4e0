package host

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// tailWriter receives a plugin's stderr line by line (go-plugin writes each
// line, then "\n"), keeps its last bytes for crash reports, and passes each
// line to a logger.
type tailWriter struct {
	mu     sync.Mutex
	max    int
	buf    []byte
	line   []byte
	logger *slog.Logger
	step   string
	name   string
}

func newTailWriter(max int, logger *slog.Logger, step, name string) *tailWriter {
	return &tailWriter{max: max, logger: logger, step: step, name: name}
}

func (w *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > 2*w.max {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-w.max:]...)
	}
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.line = append(w.line, p...)
			break
		}
		w.line = append(w.line, p[:i]...)
		if w.logger != nil && len(w.line) > 0 {
			w.logger.Info(string(w.line), "plugin", w.name, "step", w.step)
		}
		w.line = w.line[:0]
		p = p[i+1:]
	}
	return n, nil
}

// Tail returns the last lines written, at most about max bytes.
func (w *tailWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf
	if len(b) > w.max {
		b = b[len(b)-w.max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

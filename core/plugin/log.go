package plugin

import (
	"io"
	"log/slog"
	"os"

	"github.com/seed-etl/etl/core/internal/wire"
)

// Logger returns the logger a plugin named name logs with: one JSON object
// a line on stderr, {"@level":"warn","@message":"...","@timestamp":...,
// "@module":name, and the line's own attributes}. etl parses each line
// and logs it at its own level with its attributes, so --log-level and
// the JSON log format apply to plugins as to etl itself. Serve makes it
// slog's default logger (and so the log package's output) as well.
func Logger(name string) *slog.Logger {
	return newLogger(stderrFD, name, os.Getenv(wire.LogLevelEnv))
}

func newLogger(w io.Writer, name, level string) *slog.Logger {
	var min slog.Level
	if err := min.UnmarshalText([]byte(level)); err != nil {
		min = slog.LevelInfo
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: min, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) > 0 {
			return a
		}
		switch a.Key {
		case slog.TimeKey:
			a.Key = wire.LogKeyTime
		case slog.LevelKey:
			a.Key = wire.LogKeyLevel
			if l, ok := a.Value.Any().(slog.Level); ok {
				a.Value = slog.StringValue(wire.LevelName(l))
			}
		case slog.MessageKey:
			a.Key = wire.LogKeyMessage
		}
		return a
	}})
	return slog.New(h).With(wire.LogKeyModule, name)
}

// stderrFD is file descriptor 2 as the process started with it, taken
// before go-plugin's Serve replaces os.Stderr by a pipe it forwards over
// gRPC: a line written to it is in etl's hands at once, even when the
// plugin exits right after (a crash), where a forwarded one may be lost.
var stderrFD = os.Stderr

package plugin

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
)

// LogLevelEnv names the variable in which etl tells a plugin process the
// lowest level it logs ("debug", "info", "warn", "error"), so that the
// plugin does not send lines etl would drop.
const LogLevelEnv = "ETL_PLUGIN_LOG_LEVEL"

// The keys of a plugin's log line: the JSON shape of hashicorp/go-hclog,
// which etl reads back from the plugin's stderr.
const (
	LogKeyLevel   = "@level"
	LogKeyMessage = "@message"
	LogKeyTime    = "@timestamp"
	LogKeyModule  = "@module"
)

// Logger returns the logger a plugin named name logs with: one JSON object
// a line on stderr, {"@level":"warn","@message":"...","@timestamp":...,
// "@module":name, and the line's own attributes}. etl parses each line
// and logs it at its own level with its attributes, so --log-level and
// the JSON log format apply to plugins as to etl itself. Serve makes it
// slog's default logger (and so the log package's output) as well.
func Logger(name string) *slog.Logger {
	return newLogger(stderrFD, name, os.Getenv(LogLevelEnv))
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
			a.Key = LogKeyTime
		case slog.LevelKey:
			a.Key = LogKeyLevel
			if l, ok := a.Value.Any().(slog.Level); ok {
				a.Value = slog.StringValue(LevelName(l))
			}
		case slog.MessageKey:
			a.Key = LogKeyMessage
		}
		return a
	}})
	return slog.New(h).With(LogKeyModule, name)
}

// LevelName is the go-hclog name of an slog level: trace, debug, info,
// warn or error.
func LevelName(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}

// ParseLevel reads a level name as go-hclog and slog write it (trace,
// debug, info, warn, warning, error, any case, "WARN+2" too); ok is false
// for anything else.
func ParseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return slog.LevelDebug - 4, true
	case "warning":
		return slog.LevelWarn, true
	case "err", "fatal", "panic":
		return slog.LevelError, true
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return slog.LevelInfo, false
	}
	return l, true
}

// MinLevel returns the level plugins are told to log from (a LogLevelEnv
// value): "debug" when l logs debug lines, else "info". Lines at INFO and
// above always come, even when etl logs only errors: they are what the
// end of a crashed plugin's stderr quotes.
func MinLevel(ctx context.Context, l *slog.Logger) string {
	if l != nil && l.Enabled(ctx, slog.LevelDebug) {
		return "debug"
	}
	return "info"
}

// stderrFD is file descriptor 2 as the process started with it, taken
// before go-plugin's Serve replaces os.Stderr by a pipe it forwards over
// gRPC: a line written to it is in etl's hands at once, even when the
// plugin exits right after (a crash), where a forwarded one may be lost.
var stderrFD = os.Stderr

// Package wire is what both sides of the plugin protocol share and plugin
// authors never see: the handshake, the batch codec and gRPC options, the
// conversions between the record types and their messages, the status
// convention for errors, the log level names. core/plugin (the SDK, the
// plugin's side) and core/host (the engine's side) import it.
package wire

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	goplugin "github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the version of the wire contract (pb/PROTOCOL.md):
// the APP-PROTOCOL-VERSION of the handshake line. It changes only when an
// old plugin could not work with a new engine; the engine refuses a plugin
// of another version, naming both. Version 2: batches as Apache Arrow IPC
// streams, Field.type as the FieldType enum.
const ProtocolVersion = 2

// Handshake is what the engine and a plugin check before talking: a plugin
// binary run by hand exits with a message instead of waiting for an engine.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ETL_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "a1f6e3c2-etl-plugin",
}

// The names under which a plugin process's services are dispensed.
const (
	KindSource    = "source"
	KindTransform = "transform"
	KindSink      = "sink"
	KindInfo      = "info"
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

// ProfileEnv names an environment variable: when it holds a folder, etl
// and each plugin process write a CPU profile there (cpu-NAME-PID.prof)
// until they stop, for `go tool pprof`.
const ProfileEnv = "ETL_CPUPROFILE"

// StartProfile starts the CPU profile of the process name when ProfileEnv
// is set; call the function it returns before the process exits.
func StartProfile(name string) (stop func()) {
	dir := os.Getenv(ProfileEnv)
	if dir == "" {
		return func() {}
	}
	path := filepath.Join(dir, fmt.Sprintf("cpu-%s-%d.prof", name, os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cpu profile: %v\n", name, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "%s: cpu profile: %v\n", name, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

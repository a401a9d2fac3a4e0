package host

import (
	"os"
	"strings"

	"github.com/seed-etl/etl/core/internal/wire"
)

// ExtraEnv names an environment variable holding more variable names
// (separated by commas or spaces) that every plugin process gets, beyond
// the allowlist: for what the whole deployment needs (a proxy, a CA
// bundle), where a step's `env:` key is for one step.
const ExtraEnv = "ETL_PLUGIN_ENV"

// SocketDirEnv is the variable in which go-plugin tells a plugin where to
// create its Unix socket.
const SocketDirEnv = "PLUGIN_UNIX_SOCKET_DIR"

// allowedEnv are the variables of etl's environment every plugin gets:
// what a program needs to run (PATH, HOME, TMPDIR, the time zone and the
// locale), the Go runtime's settings, and etl's CPU profiling folder.
// Everything else, DATABASE_URL included, stays in etl: a plugin gets its
// configuration through Configure, already expanded.
var allowedEnv = []string{
	"PATH", "HOME", "TMPDIR", "TZ", "LANG", "LANGUAGE",
	"GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG", "GOTRACEBACK",
	wire.ProfileEnv,
}

// BundledProcs is the GOMAXPROCS a bundled plugin runs with when etl's
// environment does not set GOMAXPROCS (which every plugin then gets):
// a quarter of procs, etl's own, and at least 1. The engine makes one
// data call (Read, Process, Write) at a time to a plugin process, so a
// bundled plugin has one goroutine of work beside gRPC's of I/O; more Ps
// than that mostly add the scheduler's wake-ups of idle threads, which on
// a machine shared with PostgreSQL take CPU from it. On 2 cores (make
// bench, 2,000,000 rows) etl and its plugins took 4.08 us of CPU per input
// row with 1 against 4.82 with Go's default of 2 (README, Performance).
func BundledProcs(procs int) int { return max(1, procs/4) }

// allowedEnvPrefixes are allowed as a whole family.
var allowedEnvPrefixes = []string{"LC_"}

// reservedEnv are set by etl and go-plugin themselves; a step cannot pass
// its own.
var reservedEnv = []string{
	BundledEnv, SocketDirEnv, wire.LogLevelEnv, wire.Handshake.MagicCookieKey,
	"PLUGIN_PROTOCOL_VERSIONS", "PLUGIN_MIN_PORT", "PLUGIN_MAX_PORT", "PLUGIN_UNIX_SOCKET_GROUP",
	"PLUGIN_CLIENT_CERT", "PLUGIN_MULTIPLEX_GRPC",
}

// IsReservedEnv reports whether name is set for a plugin by etl or
// go-plugin, so that a pipeline cannot list it under `env:`.
func IsReservedEnv(name string) bool {
	for _, r := range reservedEnv {
		if name == r {
			return true
		}
	}
	return false
}

// Environment returns the environment a plugin process starts with, from
// lookup (os.LookupEnv) and environ (os.Environ): the allowlisted
// variables that are set, then those named by ExtraEnv and by extra (a
// step's `env:`), then the given settings of etl's own ("NAME=value").
// go-plugin adds its handshake variables to it.
func Environment(environ []string, lookup func(string) (string, bool), extra []string, own ...string) []string {
	var env []string
	seen := map[string]bool{}
	add := func(name string) {
		if name == "" || seen[name] || IsReservedEnv(name) {
			return
		}
		if v, ok := lookup(name); ok {
			seen[name] = true
			env = append(env, name+"="+v)
		}
	}
	for _, n := range allowedEnv {
		add(n)
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		for _, p := range allowedEnvPrefixes {
			if strings.HasPrefix(name, p) {
				add(name)
			}
		}
	}
	if v, ok := lookup(ExtraEnv); ok {
		for _, n := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			add(n)
		}
	}
	for _, n := range extra {
		add(n)
	}
	return append(env, own...)
}

// environment is Environment of this process.
func environment(extra []string, own ...string) []string {
	return Environment(os.Environ(), os.LookupEnv, extra, own...)
}

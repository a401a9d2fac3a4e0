package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/plugin"
)

// sdkPackage is the package a plugin is built against.
const sdkPackage = "github.com/seed-etl/etl/core/plugin"

// Process is one running plugin process.
type Process struct {
	// Step is the pipeline step the process serves, e.g. "sink".
	Step string
	// Location is where the plugin was found.
	Location Location
	// Info is what the plugin said of itself.
	Info Info

	client *goplugin.Client
	rpc    goplugin.ClientProtocol
	stderr *tailWriter
}

// StartOptions tune how a plugin process starts.
type StartOptions struct {
	// Logger receives the plugin's stderr lines; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the handshake; 0 means 30s.
	StartTimeout time.Duration
	// Env names variables of etl's environment passed on to the plugin
	// beyond the allowlist; Start takes them from the Ref when nil.
	Env []string
}

// Start finds the plugin ref names and starts it for pipeline step step.
// The process is killed when etl exits, even by SIGKILL.
func (h *Host) Start(ctx context.Context, step string, ref Ref, opts StartOptions) (*Process, error) {
	loc, err := h.Find(ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	if opts.Env == nil {
		opts.Env = ref.Env
	}
	return StartAt(ctx, step, loc, opts)
}

// StartAt starts the plugin at loc. An external executable must pass
// CheckTrusted. The process gets only the allowlisted environment (see
// Environment) and puts its socket in this process's SocketDir.
func StartAt(ctx context.Context, step string, loc Location, opts StartOptions) (*Process, error) {
	if loc.Refused != nil {
		return nil, fmt.Errorf("%s: %w", step, loc.Refused)
	}
	if !loc.Bundled {
		if err := CheckTrusted(loc.Path); err != nil {
			return nil, fmt.Errorf("%s: %w", step, err)
		}
	}
	sockDir, err := SocketDir()
	if err != nil {
		return nil, fmt.Errorf("%s: start plugin %s: %w", step, loc.Name, err)
	}
	own := []string{SocketDirEnv + "=" + sockDir, wire.LogLevelEnv + "=" + wire.MinLevel(ctx, opts.Logger)}
	if loc.Bundled {
		own = append(own, BundledEnv+"="+loc.Name)
		if _, set := os.LookupEnv("GOMAXPROCS"); !set {
			own = append(own, "GOMAXPROCS="+strconv.Itoa(BundledProcs(runtime.GOMAXPROCS(0))))
		}
	}
	cmd := exec.Command(loc.Path)
	cmd.Env = environment(opts.Env, own...)
	dieWithParent(cmd)
	p := &Process{Step: step, Location: loc, stderr: newTailWriter(8<<10, opts.Logger, step, loc.Name)}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	p.client = goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: clientPlugins(),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		GRPCDialOptions:  wire.DialOptions(),
		// Stderr gets what the plugin writes to file descriptor 2
		// (plugin.Logger, and so slog's default and the log package once
		// Serve runs; panics); SyncStderr what it writes to os.Stderr,
		// which go-plugin forwards over gRPC. Each is a stream of its own.
		Stderr:     p.stderr.stream(),
		SyncStderr: p.stderr.stream(),
		SyncStdout: p.stderr.stream(),
		Logger:     hclog.NewNullLogger(),
		// The environment is cmd.Env alone, never all of etl's.
		SkipHostEnv:  true,
		StartTimeout: timeout,
	})
	rpc, err := p.client.Client()
	if err != nil {
		// A process that ended by itself before its handshake (killed,
		// or it exited) died: a restart may mend that, unlike a plugin
		// that answers wrongly or not at all (go-plugin kills those
		// itself, so only its error tells the two apart).
		p.client.Kill()
		if diedStarting(err) {
			return nil, &CrashError{Step: step, Plugin: loc.Name, Doing: "start",
				Err: fmt.Errorf("start plugin %s (%s): %w", loc.Name, loc.Where(), err), Stderr: p.stderr.Tail()}
		}
		return nil, p.startError(err)
	}
	p.rpc = rpc
	raw, err := rpc.Dispense("info")
	if err != nil {
		p.Kill()
		return nil, p.Err("start", err)
	}
	info, err := raw.(*infoClient).Describe(ctx)
	if err != nil {
		p.Kill()
		return nil, p.Err("describe itself", err)
	}
	p.Info = info
	return p, nil
}

// diedStarting says whether err, go-plugin's error from starting a
// plugin, means the process ended before its handshake: it exited, or its
// stdout closed before it printed a line.
func diedStarting(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "plugin exited before we could connect") || strings.Contains(msg, "Failed to read any lines from plugin's stdout")
}

// pluginVersionRE finds the version a plugin announced in go-plugin's
// error for a version no client set has: "incompatible API version with
// plugin. Plugin version: 1, Client versions: [2]".
var pluginVersionRE = regexp.MustCompile(`incompatible API version with plugin\. Plugin version: (-?\d+)`)

func (p *Process) startError(err error) error {
	if m := pluginVersionRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s: plugin %q (%s) speaks protocol version %s, this etl speaks %d: rebuild it against this etl's %s (see its PROTOCOL.md)",
			p.Step, p.Location.Name, p.Location.Where(), m[1], wire.ProtocolVersion, sdkPackage)
	}
	if tail := p.stderr.Tail(); tail != "" {
		return fmt.Errorf("%s: start plugin %s (%s): %w; its stderr ends with:\n%s", p.Step, p.Location.Name, p.Location.Where(), err, tail)
	}
	return fmt.Errorf("%s: start plugin %s (%s): %w", p.Step, p.Location.Name, p.Location.Where(), err)
}

func (p *Process) dispense(kind string) (any, error) {
	if !hasKind(p.Info, kind) {
		return nil, fmt.Errorf("%s: plugin %s (%s) is not a %s: it offers %s", p.Step, p.Location.Name, p.Location.Where(), kind, strings.Join(p.Info.Kinds, ", "))
	}
	raw, err := p.rpc.Dispense(kind)
	if err != nil {
		return nil, p.Err("dispense "+kind, err)
	}
	return raw, nil
}

// Source returns the process as a Source.
func (p *Process) Source() (plugin.Source, error) {
	raw, err := p.dispense(plugin.KindSource)
	if err != nil {
		return nil, err
	}
	return raw.(plugin.Source), nil
}

// Transform returns the process as a Transform.
func (p *Process) Transform() (plugin.Transform, error) {
	raw, err := p.dispense(plugin.KindTransform)
	if err != nil {
		return nil, err
	}
	return raw.(plugin.Transform), nil
}

// Sink returns the process as a Sink.
func (p *Process) Sink() (plugin.Sink, error) {
	raw, err := p.dispense(plugin.KindSink)
	if err != nil {
		return nil, err
	}
	return raw.(plugin.Sink), nil
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool { return p.client.Exited() }

// Pid returns the process id, or 0.
func (p *Process) Pid() int {
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// exitedWithin reports whether the process ends within d.
func (p *Process) exitedWithin(d time.Duration) bool {
	for end := time.Now().Add(d); !p.client.Exited() && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	return p.client.Exited()
}

// Err wraps err, from doing what, with the plugin's name; when the process
// has died it says so and adds the tail of its stderr.
func (p *Process) Err(doing string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s (%s): %s: %w", p.Step, p.Location.Name, doing, err)
	}
	// The RPC may fail a moment before go-plugin notices the exit.
	if p.exitedWithin(200 * time.Millisecond) {
		return &CrashError{Step: p.Step, Plugin: p.Location.Name, Doing: doing, Err: err, Stderr: p.stderr.Tail()}
	}
	return fmt.Errorf("%s (%s): %s: %w", p.Step, p.Location.Name, doing, err)
}

// CrashError is a plugin process that died under the engine.
type CrashError struct {
	Step, Plugin, Doing string
	Err                 error
	Stderr              string
}

func (e *CrashError) Error() string {
	msg := fmt.Sprintf("%s: plugin %s crashed while it had to %s (%v)", e.Step, e.Plugin, e.Doing, e.Err)
	if e.Stderr != "" {
		msg += "; its stderr ends with:\n" + e.Stderr
	}
	return msg
}

func (e *CrashError) Unwrap() error { return e.Err }

// Kill stops the process: gracefully when it answers, else by force.
func (p *Process) Kill() { p.client.Kill() }

// Stderr returns the last lines the plugin wrote to its stderr.
func (p *Process) Stderr() string { return p.stderr.Tail() }

func hasKind(info Info, kind string) bool {
	for _, k := range info.Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

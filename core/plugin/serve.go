package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Plugin describes what one plugin offers: its name, its version and a
// constructor for each kind it implements (leave the others nil). One
// plugin process serves one instance of one kind.
type Plugin struct {
	// Name is how pipelines refer to the plugin, e.g. "csvdir".
	Name string
	// Version is the plugin's own version, shown by `etl plugins`.
	Version string
	// Source, Transform and Sink construct a new instance of each kind.
	Source    func() Source
	Transform func() Transform
	Sink      func() Sink
}

// Kinds returns the kinds the plugin implements, e.g. ["source"].
func (p Plugin) Kinds() []string {
	var kinds []string
	if p.Source != nil {
		kinds = append(kinds, KindSource)
	}
	if p.Transform != nil {
		kinds = append(kinds, KindTransform)
	}
	if p.Sink != nil {
		kinds = append(kinds, KindSink)
	}
	return kinds
}

// The plugin kinds.
const (
	KindSource    = "source"
	KindTransform = "transform"
	KindSink      = "sink"
)

// ProtocolVersion is the version of the wire contract this package speaks
// (pb/PROTOCOL.md): the APP-PROTOCOL-VERSION of the handshake line. It
// changes only when an old plugin could not work with a new engine; the
// engine refuses a plugin of another version, naming both. Version 2:
// batches as Apache Arrow IPC streams, Field.type as the FieldType enum.
const ProtocolVersion = 2

// servedProtocol, when set, replaces the version Serve announces; it is
// text so that a test can build an incompatible plugin with
// -ldflags "-X github.com/seed-etl/etl/core/plugin.servedProtocol=99".
var servedProtocol string

// Handshake is what the engine and a plugin check before talking: a plugin
// binary run by hand exits with a message instead of waiting for an engine.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "ETL_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "a1f6e3c2-etl-plugin",
}

// MaxMessageBytes bounds one gRPC message. Engines close batches far below
// it (see the engine's batch.max_bytes); it only protects against a plugin
// that blows a batch up.
const MaxMessageBytes = 256 << 20

// Serve runs p as a plugin process: call it from the plugin's main. It
// returns when the engine is done with the plugin. Run by hand, outside an
// engine, it prints that it is a plugin and exits.
func Serve(p Plugin) {
	v := ProtocolVersion
	if n, err := strconv.Atoi(servedProtocol); err == nil {
		v = n
	}
	go exitWithParent()
	// What the plugin logs through slog's default logger or the log
	// package reaches etl as JSON lines with their levels.
	slog.SetDefault(Logger(p.Name))
	defer StartProfile(p.Name)()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{v: pluginSet(p)},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes),
				grpc.InitialWindowSize(windowBytes), grpc.InitialConnWindowSize(windowBytes),
				grpc.WriteBufferSize(ioBufferBytes), grpc.ReadBufferSize(ioBufferBytes), codecServerOption)
			return grpc.NewServer(opts...)
		},
		Logger: hclog.NewNullLogger(),
	})
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
		fmt.Fprintf(os.Stderr, "plugin %s: cpu profile: %v\n", name, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "plugin %s: cpu profile: %v\n", name, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// pluginSet is the go-plugin set of what p serves.
func pluginSet(p Plugin) goplugin.PluginSet {
	set := goplugin.PluginSet{"info": &infoPlugin{p: p}}
	if p.Source != nil {
		set[KindSource] = &sourcePlugin{impl: p.Source}
	}
	if p.Transform != nil {
		set[KindTransform] = &transformPlugin{impl: p.Transform}
	}
	if p.Sink != nil {
		set[KindSink] = &sinkPlugin{impl: p.Sink}
	}
	return set
}

// ClientPlugins is the go-plugin set the engine uses to talk to any plugin,
// keyed by protocol version.
func ClientPlugins() map[int]goplugin.PluginSet {
	return map[int]goplugin.PluginSet{ProtocolVersion: {
		"info":        &infoPlugin{},
		KindSource:    &sourcePlugin{},
		KindTransform: &transformPlugin{},
		KindSink:      &sinkPlugin{},
	}}
}

// ClientOptions are the gRPC options the engine dials plugins with.
func ClientOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes), codecCallOption),
		grpc.WithInitialWindowSize(windowBytes), grpc.WithInitialConnWindowSize(windowBytes),
		grpc.WithWriteBufferSize(ioBufferBytes), grpc.WithReadBufferSize(ioBufferBytes),
	}
}

// Batches are megabytes and cross a local socket: a flow-control window
// that holds a whole batch and large socket buffers spare round trips and
// system calls (gRPC's defaults, 64 KiB and 32 KiB, suit small messages).
const (
	windowBytes   = 32 << 20
	ioBufferBytes = 1 << 20
)

// exitWithParent ends the plugin when the engine that started it dies, even
// by SIGKILL, so that no plugin outlives its engine. (The engine also asks
// the kernel to kill its children when it dies; this covers other systems
// and plugins started by other means.)
func exitWithParent() {
	parent := os.Getppid()
	for range time.Tick(200 * time.Millisecond) {
		if os.Getppid() != parent {
			os.Exit(3)
		}
	}
}

// statusOf turns a plugin's error into a gRPC status that keeps its text.
func statusOf(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	if errors.Is(err, errors.ErrUnsupported) {
		return status.Error(codes.Unimplemented, err.Error())
	}
	if errors.Is(err, ErrUnavailable) {
		return unavailableStatus(err)
	}
	return status.Error(codes.Unknown, err.Error())
}

// unwrapStatus turns a gRPC status back into a plain error with the
// plugin's own text.
func unwrapStatus(err error) error {
	if err == nil {
		return nil
	}
	if s, ok := status.FromError(err); ok {
		if s.Code() == codes.Canceled {
			return fmt.Errorf("%s: %w", s.Message(), context.Canceled)
		}
		if s.Code() == codes.Unknown {
			return errors.New(s.Message())
		}
		if s.Code() == codes.Unavailable && isUnavailableStatus(s) {
			return &unavailableError{msg: s.Message()}
		}
		if s.Code() == codes.Unimplemented {
			// An optional method the plugin does not offer, e.g. one built
			// before the method existed.
			return fmt.Errorf("%s: %w", s.Message(), errors.ErrUnsupported)
		}
		return fmt.Errorf("%s (%s)", s.Message(), s.Code())
	}
	return err
}

package plugin

import (
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/seed-etl/etl/core/internal/wire"
)

// Plugin describes what one plugin offers: its name, its version and a
// constructor for each kind it implements (leave the others nil). One
// plugin process serves one instance of one kind.
type Plugin struct {
	// Name is how pipelines refer to the plugin, e.g. "csvdir".
	Name string
	// Version is the plugin's own version, shown by `etl plugins`.
	Version string
	// Settings describe the keys of the plugin's `config:` block, for
	// `etl plugins NAME` and generated docs; SettingsOf makes them from the
	// config struct.
	Settings []Setting
	// Source, Transform and Sink construct a new instance of each kind.
	Source    func() Source
	Transform func() Transform
	Sink      func() Sink
	// SinkAsksForRaw says the sink takes batches whose rows lack their raw
	// text and returns NeedRaw from Write for the rows it must store as
	// rejects. The engine then lets the last transform leave raw text out
	// of its output (RawHeld) and keeps it itself until the batch commits.
	SinkAsksForRaw bool
	// TransformNeedsNoRaw says the transform reads no raw text of its
	// input rows (Batch.Raw), its rejects included: when every transform
	// of a pipeline says so and the sink asks for raw text, the engine
	// sends the transforms batches without it (RawHeld) and fills in the
	// raw text of the rejects they return without it.
	TransformNeedsNoRaw bool
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

// servedProtocol, when set, replaces the version Serve announces; it is
// text so that a test can build an incompatible plugin with
// -ldflags "-X github.com/seed-etl/etl/core/plugin.servedProtocol=99".
var servedProtocol string

// Serve runs p as a plugin process: call it from the plugin's main. It
// returns when the engine is done with the plugin. Run by hand, outside an
// engine, it prints that it is a plugin and exits.
func Serve(p Plugin) {
	v := wire.ProtocolVersion
	if n, err := strconv.Atoi(servedProtocol); err == nil {
		v = n
	}
	go exitWithParent()
	// What the plugin logs through slog's default logger or the log
	// package reaches etl as JSON lines with their levels.
	slog.SetDefault(Logger(p.Name))
	defer wire.StartProfile("plugin " + p.Name)()
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: map[int]goplugin.PluginSet{v: pluginSet(p)},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, wire.ServerOptions()...)...)
		},
		Logger: hclog.NewNullLogger(),
	})
}

// pluginSet is the go-plugin set of what p serves.
func pluginSet(p Plugin) goplugin.PluginSet {
	set := goplugin.PluginSet{wire.KindInfo: &infoPlugin{p: p}}
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

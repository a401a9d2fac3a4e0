package plugin

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

package plugin

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/units"
)

// Duration is a setting holding a length of time, written in YAML as Go
// writes durations: "250ms", "10s", "1m30s" (or 0). It is never negative.
// Describe it in a config struct as a field of this type: its Setting
// type is "duration".
type Duration time.Duration

// UnmarshalYAML parses a duration, reporting a mistake with its line so
// that DecodeConfig names its key.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "want a duration such as 250ms or 1m30s, not a %s", nodeKind(n))
	}
	v, err := units.ParseDuration(n.Value)
	if err != nil {
		return lineError(n, "%v", err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as UnmarshalYAML reads it.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String writes d as it is written in YAML, e.g. "1m" or "250ms".
func (d Duration) String() string { return units.FormatDuration(time.Duration(d)) }

// Size is a setting holding a number of bytes, written in YAML as a whole
// number ("4096") or with a unit: B, KB, MB, GB, TB (powers of 1000) or
// KiB, MiB, GiB, TiB (powers of 1024), with a decimal fraction if need be
// ("512KB", "1.5MiB", "2GiB"). It is never negative. Its Setting type is
// "size".
type Size int64

// UnmarshalYAML parses a size, reporting a mistake with its line so that
// DecodeConfig names its key.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineError(n, "want a size such as 4096, 512KB or 1.5MiB, not a %s", nodeKind(n))
	}
	v, err := units.ParseSize(n.Value)
	if err != nil {
		return lineError(n, "%v", err)
	}
	*s = Size(v)
	return nil
}

// MarshalYAML writes s as UnmarshalYAML reads it.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// String writes s in the largest unit that holds it exactly, e.g. "1MiB".
func (s Size) String() string { return units.FormatSize(int64(s)) }

// lineError is a decoding mistake at n, in the form DecodeConfig turns
// into a key path.
func lineError(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d, column %d: %s", n.Line, n.Column, fmt.Sprintf(format, args...))}}
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

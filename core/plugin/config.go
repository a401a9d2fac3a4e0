package plugin

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ConfigError is one mistake in a plugin's configuration. Path is the key
// path inside the plugin's `config:` block, e.g. "batch.max_rows" or
// "fields.price.scale" or "rules[2].expr"; the engine turns it into the
// file:line:col of that key in the pipeline's YAML.
type ConfigError struct {
	Path    string
	Message string
	// Field is the input field the mistake is about, when it is about one
	// (e.g. a field whose type its column cannot take). When Path names no
	// key of the plugin's own config, the engine points at the step that
	// made the field instead.
	Field string
}

func (e ConfigError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// ConfigErrors is every mistake found in one configuration.
type ConfigErrors []ConfigError

func (es ConfigErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Add records a mistake at path.
func (es *ConfigErrors) Add(path, format string, args ...any) {
	*es = append(*es, ConfigError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no mistakes, else es.
func (es ConfigErrors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Merge adds the mistakes of more that do not follow from one already in
// es: a mistake at a path es holds, or under it, or above it, is left out
// (a key that failed to decode is not also reported as missing). Use it to
// report a block's decode errors and the checks of what did decode in one
// answer.
func (es *ConfigErrors) Merge(more ConfigErrors) {
	have := *es
	for _, e := range more {
		if !covers(have, e.Path) {
			*es = append(*es, e)
		}
	}
}

func covers(es ConfigErrors, path string) bool {
	for _, e := range es {
		if e.Path == "" && path != "" {
			continue
		}
		if within(path, e.Path) || within(e.Path, path) {
			return true
		}
	}
	return false
}

// within says whether path is base or a key path under it ("a.b[1]" is
// within "a.b" and "a", not within "a.bc").
func within(path, base string) bool {
	if path == base || base == "" {
		return path == base
	}
	if !strings.HasPrefix(path, base) {
		return false
	}
	next := path[len(base)]
	return next == '.' || next == '['
}

// AsConfigErrors returns the ConfigErrors in err, or err as one ConfigError
// without a path.
func AsConfigErrors(err error) ConfigErrors {
	if err == nil {
		return nil
	}
	var es ConfigErrors
	if errors.As(err, &es) {
		return es
	}
	var e ConfigError
	if errors.As(err, &e) {
		return ConfigErrors{e}
	}
	return ConfigErrors{{Message: err.Error()}}
}

// lineRE reads yaml.v3's "line N: ..." messages, and the "line N, column
// C: ..." of Duration and Size, whose column tells apart the keys of a
// flow mapping on one line.
var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+)(?:, column (\d+))?: (.*)$`)

// DecodeConfig decodes a `config:` block into v (a pointer to a struct with
// yaml tags). Unknown keys and values of the wrong type are errors; all of
// them are returned together as ConfigErrors with their key paths. An empty
// block leaves v as it is, so set defaults in v before calling.
func DecodeConfig(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return ConfigErrors{{Message: err.Error()}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return ConfigErrors{{Message: err.Error()}}
	}
	var es ConfigErrors
	for _, msg := range te.Errors {
		m := lineRE.FindStringSubmatch(msg)
		if m == nil {
			es.Add("", "%s", msg)
			continue
		}
		line, _ := strconv.Atoi(m[1])
		path := pathAtLine(&root, line)
		if col, err := strconv.Atoi(m[2]); err == nil {
			if p := pathOfValueAt(&root, line, col); p != "" {
				path = p
			}
		}
		es = append(es, ConfigError{Path: path, Message: tidyYAMLMessage(m[3])})
	}
	return es
}

var typeSuffixRE = regexp.MustCompile(` (?:in|into) type [\w.\[\]*]+$`)

// tidyYAMLMessage turns yaml.v3's messages into ones for users, who never
// saw our Go types: "field foo not found in type csvdir.Config" becomes
// "unknown key foo".
func tidyYAMLMessage(msg string) string {
	if strings.HasPrefix(msg, "field ") && strings.Contains(msg, " not found in type ") {
		name := strings.TrimPrefix(msg, "field ")
		name = name[:strings.Index(name, " not found")]
		return "unknown key " + strconv.Quote(name)
	}
	if strings.HasPrefix(msg, "cannot unmarshal ") {
		msg = typeSuffixRE.ReplaceAllString(msg, "")
		msg = strings.Replace(msg, "cannot unmarshal", "wrong type:", 1)
		for from, to := range map[string]string{"!!str": "text", "!!int": "integer", "!!map": "mapping", "!!seq": "list", "!!bool": "boolean", "!!float": "number"} {
			msg = strings.ReplaceAll(msg, from, to)
		}
	}
	return msg
}

// pathOfValueAt returns the key path of the value that starts at line and
// col, or "".
func pathOfValueAt(root *yaml.Node, line, col int) string {
	found := ""
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Line == line && n.Column == col && path != "" && found == "" {
			found = path
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(root, "")
	return found
}

// pathAtLine returns the key path of the deepest node of root that starts
// on line, e.g. "fields.price.scale", or "" when there is none.
func pathAtLine(root *yaml.Node, line int) string {
	best := ""
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, val := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line {
					best = p
				}
				walk(val, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := path + "[" + strconv.Itoa(i) + "]"
				if c.Line == line && c.Kind == yaml.ScalarNode {
					best = p
				}
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return best
}

// Package spec loads a pipeline's YAML file into a validated Spec. Every
// mistake is reported with its file:line:col and key path, all of them at
// once.
package spec

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/units"
)

// Spec is a validated pipeline.
type Spec struct {
	// File is the path the spec was loaded from.
	File       string
	Version    int
	Name       string
	Engine     Engine
	Source     Step
	Transforms []Step
	Sink       Step
}

// Engine holds the engine's settings.
type Engine struct {
	// BatchMaxRows, BatchMaxBytes and BatchMaxWait close a micro-batch.
	BatchMaxRows  int
	BatchMaxBytes int
	BatchMaxWait  time.Duration
	// QueueDepth is how many batches may wait between two stages.
	QueueDepth int
	// Writers is how many instances of the sink commit batches side by
	// side, each a process of its own; a partition is always written by
	// the same one.
	Writers int
	// MaxRestarts is how many times `etl run` restarts the pipeline's
	// plugins (after one died or hung) within RestartWindow before it
	// gives up and exits; 0 restarts nothing.
	MaxRestarts   int
	RestartWindow time.Duration
}

// Defaults of the engine settings.
const (
	DefaultBatchMaxRows = 5000
	// DefaultBatchMaxBytes holds DefaultBatchMaxRows rows of about 400
	// bytes of input each (as an Arrow batch: the raw text and the
	// columns), so that rows, not bytes, close a batch of the usual row.
	DefaultBatchMaxBytes = 2 << 20
	DefaultBatchMaxWait  = 250 * time.Millisecond
	DefaultQueueDepth    = 2
	DefaultWriters       = 1
	MaxWriters           = 16
	DefaultMaxRestarts   = 5
	DefaultRestartWindow = 10 * time.Minute
)

// Step is one plugin of the pipeline.
type Step struct {
	// Role is "source", "transforms[i]" or "sink": where the step sits.
	Role string
	// Name is the step's name, unique in the pipeline.
	Name string
	// Plugin is the plugin's name; Path an explicit executable.
	Plugin string
	Path   string
	// Env names variables of etl's environment the plugin process gets
	// beyond the allowlist (the step's `env:` list).
	Env []string
	// Config is the step's `config:` block as YAML, env-expanded.
	Config []byte
	// node is the config block, for locating the plugin's own errors.
	node *yaml.Node
	// at is where the step is declared; keys its values by key.
	at   *yaml.Node
	keys map[string]*yaml.Node
	// broken says the step's own keys have mistakes that leave it with
	// no plugin to start or no config to give it.
	broken bool
}

// Usable says whether the step names a plugin and has a config block that
// can be given to it, so that a file with mistakes elsewhere can still
// have this step's plugin check its config (etl validate reports every
// mistake at once).
func (st *Step) Usable() bool { return !st.broken && (st.Plugin != "" || st.Path != "") }

// LocateKey returns the file:line:col of one of the step's own keys, e.g.
// "plugin", at its value; at the step when the key is not there.
func (s *Spec) LocateKey(st *Step, key string) Error {
	e := Error{File: s.File, Path: st.Role + "." + key}
	n := st.at
	if v, ok := st.keys[key]; ok {
		n = v
	}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

// Error is one mistake in a pipeline file.
type Error struct {
	File      string
	Line, Col int
	// Path is the key path, e.g. "sink.config.batch.max_rows".
	Path string
	Msg  string
	// Err, when set, is the failure the mistake reports (a plugin that
	// died as it started, say), so that errors.As finds it.
	Err error
}

// Unwrap returns e.Err.
func (e Error) Unwrap() error { return e.Err }

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every mistake found in one file.
type Errors []Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the failures the mistakes of es report, for errors.Is
// and errors.As.
func (es Errors) Unwrap() []error {
	var errs []error
	for _, e := range es {
		if e.Err != nil {
			errs = append(errs, e.Err)
		}
	}
	return errs
}

// Merge adds the mistakes of more that do not follow from one already in
// es: one at a key path es has a mistake at, or under it (a plugin saying
// `dsn` is required when the file already said ${DATABASE_URL} is unset
// there).
func (es *Errors) Merge(more Errors) {
	have := *es
	for _, e := range more {
		covered := false
		for _, h := range have {
			if h.Path != "" && (e.Path == h.Path || strings.HasPrefix(e.Path, h.Path+".") || strings.HasPrefix(e.Path, h.Path+"[")) {
				covered = true
				break
			}
		}
		if !covered {
			*es = append(*es, e)
		}
	}
}

// Sort orders es as they appear in the file (by line, then column); those
// without a position come first.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Col < es[j].Col
	})
}

// Load reads and validates the pipeline file at path, expanding ${VAR} and
// ${VAR:-default} from the environment.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse validates a pipeline file's contents; file names it in errors and
// lookup resolves environment variables. A file with mistakes gives
// Errors and, when it was YAML at all, the Spec as far as it could be
// read too (its steps' Usable says which can still be checked); such a
// Spec is for reporting more mistakes, never for running.
func Parse(file string, data []byte, lookup func(string) (string, bool)) (*Spec, error) {
	p := &parser{file: file, lookup: lookup}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{p.yamlSyntaxError(err)}
	}
	if len(doc.Content) == 0 {
		return nil, Errors{{File: file, Msg: "empty pipeline file"}}
	}
	s := p.spec(doc.Content[0])
	if len(p.errs) > 0 {
		return s, p.errs
	}
	return s, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) yamlSyntaxError(err error) Error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Error{File: p.file, Line: line, Col: 1, Msg: "invalid YAML: " + m[2]}
	}
	return Error{File: p.file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

type parser struct {
	file   string
	lookup func(string) (string, bool)
	errs   Errors
}

func (p *parser) errorf(n *yaml.Node, path, format string, args ...any) {
	e := Error{File: p.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

// fields checks that n is a mapping with only the allowed keys and returns
// its values and key nodes by key.
func (p *parser) fields(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, map[string]*yaml.Node) {
	vals, keys := map[string]*yaml.Node{}, map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a mapping")
		return vals, keys
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := join(path, k.Value)
		if !contains(allowed, k.Value) {
			p.errorf(k, kp, "unknown key (allowed here: %s)", strings.Join(allowed, ", "))
			continue
		}
		if _, dup := vals[k.Value]; dup {
			p.errorf(k, kp, "key given twice")
			continue
		}
		vals[k.Value], keys[k.Value] = v, k
	}
	return vals, keys
}

func (p *parser) spec(root *yaml.Node) *Spec {
	s := &Spec{File: p.file}
	f, _ := p.fields(root, "", "version", "name", "engine", "source", "transforms", "sink")
	if root.Kind != yaml.MappingNode {
		return s
	}
	if v, ok := f["version"]; ok {
		s.Version = p.integer(v, "version")
		if s.Version != 1 && s.Version != 0 {
			p.errorf(v, "version", "unsupported version %d (this etl reads version 1)", s.Version)
		}
	} else {
		p.errorf(root, "version", "missing (write `version: 1`)")
	}
	if v, ok := f["name"]; ok {
		s.Name = p.scalar(v, "name")
		if s.Name != "" && !nameRE.MatchString(s.Name) {
			p.errorf(v, "name", "%q: use letters, digits, '-', '_' and '.'", s.Name)
		}
	} else {
		p.errorf(root, "name", "missing: the pipeline needs a name (it keys its checkpoints)")
	}
	s.Engine = p.engine(f["engine"])
	if v, ok := f["source"]; ok {
		s.Source = p.step(v, "source", "source")
	} else {
		p.errorf(root, "source", "missing")
	}
	if v, ok := f["transforms"]; ok && !isNull(v) {
		if v.Kind != yaml.SequenceNode {
			p.errorf(v, "transforms", "must be a list")
		} else {
			for i, item := range v.Content {
				role := fmt.Sprintf("transforms[%d]", i)
				s.Transforms = append(s.Transforms, p.step(item, role, ""))
			}
		}
	}
	if v, ok := f["sink"]; ok {
		s.Sink = p.step(v, "sink", "sink")
	} else {
		p.errorf(root, "sink", "missing")
	}
	seen := map[string]string{}
	for _, st := range s.Steps() {
		if st.Name == "" {
			continue
		}
		if other, dup := seen[st.Name]; dup {
			p.errorf(st.at, st.Role+".name", "name %q is already used by %s", st.Name, other)
		}
		seen[st.Name] = st.Role
	}
	return s
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are set for a plugin by etl and go-plugin themselves.
var reservedEnv = map[string]bool{
	"ETL_BUNDLED_PLUGIN": true, "ETL_PLUGIN_LOG_LEVEL": true, "ETL_PLUGIN_MAGIC_COOKIE": true,
	"PLUGIN_UNIX_SOCKET_DIR": true, "PLUGIN_UNIX_SOCKET_GROUP": true, "PLUGIN_PROTOCOL_VERSIONS": true,
	"PLUGIN_MIN_PORT": true, "PLUGIN_MAX_PORT": true, "PLUGIN_CLIENT_CERT": true, "PLUGIN_MULTIPLEX_GRPC": true,
}

// envNames reads a step's `env:` list: names of environment variables,
// written as they are (no ${...}: the plugin gets the variable itself).
func (p *parser) envNames(n *yaml.Node, path string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, path, "must be a list of environment variable names, e.g. [AWS_PROFILE, PGSSLROOTCERT]")
		return nil
	}
	var names []string
	seen := map[string]bool{}
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind != yaml.ScalarNode {
			p.errorf(item, ip, "must be a variable name")
			continue
		}
		name := item.Value
		switch {
		case !envNameRE.MatchString(name):
			p.errorf(item, ip, "%q is not an environment variable name (letters, digits and '_', not starting with a digit; no ${...}: name the variable itself)", name)
		case reservedEnv[name]:
			p.errorf(item, ip, "%s is set by etl itself for every plugin", name)
		case seen[name]:
			p.errorf(item, ip, "%s is listed twice", name)
		default:
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

// Steps returns the source, the transforms and the sink, in order.
func (s *Spec) Steps() []*Step {
	steps := []*Step{&s.Source}
	for i := range s.Transforms {
		steps = append(steps, &s.Transforms[i])
	}
	return append(steps, &s.Sink)
}

func (p *parser) engine(n *yaml.Node) Engine {
	e := Engine{BatchMaxRows: DefaultBatchMaxRows, BatchMaxBytes: DefaultBatchMaxBytes, BatchMaxWait: DefaultBatchMaxWait, QueueDepth: DefaultQueueDepth, Writers: DefaultWriters,
		MaxRestarts: DefaultMaxRestarts, RestartWindow: DefaultRestartWindow}
	if n == nil || isNull(n) {
		return e
	}
	f, _ := p.fields(n, "engine", "batch", "queue_depth", "writers", "max_restarts", "restart_window")
	if b, ok := f["batch"]; ok {
		bf, _ := p.fields(b, "engine.batch", "max_rows", "max_bytes", "max_wait")
		if v, ok := bf["max_rows"]; ok {
			e.BatchMaxRows = p.positive(v, "engine.batch.max_rows")
		}
		if v, ok := bf["max_bytes"]; ok {
			e.BatchMaxBytes = p.size(v, "engine.batch.max_bytes")
		}
		if v, ok := bf["max_wait"]; ok {
			e.BatchMaxWait = p.duration(v, "engine.batch.max_wait")
		}
	}
	if v, ok := f["queue_depth"]; ok {
		e.QueueDepth = p.positive(v, "engine.queue_depth")
	}
	if v, ok := f["writers"]; ok {
		if e.Writers = p.positive(v, "engine.writers"); e.Writers > MaxWriters {
			p.errorf(v, "engine.writers", "must be at most %d", MaxWriters)
		}
	}
	if v, ok := f["max_restarts"]; ok {
		if e.MaxRestarts = p.integer(v, "engine.max_restarts"); e.MaxRestarts < 0 {
			p.errorf(v, "engine.max_restarts", "must be >= 0 (0: never restart)")
		}
	}
	if v, ok := f["restart_window"]; ok {
		e.RestartWindow = p.duration(v, "engine.restart_window")
	}
	return e
}

func (p *parser) step(n *yaml.Node, role, defaultName string) Step {
	st := Step{Role: role, Name: defaultName, at: n}
	before := len(p.errs)
	f, _ := p.fields(n, role, "name", "plugin", "path", "env", "config")
	st.keys = f
	if n.Kind != yaml.MappingNode {
		st.broken = true
		return st
	}
	if v, ok := f["name"]; ok {
		st.Name = p.scalar(v, role+".name")
		if st.Name != "" && !nameRE.MatchString(st.Name) {
			p.errorf(v, role+".name", "%q: use letters, digits, '-', '_' and '.'", st.Name)
		}
	}
	if v, ok := f["plugin"]; ok {
		st.Plugin = p.scalar(v, role+".plugin")
	}
	if v, ok := f["path"]; ok {
		st.Path = p.scalar(v, role+".path")
		if st.Path != "" && !filepath.IsAbs(st.Path) {
			// Relative to the pipeline file, never to the working
			// directory.
			st.Path = filepath.Join(filepath.Dir(p.file), st.Path)
		}
	}
	if v, ok := f["env"]; ok && !isNull(v) {
		st.Env = p.envNames(v, role+".env")
	}
	if st.Plugin == "" && st.Path == "" {
		p.errorf(n, role+".plugin", "missing: name a plugin (e.g. `plugin: csvdir`) or give its `path:`")
	}
	if st.Name == "" {
		st.Name = st.Plugin
		if st.Name == "" {
			st.Name = role
		}
	}
	if len(p.errs) > before {
		// A mistake in plugin, path or config leaves nothing to start
		// or give it; in name or env (or an unknown key) the plugin can
		// still check its config.
		for _, e := range p.errs[before:] {
			switch e.Path {
			case role + ".plugin", role + ".path", role + ".config":
				st.broken = true
			}
		}
	}
	if v, ok := f["config"]; ok && !isNull(v) {
		if v.Kind != yaml.MappingNode {
			p.errorf(v, role+".config", "must be a mapping")
			st.broken = true
		} else {
			p.expandTree(v, role+".config")
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(v); err != nil {
				p.errorf(v, role+".config", "cannot re-encode: %v", err)
			}
			st.Config = buf.Bytes()
			st.node = v
		}
	}
	return st
}

// Locate returns the file:line:col of path inside the step's config block
// (a plugin's error path, like "batch.max_rows" or "rules[2].expr"), or of
// the step itself when the path is not found.
func (s *Spec) Locate(st *Step, path string) Error {
	full := st.Role + ".config"
	if path != "" {
		full += "." + path
	}
	e := Error{File: s.File, Path: full}
	n := st.at
	if st.node != nil {
		n = st.node
		if found := findPath(st.node, path); found != nil {
			n = found
		}
	}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

var segmentRE = regexp.MustCompile(`^([^.\[\]]*)((?:\[\d+\])*)$`)

// findPath returns the node at a key path such as "a.b[2].c": the key
// node for a mapping key, the item for a list index; nil when absent.
func findPath(n *yaml.Node, path string) *yaml.Node {
	if path == "" {
		return n
	}
	var at *yaml.Node
	for _, seg := range strings.Split(path, ".") {
		m := segmentRE.FindStringSubmatch(seg)
		if m == nil {
			return nil
		}
		if m[1] != "" {
			if n.Kind != yaml.MappingNode {
				return nil
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == m[1] {
					at, next = n.Content[i], n.Content[i+1]
				}
			}
			if next == nil {
				return nil
			}
			n = next
		}
		for _, idx := range regexp.MustCompile(`\d+`).FindAllString(m[2], -1) {
			i, _ := strconv.Atoi(idx)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
			at = n
		}
	}
	return at
}

func (p *parser) scalar(n *yaml.Node, path string) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, path, "must be a single value")
		return ""
	}
	return p.expand(n, path, n.Value)
}

func (p *parser) integer(n *yaml.Node, path string) int {
	s := p.scalar(n, path)
	v, err := strconv.Atoi(s)
	if err != nil && s != "" {
		p.errorf(n, path, "%q is not a whole number", s)
	}
	return v
}

func (p *parser) positive(n *yaml.Node, path string) int {
	v := p.integer(n, path)
	if v <= 0 {
		p.errorf(n, path, "must be > 0")
	}
	return v
}

func (p *parser) duration(n *yaml.Node, path string) time.Duration {
	s := p.scalar(n, path)
	d, err := units.ParseDuration(s)
	if err != nil {
		p.errorf(n, path, "%v", err)
		return 0
	}
	if d <= 0 {
		p.errorf(n, path, "must be > 0")
	}
	return d
}

func (p *parser) size(n *yaml.Node, path string) int {
	s := p.scalar(n, path)
	v, err := units.ParseSize(s)
	if err != nil {
		p.errorf(n, path, "%v", err)
		return 0
	}
	if v <= 0 {
		p.errorf(n, path, "must be > 0")
	}
	return int(v)
}

// expandTree expands ${VAR} in every scalar under n, in place.
func (p *parser) expandTree(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		v := p.expand(n, path, n.Value)
		if v != n.Value {
			n.Value = v
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
				// A quoted-looking expansion stays text; a bare one is
				// retyped by YAML's rules (so ${N:-5} is the number 5).
				n.Tag = ""
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p.expandTree(n.Content[i+1], join(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.expandTree(c, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

var varRE = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?`)

// expand replaces ${VAR} and ${VAR:-default} in s; $$ is a literal $. An
// unset variable without a default is an error: an empty DSN or path is
// never what was meant.
func (p *parser) expand(n *yaml.Node, path, s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := varRE.FindStringSubmatch(m)
		if sub[1] == "" {
			p.errorf(n, path, "bad variable reference %q (write ${NAME} or ${NAME:-default})", m)
			return m
		}
		if v, ok := p.lookup(sub[1]); ok && v != "" {
			return v
		}
		if strings.Contains(m, ":-") {
			return sub[2]
		}
		p.errorf(n, path, "environment variable %s is not set (set it, or give a default: ${%s:-value})", sub[1], sub[1])
		return ""
	})
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

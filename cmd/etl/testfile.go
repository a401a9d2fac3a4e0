package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/spec"
)

// A test file of `etl test`: cases, each an input and what must come out
// of the pipeline's source and transforms. See testUsage for the format.
type testFile struct {
	// path is the file as named on the command line.
	path string
	// pipeline is the `pipeline:` file, resolved against the test file's
	// folder; "" when the key is absent.
	pipeline string
	cases    []*testCase
}

type testCase struct {
	name string
	line int // of the case's `name:` key
	in   caseInput
	want caseExpect
}

// caseInput is what a case feeds the source: inline lines, a file, or the
// files of a datagen manifest.
type caseInput struct {
	lines []string
	// file is a whole input file (header included), resolved.
	file string
	// header says whether lines begin with the header line: nil guesses
	// (the first line is the header when it names exactly the source's
	// columns).
	header *bool
	// datagen is a datagen manifest (resolved): its files are the input and
	// its counts and samples the expectation. dir is where its files are.
	datagen, dir string
}

// caseExpect is what must come out. Omitted rows (and row_count) mean no
// row must come out; omitted rejects (and reject_counts) no reject.
type caseExpect struct {
	rows     []wantRow
	rowsLine int // of the `rows:` key, 0 when absent
	rejects  []wantReject
	rejLine  int
	// rowCount, when >= 0, is the number of rows that must come out;
	// rejectCounts, when not nil, the rejects by error type.
	rowCount     int
	rowCountLine int
	rejectCounts map[string]int
	countsLine   int
}

// wantRow is an expected row: only the fields named are compared.
type wantRow struct {
	line   int
	fields []wantField
}

type wantField struct {
	name  string
	value string
	null  bool
	// line is the value's, col the key's.
	line, col int
}

// wantReject is an expected reject: error_type always, the rest when set.
type wantReject struct {
	line      int
	errorType string
	// field and rule: the reason names it first ("price: ..."), as the
	// cleanser's reasons do.
	field, rule    string
	reason         string
	reasonContains string
	raw            string
	step           string
	// inputLine is the line of the case's input, from 1, that was refused;
	// 0 when not checked.
	inputLine int
}

// nowRE matches the clock placeholders of test files: {{now}},
// {{now+30m}}, {{now-2h}}.
var nowRE = regexp.MustCompile(`\{\{\s*now\s*(?:([+-])\s*([0-9a-zµ.]+)\s*)?\}\}`)

// expandNow replaces the clock placeholders of s with now plus or minus
// their duration, in RFC 3339 UTC to the second.
func expandNow(s string, now time.Time) string {
	return nowRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := nowRE.FindStringSubmatch(m)
		t := now
		if sub[1] != "" {
			d, _ := time.ParseDuration(sub[2]) // checked when parsed
			if sub[1] == "-" {
				d = -d
			}
			t = t.Add(d)
		}
		return t.UTC().Truncate(time.Second).Format(time.RFC3339)
	})
}

// checkNow reports a clock placeholder whose duration does not parse.
func checkNow(s string) error {
	for _, sub := range nowRE.FindAllStringSubmatch(s, -1) {
		if sub[1] != "" {
			if _, err := time.ParseDuration(sub[2]); err != nil {
				return fmt.Errorf("%s: %q is not a duration (e.g. 30m, 2h)", sub[0], sub[2])
			}
		}
	}
	if strings.Contains(s, "{{") && !nowRE.MatchString(s) {
		return fmt.Errorf("%q: the only placeholders are {{now}}, {{now+DURATION}} and {{now-DURATION}}", s)
	}
	return nil
}

// loadTestFile reads and checks the test file at path. Every mistake is
// returned together, as spec.Errors with file:line:col.
func loadTestFile(path string) (*testFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, spec.Errors{{File: path, Msg: fmt.Sprintf("read the test file: %v", err)}}
	}
	return parseTestFile(path, data)
}

// parseTestFile checks the contents of a test file; path names it in
// errors and relative paths in it are relative to its folder.
func parseTestFile(path string, data []byte) (*testFile, error) {
	p := &testParser{file: path, dir: filepath.Dir(path)}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, spec.Errors{p.syntaxError(err)}
	}
	if len(doc.Content) == 0 {
		return nil, spec.Errors{{File: path, Msg: "empty test file: want `cases:`"}}
	}
	tf := p.testFile(doc.Content[0])
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		})
		return nil, p.errs
	}
	return tf, nil
}

var yamlErrLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *testParser) syntaxError(err error) spec.Error {
	if m := yamlErrLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return spec.Error{File: p.file, Line: line, Col: 1, Msg: "invalid YAML: " + m[2]}
	}
	return spec.Error{File: p.file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

type testParser struct {
	file, dir string
	errs      spec.Errors
}

func (p *testParser) errorf(n *yaml.Node, path, format string, args ...any) {
	e := spec.Error{File: p.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

// mapping returns the values of mapping n by key, in order, refusing keys
// not allowed and keys given twice.
func (p *testParser) mapping(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, []string) {
	vals := map[string]*yaml.Node{}
	var order []string
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a mapping")
		return vals, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := joinKey(path, k.Value)
		if allowed != nil && !slices.Contains(allowed, k.Value) {
			p.errorf(k, kp, "unknown key (allowed here: %s)", strings.Join(allowed, ", "))
			continue
		}
		if _, dup := vals[k.Value]; dup {
			p.errorf(k, kp, "key given twice")
			continue
		}
		vals[k.Value] = v
		order = append(order, k.Value)
	}
	return vals, order
}

// keyLine returns the line of key in mapping n.
func keyLine(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return n.Line
}

// keyCol returns the column of key in mapping n.
func keyCol(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Column
		}
	}
	return n.Column
}

func (p *testParser) str(n *yaml.Node, path string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, path, "must be a text")
		return ""
	}
	return n.Value
}

func (p *testParser) nonEmpty(n *yaml.Node, path string) string {
	s := p.str(n, path)
	if s == "" && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		p.errorf(n, path, "must not be empty")
	}
	return s
}

func (p *testParser) integer(n *yaml.Node, path string, min int) int {
	v, err := strconv.Atoi(p.str(n, path))
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" && (err != nil || v < min) {
		p.errorf(n, path, "%q must be an integer >= %d", n.Value, min)
		return min
	}
	return v
}

func (p *testParser) boolean(n *yaml.Node, path string) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.errorf(n, path, "must be true or false")
	}
	return b
}

// path resolves a file path written in the test file against its folder.
func (p *testParser) path(n *yaml.Node, key string) string {
	s := p.nonEmpty(n, key)
	if s == "" || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(p.dir, s)
}

func (p *testParser) testFile(root *yaml.Node) *testFile {
	tf := &testFile{path: p.file}
	f, _ := p.mapping(root, "", "pipeline", "cases")
	if v, ok := f["pipeline"]; ok {
		tf.pipeline = p.path(v, "pipeline")
	}
	v, ok := f["cases"]
	if !ok {
		if root.Kind == yaml.MappingNode {
			p.errorf(root, "cases", "required: the list of test cases")
		}
		return tf
	}
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		p.errorf(v, "cases", "must be a list of cases, each with name, input and expect")
		return tf
	}
	names := map[string]int{}
	for i, n := range v.Content {
		c := p.testCase(n, fmt.Sprintf("cases[%d]", i))
		if c.name != "" {
			if line, dup := names[c.name]; dup {
				p.errorf(n, fmt.Sprintf("cases[%d].name", i), "case %q is also at line %d: names must be unique", c.name, line)
			}
			names[c.name] = c.line
		}
		tf.cases = append(tf.cases, c)
	}
	return tf
}

func (p *testParser) testCase(n *yaml.Node, path string) *testCase {
	c := &testCase{line: n.Line, want: caseExpect{rowCount: -1}}
	f, _ := p.mapping(n, path, "name", "input", "expect")
	if n.Kind != yaml.MappingNode {
		return c
	}
	if v, ok := f["name"]; ok {
		c.name = p.nonEmpty(v, path+".name")
		c.line = v.Line
	} else {
		p.errorf(n, path+".name", "required: what the case checks, e.g. \"action aliases map to VIEW\"")
	}
	if v, ok := f["input"]; ok {
		c.in = p.input(v, path+".input")
	} else {
		p.errorf(n, path+".input", "required: lines, file or datagen")
	}
	v, hasExpect := f["expect"]
	switch {
	case c.in.datagen != "" && hasExpect:
		p.errorf(v, path+".expect", "not with input.datagen: the manifest is the expectation")
	case c.in.datagen == "" && !hasExpect:
		p.errorf(n, path+".expect", "required: rows and rejects (omitted ones mean none), row_count or reject_counts")
	case hasExpect:
		c.want = p.expect(v, path+".expect")
	}
	return c
}

func (p *testParser) input(n *yaml.Node, path string) caseInput {
	var in caseInput
	f, order := p.mapping(n, path, "lines", "file", "header", "datagen", "dir")
	sources := 0
	for _, k := range order {
		if k == "lines" || k == "file" || k == "datagen" {
			sources++
		}
	}
	if n.Kind == yaml.MappingNode && sources != 1 {
		p.errorf(n, path, "give exactly one of lines, file or datagen")
	}
	if v, ok := f["lines"]; ok {
		switch v.Kind {
		case yaml.ScalarNode:
			text := p.str(v, path+".lines")
			in.lines = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		case yaml.SequenceNode:
			for i, l := range v.Content {
				in.lines = append(in.lines, p.str(l, fmt.Sprintf("%s.lines[%d]", path, i)))
			}
		default:
			p.errorf(v, path+".lines", "must be a text (one CSV line a line) or a list of lines")
		}
		for _, l := range in.lines {
			if err := checkNow(l); err != nil {
				p.errorf(v, path+".lines", "%v", err)
			}
		}
	}
	if v, ok := f["file"]; ok {
		in.file = p.path(v, path+".file")
	}
	if v, ok := f["header"]; ok {
		if _, lines := f["lines"]; !lines {
			p.errorf(v, path+".header", "only with lines (a file is taken as it is)")
		}
		b := p.boolean(v, path+".header")
		in.header = &b
	}
	if v, ok := f["datagen"]; ok {
		in.datagen = p.path(v, path+".datagen")
	}
	if v, ok := f["dir"]; ok {
		if in.datagen == "" {
			p.errorf(v, path+".dir", "only with datagen")
		}
		in.dir = p.path(v, path+".dir")
	}
	return in
}

func (p *testParser) expect(n *yaml.Node, path string) caseExpect {
	e := caseExpect{rowCount: -1}
	f, _ := p.mapping(n, path, "rows", "rejects", "row_count", "reject_counts")
	if v, ok := f["rows"]; ok {
		e.rowsLine = keyLine(n, "rows")
		if v.Kind != yaml.SequenceNode {
			p.errorf(v, path+".rows", "must be a list of rows, each a mapping of field: value")
		}
		for i, r := range v.Content {
			e.rows = append(e.rows, p.row(r, fmt.Sprintf("%s.rows[%d]", path, i)))
		}
	}
	if v, ok := f["rejects"]; ok {
		e.rejLine = keyLine(n, "rejects")
		if v.Kind != yaml.SequenceNode {
			p.errorf(v, path+".rejects", "must be a list of rejects, each with error_type")
		}
		for i, r := range v.Content {
			e.rejects = append(e.rejects, p.reject(r, fmt.Sprintf("%s.rejects[%d]", path, i)))
		}
	}
	if v, ok := f["row_count"]; ok {
		e.rowCount = p.integer(v, path+".row_count", 0)
		e.rowCountLine = v.Line
		if e.rowsLine > 0 && e.rowCount != len(e.rows) {
			p.errorf(v, path+".row_count", "%d, but rows lists %d", e.rowCount, len(e.rows))
		}
	}
	if v, ok := f["reject_counts"]; ok {
		e.countsLine = v.Line
		e.rejectCounts = map[string]int{}
		m, order := p.mapping(v, path+".reject_counts")
		for _, k := range order {
			e.rejectCounts[k] = p.integer(m[k], path+".reject_counts."+k, 0)
		}
	}
	return e
}

func (p *testParser) row(n *yaml.Node, path string) wantRow {
	r := wantRow{line: n.Line}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a mapping of field: value, e.g. {user_id: 1, action: VIEW}")
		return r
	}
	m, order := p.mapping(n, path)
	for _, k := range order {
		v := m[k]
		wf := wantField{name: k, line: v.Line, col: keyCol(n, k)}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			wf.null = true
		case v.Kind == yaml.ScalarNode:
			wf.value = v.Value
			if err := checkNow(v.Value); err != nil {
				p.errorf(v, path+"."+k, "%v", err)
			}
		default:
			p.errorf(v, path+"."+k, "must be a value (null for null)")
		}
		r.fields = append(r.fields, wf)
	}
	return r
}

func (p *testParser) reject(n *yaml.Node, path string) wantReject {
	r := wantReject{line: n.Line}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "must be a mapping, e.g. {error_type: MISSING_REQUIRED, field: user_id}")
		return r
	}
	f, _ := p.mapping(n, path, "error_type", "field", "rule", "reason", "reason_contains", "raw", "step", "line")
	if v, ok := f["error_type"]; ok {
		r.errorType = p.nonEmpty(v, path+".error_type")
	} else {
		p.errorf(n, path+".error_type", "required, e.g. MISSING_REQUIRED")
	}
	if v, ok := f["field"]; ok {
		r.field = p.nonEmpty(v, path+".field")
	}
	if v, ok := f["rule"]; ok {
		r.rule = p.nonEmpty(v, path+".rule")
		if r.field != "" {
			p.errorf(v, path+".rule", "give field or rule, not both: a reason names one of them")
		}
	}
	if v, ok := f["reason"]; ok {
		r.reason = p.str(v, path+".reason")
	}
	if v, ok := f["reason_contains"]; ok {
		r.reasonContains = p.nonEmpty(v, path+".reason_contains")
	}
	if v, ok := f["raw"]; ok {
		r.raw = p.str(v, path+".raw")
	}
	if v, ok := f["step"]; ok {
		r.step = p.nonEmpty(v, path+".step")
	}
	if v, ok := f["line"]; ok {
		r.inputLine = p.integer(v, path+".line", 1)
	}
	return r
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

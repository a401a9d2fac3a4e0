package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/core/spec"
)

const testUsage = `Usage: etl test PIPELINE [TESTFILE...] [flags]

Runs the pipeline's source and transforms, the real plugin processes as etl run starts
them, on the examples of each TESTFILE and compares what comes out with what is expected.
The sink is never started: no database is needed. Without TESTFILE it runs the test file
beside PIPELINE: configs/x.yaml -> configs/x.test.yaml. A test file's pipeline: key, when
set, names the pipeline it tests instead of PIPELINE.

Each case runs on its own: the source reads the case's input from a fresh temporary
folder (its path, archive and quarantine folders are replaced; nothing else is touched),
to its end, and every batch goes through the transforms in order.

Test file:
  pipeline: ecommerce.yaml        # optional, relative to the test file
  cases:
    - name: action aliases map to VIEW
      input:
        lines: |                  # CSV lines as the source reads them; a list of strings works too
          1,Page View,2,Mug,3.50,2024-03-01T14:05:09Z,s1
        # header: false           # the source's header line is put first when the source has
                                  # header: true and the first line is not already it
        # file: events.csv        # or a whole file, as it is (relative to the test file)
        # datagen: ../data/x/datagen-manifest.json   # or the files datagen wrote (its manifest
                                  # is the expectation: counts by error type, sampled rows)
        # dir: ../data/x/events   # where those files are (default: the folder named as the
                                  # manifest's dir, beside the manifest)
      expect:
        rows:                     # in order; only the fields named are compared
          - {user_id: 1, action: VIEW, price: 3.50, session_id: s1, product_name: null}
        rejects:                  # in order; error_type is required, the rest optional
          - {error_type: MISSING_REQUIRED, field: user_id, line: 2}
            # rule: NAME, reason: TEXT, reason_contains: TEXT, raw: LINE, step: STEP
        # row_count: 192          # instead of, or besides, rows
        # reject_counts: {CSV_PARSE_ERROR: 1, RULE_VIOLATION: 2}
An omitted rows (and row_count) means no row may come out; an omitted rejects (and
reject_counts) that no row may be refused. Values are compared by the field's type: 3.5
equals 3.50 for a decimal, 2024-03-01T16:05:09+02:00 equals 2024-03-01T14:05:09Z; null (YAML
null or ~) is null. field: NAME and rule: NAME say the reason names it first ("price: ...").
line: N is the N-th line of the input (not counting a header put first). {{now}},
{{now+30m}} and {{now-2h}} in lines and values are the time the case starts (RFC 3339 UTC).

A failing case prints each difference as
  FILE:LINE: case "NAME": row 1: action: want "VIEW", got "UNKNOWN" (input line 1)
then everything the case got. Exit status: 0 every case passed, 1 a case failed (or the
pipeline is invalid), 2 usage or a bad test file (each mistake as file:line:col), or no test
file found beside PIPELINE.`

// caseTimeout bounds one case: starting the plugins, reading, transforming.
const caseTimeout = time.Minute

func cmdTest(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("test", testUsage, stdout, stderr)
	c := &common{}
	c.register(fs)
	// Plugins' INFO lines would drown the results.
	ll := fs.Lookup("log-level")
	ll.DefValue = "warn"
	_ = ll.Value.Set("warn")
	runRE := fs.String("run", "", "run only the cases whose name matches this regular expression")
	verbose := fs.Bool("v", false, "list every case with PASS or FAIL, not only the failures")
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "etl test: want a PIPELINE file, then any TESTFILEs (etl test --help)")
		return 2
	}
	var filter *regexp.Regexp
	if *runRE != "" {
		if filter, err = regexp.Compile(*runRE); err != nil {
			fmt.Fprintf(stderr, "etl test: --run: %v\n", err)
			return 2
		}
	}
	log, err := c.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "etl test: %v\n", err)
		return 2
	}
	pipeline, testPaths := pos[0], pos[1:]
	if strings.HasSuffix(pipeline, ".test.yaml") || strings.HasSuffix(pipeline, ".test.yml") {
		fmt.Fprintf(stderr, "etl test: %s is a test file: name the pipeline first (etl test PIPELINE [TESTFILE...])\n", pipeline)
		return 2
	}
	if len(testPaths) == 0 {
		def := defaultTestFile(pipeline)
		if _, err := os.Stat(def); err != nil {
			fmt.Fprintf(stderr, "etl test: no test file for %s: %s does not exist (write one, see etl test --help, or name TESTFILEs)\n", pipeline, def)
			return 2
		}
		testPaths = []string{def}
	}

	// Every test file is checked before any case runs.
	var files []*testFile
	var bad spec.Errors
	for _, p := range testPaths {
		tf, err := loadTestFile(p)
		if err != nil {
			var es spec.Errors
			if errors.As(err, &es) {
				bad = append(bad, es...)
				continue
			}
			fmt.Fprintln(stderr, err)
			return 2
		}
		files = append(files, tf)
	}
	if len(bad) > 0 {
		fmt.Fprintln(stderr, bad)
		return 2
	}

	code := 0
	for _, tf := range files {
		path := pipeline
		if tf.pipeline != "" {
			path = tf.pipeline
		}
		r := &testRun{file: tf, c: c, log: log, stdout: stdout, stderr: stderr, filter: filter, verbose: *verbose}
		code = max(code, r.run(path))
	}
	return code
}

// defaultTestFile is the test file beside a pipeline file:
// configs/x.yaml -> configs/x.test.yaml.
func defaultTestFile(pipeline string) string {
	ext := filepath.Ext(pipeline)
	return strings.TrimSuffix(pipeline, ext) + ".test" + ext
}

// testRun runs the cases of one test file.
type testRun struct {
	file           *testFile
	c              *common
	log            *slog.Logger
	stdout, stderr io.Writer
	filter         *regexp.Regexp
	verbose        bool
}

// sourceShape is what etl test needs to know of the source's config to
// write a case's lines as a file it reads: csvdir's keys.
type sourceShape struct {
	Header    *bool    `yaml:"header"`
	Columns   []string `yaml:"columns"`
	Delimiter string   `yaml:"delimiter"`
	Pattern   string   `yaml:"pattern"`
}

func (r *testRun) run(pipelinePath string) int {
	s, err := spec.Load(pipelinePath)
	if err != nil {
		fmt.Fprintln(r.stderr, err)
		return 1
	}
	r.c.file = s.File
	var shape sourceShape
	_ = yaml.Unmarshal(s.Source.Config, &shape) // the source checks its config itself
	if shape.Header == nil {
		t := true
		shape.Header = &t
	}
	if shape.Delimiter == "" {
		shape.Delimiter = ","
	}
	if shape.Pattern == "" {
		shape.Pattern = "*.csv"
	}

	fmt.Fprintf(r.stdout, "%s: testing %s\n", r.file.path, s.File)
	passed, failed, skipped := 0, 0, 0
	var bad spec.Errors
	for _, tc := range r.file.cases {
		if r.filter != nil && !r.filter.MatchString(tc.name) {
			skipped++
			continue
		}
		fails, caseBad, err := r.runCase(s, shape, tc)
		var es spec.Errors
		if errors.As(err, &es) {
			// The pipeline itself is wrong: every case would fail alike.
			fmt.Fprintln(r.stderr, es)
			return 1
		}
		if err != nil {
			fails = append(fails, fmt.Sprintf("%s:%d: case %q: %v", r.file.path, tc.line, tc.name, err))
		}
		bad = append(bad, caseBad...)
		if len(fails) == 0 && len(caseBad) == 0 {
			passed++
			if r.verbose {
				fmt.Fprintf(r.stdout, "PASS  %s\n", tc.name)
			}
			continue
		}
		failed++
		fmt.Fprintf(r.stdout, "FAIL  %s (%s:%d)\n", tc.name, r.file.path, tc.line)
		for _, f := range fails {
			fmt.Fprintf(r.stdout, "    %s\n", strings.ReplaceAll(f, "\n", "\n    "))
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(r.stderr, bad)
	}
	summary := fmt.Sprintf("%s: %d passed, %d failed", r.file.path, passed, failed)
	if skipped > 0 {
		summary += fmt.Sprintf(", %d not run (--run)", skipped)
	}
	fmt.Fprintln(r.stdout, summary)
	switch {
	case len(bad) > 0:
		return 2
	case failed > 0:
		return 1
	}
	return 0
}

// runCase runs one case and returns its differences (each a line, the
// last ones listing what the case got) and the mistakes of the test file
// that the output revealed. An error is the case not running; a
// spec.Errors one the pipeline being invalid.
func (r *testRun) runCase(s *spec.Spec, shape sourceShape, tc *testCase) ([]string, spec.Errors, error) {
	now := time.Now()
	files, headerAdded, man, err := caseFiles(tc.in, shape, now)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	res, err := engine.Sample(ctx, s, r.c.host(), r.log, files)
	if err != nil {
		return nil, nil, err
	}
	out := newCaseOutput(res, files, headerAdded)
	k := &checker{file: r.file.path, c: tc, now: now}
	if man != nil {
		k.manifest(out, man)
	} else {
		k.check(out)
	}
	if len(k.fails) > 0 {
		k.fails = append(k.fails, describeOutput(out, 20)...)
	}
	return k.fails, k.bad, nil
}

// caseFiles makes the files a case feeds the source: its lines as one file
// (a header line put first when the source wants one and the lines do not
// start with it), its file, or the files of its datagen manifest (then
// returned too).
func caseFiles(in caseInput, shape sourceShape, now time.Time) ([]engine.SampleFile, bool, *datagenManifest, error) {
	switch {
	case in.datagen != "":
		m, err := readDatagenManifest(in.datagen)
		if err != nil {
			return nil, false, nil, err
		}
		dir := in.dir
		if dir == "" {
			dir = filepath.Join(filepath.Dir(in.datagen), filepath.Base(filepath.Clean(m.Dir)))
		}
		var files []engine.SampleFile
		for _, name := range m.Files {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, false, nil, fmt.Errorf("a file of the datagen manifest %s: %w", in.datagen, err)
			}
			files = append(files, engine.SampleFile{Name: name, Data: data})
		}
		return files, false, m, nil
	case in.file != "":
		data, err := os.ReadFile(in.file)
		if err != nil {
			return nil, false, nil, fmt.Errorf("read the input file: %w", err)
		}
		name := filepath.Base(in.file)
		if ok, _ := filepath.Match(shape.Pattern, name); !ok {
			name = sampleName(shape.Pattern)
		}
		return []engine.SampleFile{{Name: name, Data: data}}, false, nil, nil
	}
	lines := make([]string, len(in.lines))
	for i, l := range in.lines {
		lines[i] = expandNow(l, now)
	}
	add := false
	if *shape.Header && len(shape.Columns) > 0 {
		if in.header != nil {
			add = !*in.header
		} else {
			add = len(lines) == 0 || !isHeader(lines[0], shape)
		}
	}
	if add {
		lines = append([]string{strings.Join(shape.Columns, shape.Delimiter)}, lines...)
	}
	data := strings.Join(lines, "\n") + "\n"
	return []engine.SampleFile{{Name: sampleName(shape.Pattern), Data: []byte(data)}}, add, nil, nil
}

// isHeader reports whether line names exactly the source's columns, in
// any order, as csvdir accepts a header.
func isHeader(line string, shape sourceShape) bool {
	names := strings.Split(line, shape.Delimiter)
	if len(names) != len(shape.Columns) {
		return false
	}
	for _, n := range names {
		if !slices.Contains(shape.Columns, strings.Trim(strings.TrimSpace(n), `"`)) {
			return false
		}
	}
	return true
}

// sampleName is a file name the source's pattern matches.
func sampleName(pattern string) string {
	name := strings.NewReplacer("*", "etl-test", "?", "x").Replace(pattern)
	if ok, _ := filepath.Match(pattern, name); ok && !strings.ContainsAny(name, `[\`) {
		return name
	}
	return "etl-test.csv"
}

// datagenManifest is the part of datagen's manifest (cmd/datagen/events
// Manifest) that etl test reads.
type datagenManifest struct {
	Dir      string          `json:"dir"`
	Files    []string        `json:"files"`
	Accepted int             `json:"accepted"`
	Rejects  map[string]int  `json:"rejects"`
	Samples  []datagenSample `json:"samples"`
}

type datagenSample struct {
	File string `json:"file"`
	Line int64  `json:"line"`
	// Want is the row as it must be stored; "" is null for the nullable
	// text fields (product_name, price, session_id).
	Want map[string]any `json:"want"`
}

func readDatagenManifest(path string) (*datagenManifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the datagen manifest: %w", err)
	}
	var m datagenManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read the datagen manifest %s: %w", path, err)
	}
	return &m, nil
}

// manifest compares out with a datagen manifest: the rows accepted, the
// rejects by error type, and each sampled row field by field.
func (k *checker) manifest(out caseOutput, m *datagenManifest) {
	if len(out.rows) != m.Accepted {
		k.failf(k.c.line, "rows: want %d (the manifest's accepted), got %d", m.Accepted, len(out.rows))
	}
	k.rejectCounts(out, m.Rejects, k.c.line)
	at := map[record.Origin]engine.SampleRow{}
	for _, r := range out.rows {
		at[r.Origin] = r
	}
	for _, sm := range m.Samples {
		got, ok := at[record.Origin{Source: sm.File, Line: sm.Line}]
		if !ok {
			k.failf(k.c.line, "%s:%d: a sampled row of the manifest did not come out", sm.File, sm.Line)
			continue
		}
		for col, f := range out.schema.Fields {
			w, ok := sm.Want[f.Name]
			if !ok {
				continue
			}
			want := engine.Value{Text: fmt.Sprint(w)}
			if n, isNum := w.(float64); isNum {
				want.Text = fmt.Sprintf("%.0f", n)
			}
			if want.Text == "" && f.Nullable {
				want = engine.Value{Null: true}
			}
			if !sameValue(f, want, got.Values[col]) {
				k.failf(k.c.line, "%s:%d: %s: want %s, got %s", sm.File, sm.Line, f.Name, quoteValue(want), quoteValue(got.Values[col]))
			}
		}
	}
}

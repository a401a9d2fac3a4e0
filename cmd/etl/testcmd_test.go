package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/core/spec"
)

// The shipped test file passes against the shipped pipeline: every
// cleansing rule of configs/ecommerce.yaml does what its cases say.
func TestEcommerceTestFilePasses(t *testing.T) {
	code, stdout, stderr := etl(t, "test", "../../configs/ecommerce.yaml")
	if code != 0 {
		t.Fatalf("etl test exited %d:\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "configs/ecommerce.test.yaml: 26 passed, 0 failed") {
		t.Errorf("summary missing:\n%s", stdout)
	}
}

// The sink is never started nor configured: a sink plugin that does not
// exist, and a database that does not answer, change nothing.
func TestTestNeverStartsTheSink(t *testing.T) {
	pipeline := copyEcommerce(t, "plugin: postgres", "plugin: no-such-sink")
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/nothing?sslmode=disable")
	code, stdout, stderr := etl(t, "test", pipeline, "--run", "view aliases")
	if code != 0 || !strings.Contains(stdout, "1 passed, 0 failed") {
		t.Errorf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
}

// copyEcommerce copies the pipeline, its test file and the sample file
// they use into a temporary repository layout, with the pipeline's text
// old replaced by new, and returns the pipeline's path.
func copyEcommerce(t *testing.T, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"configs", "data/sample/datagen/events"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := []string{"configs/ecommerce.yaml", "configs/ecommerce.test.yaml", "data/sample/events-sample.csv", "data/sample/datagen/datagen-manifest.json"}
	events, _ := filepath.Glob("../../data/sample/datagen/events/*.csv")
	for _, e := range events {
		files = append(files, "data/sample/datagen/events/"+filepath.Base(e))
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "configs/ecommerce.yaml" {
			if !strings.Contains(string(data), old) {
				t.Fatalf("%s has no %q", f, old)
			}
			data = []byte(strings.Replace(string(data), old, new, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "configs/ecommerce.yaml")
}

// One alias changed in a copy of the pipeline fails the case that checks
// it, with a diff naming the test file, the case, the row and the field.
func TestChangedAliasFailsNamingCaseAndField(t *testing.T) {
	pipeline := copyEcommerce(t, "buy: PURCHASE", "buy: VIEW")
	code, stdout, stderr := etl(t, "test", pipeline)
	if code != 1 {
		t.Fatalf("etl test exited %d, want 1:\n%s\n%s", code, stdout, stderr)
	}
	testFile := filepath.Join(filepath.Dir(pipeline), "ecommerce.test.yaml")
	for _, want := range []string{
		testFile + ":",
		`case "purchase aliases map to PURCHASE": row 1: action: want "PURCHASE", got "VIEW" (input line 1)`,
		"FAIL  purchase aliases map to PURCHASE",
		"passed, 3 failed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "FAIL  view aliases") {
		t.Errorf("a case the change does not touch failed:\n%s", stdout)
	}
}

// A bad cleansing limit fails the boundary cases: the test file holds the
// pipeline to 100 characters, not 101.
func TestChangedLimitFailsTheBoundaryCase(t *testing.T) {
	pipeline := copyEcommerce(t, "max_length: 100", "max_length: 101")
	code, stdout, _ := etl(t, "test", pipeline, "--run", "product_name")
	if code != 1 || !strings.Contains(stdout, `case "product_name is refused at 101 characters and kept at 100": rows: want 2, got 4`) {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "25 not run (--run)") {
		t.Errorf("--run did not leave the other cases out:\n%s", stdout)
	}
}

func TestTestCommandUsage(t *testing.T) {
	t.Run("help goes to stdout", func(t *testing.T) {
		code, stdout, stderr := etl(t, "test", "--help")
		if code != 0 || !strings.Contains(stdout, "Usage: etl test PIPELINE [TESTFILE...]") || stderr != "" {
			t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Run("no pipeline", func(t *testing.T) {
		if code, _, stderr := etl(t, "test"); code != 2 || !strings.Contains(stderr, "want a PIPELINE") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("a test file named as the pipeline", func(t *testing.T) {
		if code, _, stderr := etl(t, "test", "../../configs/ecommerce.test.yaml"); code != 2 || !strings.Contains(stderr, "name the pipeline first") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("no test file beside the pipeline", func(t *testing.T) {
		pipeline := writeFile(t, "lonely.yaml", "name: x\n")
		code, _, stderr := etl(t, "test", pipeline)
		want := strings.TrimSuffix(pipeline, ".yaml") + ".test.yaml does not exist"
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, want 2 and %q: %s", code, want, stderr)
		}
	})
	t.Run("bad test file", func(t *testing.T) {
		tf := writeFile(t, "bad.test.yaml", "cases:\n  - name: x\n    inptu: {}\n")
		code, _, stderr := etl(t, "test", "../../configs/ecommerce.yaml", tf)
		if code != 2 || !strings.Contains(stderr, tf+":3:5: cases[0].inptu: unknown key") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("a field the output does not have", func(t *testing.T) {
		tf := writeFile(t, "x.test.yaml", "cases:\n  - name: x\n    input: {lines: ['1,view,2,Mug,,2024-03-01T14:05:09Z,s1']}\n    expect:\n      rows:\n        - {colour: red}\n")
		code, _, stderr := etl(t, "test", "../../configs/ecommerce.yaml", tf)
		if code != 2 || !strings.Contains(stderr, tf+`:6:12: case "x": row 1: no field "colour" in the pipeline's output`) {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
}

// Every mistake of a test file is listed at once, each at its line and
// column with its key path.
func TestTestFileMistakesAreListedWithPositions(t *testing.T) {
	_, err := parseTestFile("t.yaml", []byte(`pipeline: p.yaml
colour: red
cases:
  - name: dup
    input: {lines: "1,a", file: x.csv}
    expect: {rows: [{a: [1]}], rejects: [{field: a}]}
  - name: dup
    input: {lines: "{{now+soon}}"}
  - input: {datagen: m.json}
    expect: {row_count: -1}
  - name: counts
    input: {file: a.csv, header: true}
    expect: {rows: [{a: 1}], row_count: 3, reject_counts: {X: many}}
`))
	var es spec.Errors
	if err == nil {
		t.Fatal("no error")
	}
	es = err.(spec.Errors)
	want := []string{
		"t.yaml:2:1: colour: unknown key (allowed here: pipeline, cases)",
		"t.yaml:5:12: cases[0].input: give exactly one of lines, file or datagen",
		"t.yaml:6:25: cases[0].expect.rows[0].a: must be a value (null for null)",
		"t.yaml:6:42: cases[0].expect.rejects[0].error_type: required, e.g. MISSING_REQUIRED",
		`t.yaml:7:5: cases[1].name: case "dup" is also at line 4: names must be unique`,
		`t.yaml:8:20: cases[1].input.lines: {{now+soon}}: "soon" is not a duration (e.g. 30m, 2h)`,
		"t.yaml:7:5: cases[1].expect: required: rows and rejects (omitted ones mean none), row_count or reject_counts",
		"t.yaml:9:5: cases[2].name: required",
		"t.yaml:10:13: cases[2].expect: not with input.datagen: the manifest is the expectation",
		"t.yaml:12:34: cases[3].input.header: only with lines (a file is taken as it is)",
		"t.yaml:13:41: cases[3].expect.row_count: 3, but rows lists 1",
		`t.yaml:13:63: cases[3].expect.reject_counts.X: "many" must be an integer >= 0`,
	}
	got := es.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q", w)
		}
	}
	if len(es) != len(want) {
		t.Errorf("%d errors, want %d:\n%s", len(es), len(want), got)
	}
}

func TestSameValueComparesByType(t *testing.T) {
	v := func(s string) engine.Value { return engine.Value{Text: s} }
	null := engine.Value{Null: true}
	tests := []struct {
		name      string
		field     record.Field
		want, got engine.Value
		same      bool
	}{
		{"decimal trailing zero", record.Field{Type: record.Decimal, Scale: 2}, v("3.5"), v("3.50"), true},
		{"decimal differs", record.Field{Type: record.Decimal, Scale: 2}, v("3.51"), v("3.50"), false},
		{"decimal more trailing zeros", record.Field{Type: record.Decimal, Scale: 2}, v("3.500"), v("3.50"), true},
		{"timestamp other offset", record.Field{Type: record.Timestamp}, v("2024-03-01T16:05:09+02:00"), v("2024-03-01T14:05:09Z"), true},
		{"timestamp fraction", record.Field{Type: record.Timestamp}, v("2024-03-01T14:05:09Z"), v("2024-03-01T14:05:09.1Z"), false},
		{"int", record.Field{Type: record.Int64}, v("007"), v("7"), true},
		{"int not a number", record.Field{Type: record.Int64}, v("seven"), v("7"), false},
		{"string exact", record.Field{Type: record.String}, v("VIEW"), v("VIEW"), true},
		{"string case", record.Field{Type: record.String}, v("view"), v("VIEW"), false},
		{"null and null", record.Field{Type: record.String}, null, null, true},
		{"null and empty", record.Field{Type: record.String}, null, v(""), false},
		{"text null is not null", record.Field{Type: record.String}, v("null"), null, false},
		{"bool", record.Field{Type: record.Bool}, v("TRUE"), v("true"), true},
		{"float", record.Field{Type: record.Float64}, v("1e3"), v("1000"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameValue(tt.field, tt.want, tt.got); got != tt.same {
				t.Errorf("sameValue(%v, %v) = %v", tt.want, tt.got, got)
			}
		})
	}
}

// checkRows runs the row comparison of a case whose expectation is want
// against got rows of a two-field schema (id int64, action string).
func checkRows(t *testing.T, want []wantRow, got ...[2]string) []string {
	t.Helper()
	out := caseOutput{schema: record.Schema{Fields: []record.Field{{Name: "id", Type: record.Int64}, {Name: "action", Type: record.String, Nullable: true}}}}
	for i, g := range got {
		action := engine.Value{Text: g[1]}
		if g[1] == "<null>" {
			action = engine.Value{Null: true}
		}
		out.rows = append(out.rows, engine.SampleRow{Origin: record.Origin{Source: "x.csv", Line: int64(i + 1)}, Values: []engine.Value{{Text: g[0]}, action}})
	}
	k := &checker{file: "t.test.yaml", c: &testCase{name: "c", line: 1, want: caseExpect{rows: want, rowsLine: 5, rowCount: -1}}, now: time.Now()}
	k.check(out)
	if len(k.bad) > 0 {
		t.Fatalf("bad: %v", k.bad)
	}
	return k.fails
}

func wr(line int, id, action string) wantRow {
	r := wantRow{line: line, fields: []wantField{{name: "id", value: id, line: line}}}
	if action != "" {
		r.fields = append(r.fields, wantField{name: "action", value: action, line: line, null: action == "<null>"})
	}
	return r
}

func TestRowDiffs(t *testing.T) {
	tests := []struct {
		name  string
		want  []wantRow
		got   [][2]string
		fails []string
	}{
		{"same", []wantRow{wr(6, "1", "VIEW")}, [][2]string{{"1", "VIEW"}}, nil},
		{"fields not named are not compared", []wantRow{wr(6, "1", "")}, [][2]string{{"1", "VIEW"}}, nil},
		{"a field differs", []wantRow{wr(6, "1", "VIEW"), wr(7, "2", "VIEW")}, [][2]string{{"1", "VIEW"}, {"2", "UNKNOWN"}},
			[]string{`t.test.yaml:7: case "c": row 2: action: want "VIEW", got "UNKNOWN" (input line 2)`}},
		{"null wanted", []wantRow{wr(6, "1", "<null>")}, [][2]string{{"1", "VIEW"}},
			[]string{`t.test.yaml:6: case "c": row 1: action: want null, got "VIEW" (input line 1)`}},
		{"a row missing in the middle, another changed", []wantRow{wr(6, "1", "VIEW"), wr(7, "2", "VIEW"), wr(8, "3", "VIEW")}, [][2]string{{"1", "VIEW"}, {"3", "BUY"}},
			[]string{
				`t.test.yaml:5: case "c": rows: want 3, got 2`,
				`t.test.yaml:8: case "c": row 3: action: want "VIEW", got "BUY" (input line 2)`,
				`t.test.yaml:7: case "c": row 2: missing: want {id: 2, action: VIEW}`,
			}},
		{"a row not expected", []wantRow{wr(6, "2", "VIEW")}, [][2]string{{"1", "VIEW"}, {"2", "VIEW"}},
			[]string{`t.test.yaml:5: case "c": rows: want 1, got 2`, `t.test.yaml:5: case "c": 1 row(s) not expected, from input line 1`}},
		{"no rows wanted", nil, [][2]string{{"1", "VIEW"}},
			[]string{`t.test.yaml:5: case "c": rows: want 0, got 1`, `t.test.yaml:5: case "c": 1 row(s) not expected, from input line 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fails := checkRows(t, tt.want, tt.got...)
			if strings.Join(fails, "\n") != strings.Join(tt.fails, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(fails, "\n"), strings.Join(tt.fails, "\n"))
			}
		})
	}
}

func TestRejectDiffs(t *testing.T) {
	out := caseOutput{headerAdded: true, rejects: []engine.SampleReject{
		{Step: "clean", Reject: record.Reject{Origin: record.Origin{Source: "x.csv", Line: 3}, ErrorType: "MISSING_REQUIRED", Reason: "user_id: required but empty", Raw: ",view"}},
	}}
	tests := []struct {
		name string
		want wantReject
		fail string
	}{
		{"all match", wantReject{errorType: "MISSING_REQUIRED", field: "user_id", reason: "user_id: required but empty", reasonContains: "required", raw: ",view", step: "clean", inputLine: 2}, ""},
		{"error type", wantReject{errorType: "TOO_LONG"}, `reject 1: error_type: want "TOO_LONG", got "MISSING_REQUIRED" (reason "user_id: required but empty") (input line 2)`},
		{"field", wantReject{errorType: "MISSING_REQUIRED", field: "action"}, `reject 1: field: want action, got a reason that does not name it first: "user_id: required but empty"`},
		{"rule", wantReject{errorType: "MISSING_REQUIRED", rule: "ids_positive"}, `reject 1: rule: want ids_positive`},
		{"reason_contains", wantReject{errorType: "MISSING_REQUIRED", reasonContains: "null"}, `reject 1: reason_contains: want a reason containing "null"`},
		{"line, counted without the header put first", wantReject{errorType: "MISSING_REQUIRED", inputLine: 3}, `reject 1: line: want 3, got 2`},
		{"step", wantReject{errorType: "MISSING_REQUIRED", step: "source"}, `reject 1: step: want source, got clean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := &checker{file: "t.test.yaml", c: &testCase{name: "c", line: 1, want: caseExpect{rejects: []wantReject{tt.want}, rejLine: 4, rowCount: -1}}}
			k.check(out)
			got := strings.Join(k.fails, "\n")
			if tt.fail == "" && got != "" || !strings.Contains(got, tt.fail) {
				t.Errorf("got:\n%s\nwant %q", got, tt.fail)
			}
		})
	}
}

func TestCaseFilesPutTheHeaderFirstWhenMissing(t *testing.T) {
	yes, no := true, false
	shape := sourceShape{Header: &yes, Columns: []string{"a", "b"}, Delimiter: ",", Pattern: "events-*.csv"}
	tests := []struct {
		name   string
		shape  sourceShape
		in     caseInput
		data   string
		header bool
	}{
		{"added", shape, caseInput{lines: []string{"1,2"}}, "a,b\n1,2\n", true},
		{"given", shape, caseInput{lines: []string{"b, a", "1,2"}}, "b, a\n1,2\n", false},
		{"looks like one but is data", shape, caseInput{lines: []string{"a,b"}, header: &no}, "a,b\na,b\n", true},
		{"no header in the source", sourceShape{Header: &no, Columns: []string{"a", "b"}, Delimiter: ",", Pattern: "*.csv"}, caseInput{lines: []string{"1,2"}}, "1,2\n", false},
		{"other delimiter", sourceShape{Header: &yes, Columns: []string{"a", "b"}, Delimiter: ";", Pattern: "*.csv"}, caseInput{lines: []string{"1;2"}}, "a;b\n1;2\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, added, _, err := caseFiles(tt.in, tt.shape, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 1 || string(files[0].Data) != tt.data || added != tt.header {
				t.Errorf("got %q (header added %v), want %q (%v)", files[0].Data, added, tt.data, tt.header)
			}
			if ok, _ := filepath.Match(tt.shape.Pattern, files[0].Name); !ok {
				t.Errorf("file name %q does not match the pattern %q", files[0].Name, tt.shape.Pattern)
			}
		})
	}
}

func TestExpandNow(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	got := expandNow("a {{now}} b {{ now + 30m }} c {{now-2h}}", now)
	if want := "a 2026-01-02T02:04:05Z b 2026-01-02T02:34:05Z c 2026-01-02T00:04:05Z"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A case fed by datagen's files fails when they do not land as its
// manifest says: a count, or a sampled row's field.
func TestDatagenCaseFailsWhenTheManifestDisagrees(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events")
	if err := os.Mkdir(events, 0o755); err != nil {
		t.Fatal(err)
	}
	src := "../../data/sample/datagen"
	names, err := filepath.Glob(filepath.Join(src, "events", "*.csv"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no datagen files: %v", err)
	}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(events, filepath.Base(n)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(src, "datagen-manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	manifest := string(data)
	for _, r := range [][2]string{{`"accepted": 280`, `"accepted": 281`}, {`"product_name":"Zephyr Laptop Sleeve, Space Grey"`, `"product_name":"Zephyr"`}} {
		if !strings.Contains(manifest, r[0]) {
			t.Fatalf("the manifest has no %s: update this test", r[0])
		}
		manifest = strings.Replace(manifest, r[0], r[1], 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "datagen-manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "d.test.yaml")
	if err := os.WriteFile(tf, []byte("cases:\n  - name: d\n    input: {datagen: datagen-manifest.json}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := etl(t, "test", "../../configs/ecommerce.yaml", tf)
	for _, want := range []string{
		`case "d": rows: want 281 (the manifest's accepted), got 280`,
		`case "d": events-20260601T120000.000Z-000001.csv:17: product_name: want "Zephyr", got "Zephyr Laptop Sleeve, Space Grey"`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if code != 1 || t.Failed() {
		t.Errorf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
}

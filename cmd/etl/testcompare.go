package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/core/spec"
)

// caseOutput is what came out of the pipeline for one case, rows and
// rejects each in input order.
type caseOutput struct {
	schema  record.Schema
	rows    []engine.SampleRow
	rejects []engine.SampleReject
	// headerAdded says a header line was put before the case's lines, so
	// that input line n is file line n+1.
	headerAdded bool
}

// newCaseOutput orders res by input file (in files' order) and line; rows
// and rejects of one line keep their order.
func newCaseOutput(res *engine.SampleResult, files []engine.SampleFile, headerAdded bool) caseOutput {
	order := map[string]int{}
	for i, f := range files {
		order[f.Name] = i
	}
	less := func(a, b record.Origin) bool {
		if order[a.Source] != order[b.Source] {
			return order[a.Source] < order[b.Source]
		}
		return a.Line < b.Line
	}
	out := caseOutput{schema: res.Schema, rows: res.Rows, rejects: res.Rejects, headerAdded: headerAdded}
	sort.SliceStable(out.rows, func(i, j int) bool { return less(out.rows[i].Origin, out.rows[j].Origin) })
	sort.SliceStable(out.rejects, func(i, j int) bool { return less(out.rejects[i].Origin, out.rejects[j].Origin) })
	return out
}

// inputLine is the line of the case's input that origin o is.
func (o caseOutput) inputLine(line int64) int64 {
	if o.headerAdded {
		return line - 1
	}
	return line
}

// checker compares one case's output with its expectation.
type checker struct {
	file string
	c    *testCase
	now  time.Time
	// fails are the differences, each a line naming the test file, the
	// case, the row or reject and the field.
	fails []string
	// bad are mistakes of the test file found only now, with the output
	// schema: a field the output does not have.
	bad spec.Errors
}

func (k *checker) failf(line int, format string, args ...any) {
	at := k.file
	if line > 0 {
		at += ":" + strconv.Itoa(line)
	}
	k.fails = append(k.fails, fmt.Sprintf("%s: case %q: %s", at, k.c.name, fmt.Sprintf(format, args...)))
}

// check compares out with the case's expectation.
func (k *checker) check(out caseOutput) {
	w := k.c.want
	if w.rows != nil || w.rowCount < 0 {
		k.rows(out, w.rows, w.rowsLine)
	}
	if w.rowCount >= 0 && len(out.rows) != w.rowCount {
		k.failf(w.rowCountLine, "row_count: want %d, got %d", w.rowCount, len(out.rows))
	}
	if w.rejects != nil || w.rejectCounts == nil {
		k.rejects(out, w.rejects, w.rejLine)
	}
	if w.rejectCounts != nil {
		k.rejectCounts(out, w.rejectCounts, w.countsLine)
	}
}

// diff is one difference between a wanted item and the one got: the line
// of the test file it is about and what differs.
type diff struct {
	line int
	msg  string
}

func (k *checker) rows(out caseOutput, want []wantRow, line int) {
	if line == 0 {
		line = k.c.line
	}
	if len(want) != len(out.rows) {
		k.failf(line, "rows: want %d, got %d", len(want), len(out.rows))
	}
	// A field the output does not have is a mistake of the test file.
	known := make([]wantRow, len(want))
	for i, wr := range want {
		known[i] = wantRow{line: wr.line}
		for _, wf := range wr.fields {
			if out.schema.Index(wf.name) < 0 {
				k.bad = append(k.bad, spec.Error{File: k.file, Line: wf.line, Col: wf.col,
					Msg: fmt.Sprintf("case %q: row %d: no field %q in the pipeline's output (its fields: %s)", k.c.name, i+1, wf.name, strings.Join(out.schema.Names(), ", "))})
				continue
			}
			known[i].fields = append(known[i].fields, wf)
		}
	}
	diffs := func(w, g int) []diff {
		var ds []diff
		got := out.rows[g]
		for _, wf := range known[w].fields {
			col := out.schema.Index(wf.name)
			wv := wantValue(wf, k.now)
			if gv := got.Values[col]; !sameValue(out.schema.Fields[col], wv, gv) {
				ds = append(ds, diff{wf.line, fmt.Sprintf("%s: want %s, got %s", wf.name, quoteValue(wv), quoteValue(gv))})
			}
		}
		return ds
	}
	pairs, missing, extra := align(len(want), len(out.rows), diffs, func(w int) int { return len(known[w].fields) })
	for _, pr := range pairs {
		for _, d := range diffs(pr[0], pr[1]) {
			k.failf(d.line, "row %d: %s (input line %d)", pr[0]+1, d.msg, out.inputLine(out.rows[pr[1]].Origin.Line))
		}
	}
	for _, w := range missing {
		k.failf(want[w].line, "row %d: missing: want %s", w+1, describeWant(want[w]))
	}
	if len(extra) > 0 {
		var at []string
		for _, g := range extra {
			at = append(at, strconv.FormatInt(out.inputLine(out.rows[g].Origin.Line), 10))
		}
		k.failf(line, "%d row(s) not expected, from input line %s", len(extra), strings.Join(at, ", "))
	}
}

func (k *checker) rejects(out caseOutput, want []wantReject, line int) {
	if line == 0 {
		line = k.c.line
	}
	if len(want) != len(out.rejects) {
		k.failf(line, "rejects: want %d, got %d", len(want), len(out.rejects))
	}
	diffs := func(w, g int) []diff {
		wr, got := want[w], out.rejects[g]
		var ds []diff
		add := func(format string, args ...any) { ds = append(ds, diff{wr.line, fmt.Sprintf(format, args...)}) }
		if got.ErrorType != wr.errorType {
			add("error_type: want %q, got %q (reason %q)", wr.errorType, got.ErrorType, got.Reason)
		}
		if wr.field != "" && !strings.HasPrefix(got.Reason, wr.field+":") {
			add("field: want %s, got a reason that does not name it first: %q", wr.field, got.Reason)
		}
		if wr.rule != "" && !strings.HasPrefix(got.Reason, wr.rule+":") {
			add("rule: want %s, got a reason that does not name it first: %q", wr.rule, got.Reason)
		}
		if wr.reason != "" && got.Reason != wr.reason {
			add("reason: want %q, got %q", wr.reason, got.Reason)
		}
		if wr.reasonContains != "" && !strings.Contains(got.Reason, wr.reasonContains) {
			add("reason_contains: want a reason containing %q, got %q", wr.reasonContains, got.Reason)
		}
		if wr.raw != "" && got.Raw != expandNow(wr.raw, k.now) {
			add("raw: want %q, got %q", wr.raw, got.Raw)
		}
		if wr.step != "" && got.Step != wr.step {
			add("step: want %s, got %s", wr.step, got.Step)
		}
		if wr.inputLine > 0 && out.inputLine(got.Origin.Line) != int64(wr.inputLine) {
			add("line: want %d, got %d (%s, reason %q)", wr.inputLine, out.inputLine(got.Origin.Line), got.ErrorType, got.Reason)
		}
		return ds
	}
	pairs, missing, extra := align(len(want), len(out.rejects), diffs, func(w int) int { return want[w].checks() })
	for _, pr := range pairs {
		for _, d := range diffs(pr[0], pr[1]) {
			k.failf(d.line, "reject %d: %s (input line %d)", pr[0]+1, d.msg, out.inputLine(out.rejects[pr[1]].Origin.Line))
		}
	}
	for _, w := range missing {
		k.failf(want[w].line, "reject %d: missing: want %s", w+1, want[w].errorType)
	}
	if len(extra) > 0 {
		var at []string
		for _, g := range extra {
			r := out.rejects[g]
			at = append(at, fmt.Sprintf("%s at input line %d", r.ErrorType, out.inputLine(r.Origin.Line)))
		}
		k.failf(line, "%d reject(s) not expected: %s", len(extra), strings.Join(at, ", "))
	}
}

// align pairs nw wanted items with ng items got, in order, for a diff;
// diffs(w, g) lists how got item g differs from wanted item w. With as
// many of each they pair one to one. Otherwise each wanted item takes the
// next got item that matches it fully, the items skipped being not
// expected; then, between two such pairs, each wanted item left pairs with
// the got item there that differs least, as long as something of it is
// as wanted (fewer than size(w) differences), so that a changed row shows as
// its fields, not as a row missing and another not expected. It returns
// the pairs, the wanted items left (missing) and the got items left
// (extra), each in order.
func align(nw, ng int, diffs func(w, g int) []diff, size func(w int) int) (pairs [][2]int, missing, extra []int) {
	if nw == ng {
		for i := 0; i < nw; i++ {
			pairs = append(pairs, [2]int{i, i})
		}
		return pairs, nil, nil
	}
	var gapW, gapG []int
	settle := func() {
		// Pair the closest first: fewest differences, then in order.
		usedW, usedG := map[int]bool{}, map[int]bool{}
		for {
			bw, bg, fewest := -1, -1, 0
			for _, w := range gapW {
				for _, g := range gapG {
					if n := len(diffs(w, g)); !usedW[w] && !usedG[g] && n < size(w) && (bw < 0 || n < fewest) {
						bw, bg, fewest = w, g, n
					}
				}
			}
			if bw < 0 {
				break
			}
			usedW[bw], usedG[bg] = true, true
			pairs = append(pairs, [2]int{bw, bg})
		}
		for _, w := range gapW {
			if !usedW[w] {
				missing = append(missing, w)
			}
		}
		for _, g := range gapG {
			if !usedG[g] {
				extra = append(extra, g)
			}
		}
		gapW, gapG = gapW[:0], gapG[:0]
	}
	g := 0
	for w := 0; w < nw; w++ {
		found := -1
		for j := g; j < ng; j++ {
			if len(diffs(w, j)) == 0 {
				found = j
				break
			}
		}
		if found < 0 {
			gapW = append(gapW, w)
			continue
		}
		for ; g < found; g++ {
			gapG = append(gapG, g)
		}
		settle()
		pairs = append(pairs, [2]int{w, found})
		g = found + 1
	}
	for ; g < ng; g++ {
		gapG = append(gapG, g)
	}
	settle()
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	sort.Ints(missing)
	sort.Ints(extra)
	return pairs, missing, extra
}

func (k *checker) rejectCounts(out caseOutput, want map[string]int, line int) {
	got := map[string]int{}
	for _, r := range out.rejects {
		got[r.ErrorType]++
	}
	types := map[string]bool{}
	for t := range want {
		types[t] = true
	}
	for t := range got {
		types[t] = true
	}
	names := make([]string, 0, len(types))
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		if want[t] != got[t] {
			k.failf(line, "reject_counts: %s: want %d, got %d", t, want[t], got[t])
		}
	}
}

// wantValue is the value a field must have, clock placeholders expanded.
func wantValue(wf wantField, now time.Time) engine.Value {
	if wf.null {
		return engine.Value{Null: true}
	}
	return engine.Value{Text: expandNow(wf.value, now)}
}

// sameValue compares a wanted value with the value got for field f by the
// field's type, so that 3.5 is 3.50 for a decimal and
// 2024-03-01T16:05:09+02:00 is 2024-03-01T14:05:09Z; a wanted value that
// does not parse as the type is compared as text.
func sameValue(f record.Field, want, got engine.Value) bool {
	if want.Null || got.Null {
		return want.Null == got.Null
	}
	switch f.Type {
	case record.Int64:
		w, err1 := strconv.ParseInt(want.Text, 10, 64)
		g, err2 := strconv.ParseInt(got.Text, 10, 64)
		if err1 == nil && err2 == nil {
			return w == g
		}
	case record.Decimal:
		w, err1 := record.ParseDecimal(want.Text, 18, f.Scale)
		g, err2 := record.ParseDecimal(got.Text, 18, f.Scale)
		if err1 == nil && err2 == nil {
			return w == g
		}
	case record.Timestamp:
		w, err1 := time.Parse(time.RFC3339Nano, want.Text)
		g, err2 := time.Parse(time.RFC3339Nano, got.Text)
		if err1 == nil && err2 == nil {
			return w.Equal(g)
		}
	case record.Float64:
		w, err1 := strconv.ParseFloat(want.Text, 64)
		g, err2 := strconv.ParseFloat(got.Text, 64)
		if err1 == nil && err2 == nil {
			return w == g
		}
	case record.Bool:
		w, err1 := strconv.ParseBool(want.Text)
		g, err2 := strconv.ParseBool(got.Text)
		if err1 == nil && err2 == nil {
			return w == g
		}
	}
	return want.Text == got.Text
}

// quoteValue writes a value for a diff: null, or the text quoted.
func quoteValue(v engine.Value) string {
	if v.Null {
		return "null"
	}
	return strconv.Quote(v.Text)
}

// describeRow writes a row as a YAML flow mapping that can be pasted into
// a test file: {user_id: 1, action: VIEW, price: "3.50", session_id: null}.
func describeRow(s record.Schema, r engine.SampleRow) string {
	parts := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		parts[i] = f.Name + ": " + yamlScalar(f, r.Values[i])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func describeWant(r wantRow) string {
	parts := make([]string, len(r.fields))
	for i, f := range r.fields {
		if f.null {
			parts[i] = f.name + ": null"
		} else if _, err := strconv.ParseFloat(f.value, 64); err == nil || plainSafe(f.value) {
			parts[i] = f.name + ": " + f.value
		} else {
			parts[i] = f.name + ": " + strconv.Quote(f.value)
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// yamlScalar writes v as YAML reads it back as the same value of f: plain
// when that is safe, quoted otherwise.
func yamlScalar(f record.Field, v engine.Value) string {
	if v.Null {
		return "null"
	}
	switch f.Type {
	case record.Int64, record.Float64, record.Bool:
		return v.Text
	case record.Decimal:
		return strconv.Quote(v.Text) // plain 3.50 is fine for etl test, but reads as 3.5 elsewhere
	}
	if plainSafe(v.Text) {
		return v.Text
	}
	return strconv.Quote(v.Text)
}

// plainSafe reports whether s can be written as a plain YAML scalar in a
// flow mapping and read back as the same string.
func plainSafe(s string) bool {
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsAny(s, ":,{}[]#&*!|>'\"%@`\\\n\t") || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "?") {
		return false
	}
	switch strings.ToLower(s) {
	case "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n":
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return false
	}
	return true
}

// describeOutput lists what came out, for a failing case: every row and
// reject, at most limit of each.
func describeOutput(out caseOutput, limit int) []string {
	var lines []string
	if len(out.rows) == 0 {
		lines = append(lines, "got no rows")
	} else {
		lines = append(lines, fmt.Sprintf("got %d row(s):", len(out.rows)))
	}
	for i, r := range out.rows {
		if i == limit {
			lines = append(lines, fmt.Sprintf("  ... %d more", len(out.rows)-limit))
			break
		}
		lines = append(lines, fmt.Sprintf("  %d (input line %d): %s", i+1, out.inputLine(r.Origin.Line), describeRow(out.schema, r)))
	}
	if len(out.rejects) == 0 {
		lines = append(lines, "got no rejects")
	} else {
		lines = append(lines, fmt.Sprintf("got %d reject(s):", len(out.rejects)))
	}
	for i, r := range out.rejects {
		if i == limit {
			lines = append(lines, fmt.Sprintf("  ... %d more", len(out.rejects)-limit))
			break
		}
		lines = append(lines, fmt.Sprintf("  %d (input line %d): {error_type: %s, step: %s, reason: %q}", i+1, out.inputLine(r.Origin.Line), r.ErrorType, r.Step, r.Reason))
	}
	return lines
}

// checks counts what a wanted reject checks: its error type and each key
// set.
func (r wantReject) checks() int {
	n := 1
	for _, set := range []bool{r.field != "", r.rule != "", r.reason != "", r.reasonContains != "", r.raw != "", r.step != "", r.inputLine > 0} {
		if set {
			n++
		}
	}
	return n
}

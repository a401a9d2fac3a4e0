package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"etl/core/engine"
	"etl/core/record"
	"etl/core/spec"
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

func (k *checker) rows(out caseOutput, want []wantRow, line int) {
	if line == 0 {
		line = k.c.line
	}
	if len(want) != len(out.rows) {
		k.failf(line, "rows: want %d, got %d", len(want), len(out.rows))
	}
	for i, wr := range want {
		if i >= len(out.rows) {
			k.failf(wr.line, "row %d: missing: want %s", i+1, describeWant(wr))
			continue
		}
		got := out.rows[i]
		for _, wf := range wr.fields {
			col := out.schema.Index(wf.name)
			if col < 0 {
				k.bad = append(k.bad, spec.Error{File: k.file, Line: wf.line, Col: wf.col,
					Msg: fmt.Sprintf("case %q: row %d: no field %q in the pipeline's output (its fields: %s)", k.c.name, i+1, wf.name, strings.Join(out.schema.Names(), ", "))})
				continue
			}
			wv := wantValue(wf, k.now)
			if gv := got.Values[col]; !sameValue(out.schema.Fields[col], wv, gv) {
				k.failf(wf.line, "row %d: %s: want %s, got %s (input line %d)", i+1, wf.name, quoteValue(wv), quoteValue(gv), out.inputLine(got.Origin.Line))
			}
		}
	}
	for i := len(want); i < len(out.rows); i++ {
		r := out.rows[i]
		k.failf(line, "row %d: not expected: got %s (input line %d)", i+1, describeRow(out.schema, r), out.inputLine(r.Origin.Line))
	}
}

func (k *checker) rejects(out caseOutput, want []wantReject, line int) {
	if line == 0 {
		line = k.c.line
	}
	if len(want) != len(out.rejects) {
		k.failf(line, "rejects: want %d, got %d", len(want), len(out.rejects))
	}
	for i, wr := range want {
		if i >= len(out.rejects) {
			k.failf(wr.line, "reject %d: missing: want %s", i+1, wr.errorType)
			continue
		}
		got := out.rejects[i]
		at := fmt.Sprintf("reject %d", i+1)
		also := fmt.Sprintf(" (reason %q, input line %d)", got.Reason, out.inputLine(got.Origin.Line))
		if got.ErrorType != wr.errorType {
			k.failf(wr.line, "%s: error_type: want %q, got %q%s", at, wr.errorType, got.ErrorType, also)
		}
		if wr.field != "" && !strings.HasPrefix(got.Reason, wr.field+":") {
			k.failf(wr.line, "%s: field: want %s, got a reason that does not name it first: %q", at, wr.field, got.Reason)
		}
		if wr.rule != "" && !strings.HasPrefix(got.Reason, wr.rule+":") {
			k.failf(wr.line, "%s: rule: want %s, got a reason that does not name it first: %q", at, wr.rule, got.Reason)
		}
		if wr.reason != "" && got.Reason != wr.reason {
			k.failf(wr.line, "%s: reason: want %q, got %q", at, wr.reason, got.Reason)
		}
		if wr.reasonContains != "" && !strings.Contains(got.Reason, wr.reasonContains) {
			k.failf(wr.line, "%s: reason_contains: want a reason containing %q, got %q", at, wr.reasonContains, got.Reason)
		}
		if wr.raw != "" && got.Raw != expandNow(wr.raw, k.now) {
			k.failf(wr.line, "%s: raw: want %q, got %q", at, wr.raw, got.Raw)
		}
		if wr.step != "" && got.Step != wr.step {
			k.failf(wr.line, "%s: step: want %s, got %s%s", at, wr.step, got.Step, also)
		}
		if wr.inputLine > 0 && out.inputLine(got.Origin.Line) != int64(wr.inputLine) {
			k.failf(wr.line, "%s: line: want %d, got %d (%s, reason %q)", at, wr.inputLine, out.inputLine(got.Origin.Line), got.ErrorType, got.Reason)
		}
	}
	for i := len(want); i < len(out.rejects); i++ {
		r := out.rejects[i]
		k.failf(line, "reject %d: not expected: got %s from %s (reason %q, input line %d)", i+1, r.ErrorType, r.Step, r.Reason, out.inputLine(r.Origin.Line))
	}
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

package plugintest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// SourceSuite is the acceptance suite of a source. Fill it in and call
// Run from a test of the source's package:
//
//	func TestAcceptance(t *testing.T) {
//		plugintest.SourceSuite{New: ..., Input: ...}.Run(t)
//	}
//
// Every check gets a fresh input from Input, configures new instances
// from New with its config, and reads through the plugin.Source
// interface as the engine does. Run checks that:
//   - Configure answers a schema whose fields have names, once each;
//   - each BadConfigs case is answered with plugin.ConfigErrors naming
//     exactly its key paths;
//   - reading to the end returns every produced input exactly once, as a
//     row (with its Origin and raw text, one cell per field, no null in a
//     field that is not nullable) or as a reject (with its raw text,
//     origin, error type and reason); a batch holds at most
//     ReadRequest.MaxRows rows and rejects, and one that holds any also
//     reaches a position;
//   - after a crash (an instance thrown away after some batches, without
//     Ack or Close), a new instance opened at the positions reached
//     returns exactly the rest of the input, and input produced since:
//     nothing twice, nothing missing;
//   - an Ack of the positions of what was read loses nothing not yet read,
//     and an instance opened at the final positions returns only input
//     produced after them;
//   - Close answers no error, also on an instance that was never opened.
//
// Inputs are compared by their raw text, so every text Produce returns
// must be distinct.
type SourceSuite struct {
	// New returns a new, unconfigured instance of the source.
	New func() plugin.Source
	// Input prepares a fresh, empty input for one check, e.g. a folder in
	// t.TempDir(), and returns how to read it and how to add to it.
	Input func(t testing.TB) SourceInput
	// BadConfigs are configurations with mistakes; they are only
	// configured, never opened.
	BadConfigs []BadConfig
	// BatchRows is the ReadRequest.MaxRows of the reads (default 3), small
	// so that the input spans several batches.
	BatchRows int
	// Timeout bounds each call into the source, and how long the suite
	// waits for produced input to come out of it (default DefaultTimeout).
	Timeout time.Duration
}

// SourceInput is one fresh input of a source under test.
type SourceInput struct {
	// Config is the YAML config block of a source reading this input.
	Config string
	// Produce makes n more inputs available to the source (e.g. writes a
	// file of n CSV lines into the folder) and returns their raw texts, as
	// the source's rows and rejects must carry them (e.g. each line
	// without its line end). Inputs meant to be rejected may be among
	// them.
	Produce func(t testing.TB, n int) []string
}

// Run runs the suite, each check as a subtest when t is a *testing.T.
func (s SourceSuite) Run(t testing.TB) {
	t.Helper()
	if s.New == nil || s.Input == nil {
		t.Fatal("plugintest.SourceSuite needs New and Input")
	}
	check(t, "ConfigureAnswersSchema", s.checkSchema)
	check(t, "BadConfigsNameTheirKeys", s.checkBadConfigs)
	check(t, "ReadsEveryInputOnce", s.checkReadAll)
	check(t, "ReopensAfterCrashWithTheRest", s.checkCrash)
	check(t, "AckLosesNothing", s.checkAck)
	check(t, "CloseWithoutOpen", s.checkCloseUnopened)
}

// sourceRun is one check's input and the schema its source answered.
type sourceRun struct {
	s      SourceSuite
	in     SourceInput
	schema record.Schema
}

func (s SourceSuite) start(t testing.TB) *sourceRun {
	in := s.Input(t)
	if in.Produce == nil {
		t.Fatal("SourceInput has no Produce")
	}
	return &sourceRun{s: s, in: in}
}

// produce makes n inputs and checks that their texts are new.
func (r *sourceRun) produce(t testing.TB, n int, seen map[string]bool) []string {
	texts := r.in.Produce(t, n)
	if len(texts) != n {
		t.Fatalf("Produce(%d) returned %d texts", n, len(texts))
	}
	for _, x := range texts {
		if seen[x] {
			t.Fatalf("Produce returned the text %q twice; the suite needs distinct texts", x)
		}
		seen[x] = true
	}
	return texts
}

// open configures a new instance and opens it at positions. The
// instance is closed when the check ends unless the check closed it with
// closeSource.
func (r *sourceRun) open(t testing.TB, positions []record.Position) *openSource {
	t.Helper()
	d := timeout(r.s.Timeout)
	src := &openSource{Source: r.s.New()}
	schema, err := src.Configure(callCtx(t, d), config("source", r.in.Config))
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	r.schema = schema
	t.Cleanup(func() {
		if !src.closed {
			_ = src.Close(callCtx(t, d))
		}
	})
	if err := src.Open(callCtx(t, d), positions); err != nil {
		t.Fatalf("Open(%v): %v", positions, err)
	}
	return src
}

// openSource is an instance opened by a check.
type openSource struct {
	plugin.Source
	closed bool
}

// closeSource closes src, checking that Close answers no error.
func (r *sourceRun) closeSource(t testing.TB, src *openSource) {
	t.Helper()
	src.closed = true
	if err := src.Close(callCtx(t, timeout(r.s.Timeout))); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// reading is what reads of one instance returned.
type reading struct {
	texts     []string // raw texts of rows and rejects, in order
	positions map[string]record.Position
	batches   int
}

// readBatch reads once and checks what the batch holds.
func (r *sourceRun) readBatch(t testing.TB, src plugin.Source, got *reading) (items int, caughtUp bool) {
	t.Helper()
	rows := r.s.BatchRows
	if rows <= 0 {
		rows = 3
	}
	res, err := src.Read(callCtx(t, timeout(r.s.Timeout)), plugin.ReadRequest{MaxRows: rows, MaxBytes: 1 << 20, MaxWaitMillis: 50})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	got.batches++
	batch := rowsOf(res.Batch)
	if len(batch) > 0 && colsOf(res.Batch) != len(r.schema.Fields) {
		t.Errorf("a batch has %d columns, the schema %d fields", colsOf(res.Batch), len(r.schema.Fields))
	}
	checkNulls(t, "Read", r.schema, batch)
	for _, row := range batch {
		if row.Origin.Source == "" {
			t.Errorf("row %q has no origin", row.Raw)
		}
		got.texts = append(got.texts, row.Raw)
	}
	for _, rj := range res.Rejects {
		checkReject(t, "Read", rj)
		got.texts = append(got.texts, rj.Raw)
	}
	items = len(batch) + len(res.Rejects)
	if items > rows {
		t.Errorf("a batch holds %d rows and rejects, more than ReadRequest.MaxRows %d", items, rows)
	}
	if items > 0 && len(res.Positions) == 0 {
		t.Errorf("a batch of %d rows and rejects reaches no position", items)
	}
	if got.positions == nil {
		got.positions = map[string]record.Position{}
	}
	for _, p := range res.Positions {
		if p.Partition == "" {
			t.Errorf("a batch reaches a position without a partition: %+v", p)
		}
		got.positions[p.Partition] = p
	}
	return items, res.CaughtUp
}

// readPart reads until at least want inputs more came back.
func (r *sourceRun) readPart(t testing.TB, src plugin.Source, got *reading, want int) {
	t.Helper()
	deadline := time.Now().Add(timeout(r.s.Timeout))
	start := len(got.texts)
	for len(got.texts)-start < want {
		if time.Now().After(deadline) {
			t.Fatalf("after %s the source returned %d of %d inputs", timeout(r.s.Timeout), len(got.texts)-start, want)
		}
		r.readBatch(t, src, got)
	}
}

// readToEnd reads until every text of want came back and a read then
// returns nothing, caught up; or, when some never come, for Timeout. The
// caller compares what came.
func (r *sourceRun) readToEnd(t testing.TB, src plugin.Source, got *reading, want []string) {
	t.Helper()
	deadline := time.Now().Add(timeout(r.s.Timeout))
	for {
		items, caughtUp := r.readBatch(t, src, got)
		if items == 0 && caughtUp && len(missing(want, got.texts)) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Logf("waited %s for the source to return every input", timeout(r.s.Timeout))
			return
		}
	}
}

// missing returns the texts of want not in got.
func missing(want, got []string) []string {
	have := map[string]bool{}
	for _, g := range got {
		have[g] = true
	}
	var out []string
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	return out
}

// compareTexts fails unless got holds each text of want exactly once and
// nothing else.
func compareTexts(t testing.TB, what string, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	wanted := map[string]bool{}
	var twice, extra []string
	for _, w := range want {
		wanted[w] = true
		if count[w] > 1 {
			twice = append(twice, w)
		}
	}
	for g := range count {
		if !wanted[g] {
			extra = append(extra, g)
		}
	}
	slices.Sort(extra)
	if m := missing(want, got); len(m) > 0 {
		t.Errorf("%s: missing %d of %d inputs: %s", what, len(m), len(want), quoteSome(m))
	}
	if len(twice) > 0 {
		t.Errorf("%s: returned %d inputs more than once: %s", what, len(twice), quoteSome(twice))
	}
	if len(extra) > 0 {
		t.Errorf("%s: returned %d texts that were not expected: %s", what, len(extra), quoteSome(extra))
	}
}

// quoteSome quotes the first few texts of s.
func quoteSome(s []string) string {
	const most = 5
	q := make([]string, 0, most)
	for i, x := range s {
		if i == most {
			q = append(q, fmt.Sprintf("and %d more", len(s)-most))
			break
		}
		q = append(q, fmt.Sprintf("%q", x))
	}
	return strings.Join(q, ", ")
}

func (s SourceSuite) checkSchema(t testing.TB) {
	r := s.start(t)
	src := s.New()
	schema, err := src.Configure(callCtx(t, timeout(s.Timeout)), config("source", r.in.Config))
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	checkSchema(t, "the schema Configure answered", schema)
	if err := src.Close(callCtx(t, timeout(s.Timeout))); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func (s SourceSuite) checkBadConfigs(t testing.TB) {
	if len(s.BadConfigs) == 0 {
		t.Skip("no BadConfigs given")
	}
	checkBadConfigs(t, s.BadConfigs, func(raw string) error {
		src := s.New()
		defer src.Close(callCtx(t, timeout(s.Timeout)))
		_, err := src.Configure(callCtx(t, timeout(s.Timeout)), config("source", raw))
		return err
	})
}

func (s SourceSuite) checkReadAll(t testing.TB) {
	r := s.start(t)
	seen := map[string]bool{}
	want := r.produce(t, 10, seen)
	src := r.open(t, nil)
	var got reading
	r.readToEnd(t, src, &got, want)
	compareTexts(t, "reading to the end", got.texts, want)
	r.closeSource(t, src)
}

func (s SourceSuite) checkCrash(t testing.TB) {
	r := s.start(t)
	seen := map[string]bool{}
	want := r.produce(t, 12, seen)

	// Read a part, then crash: the instance is dropped without Ack or
	// Close (it is closed only when the check ends).
	first := r.open(t, nil)
	var before reading
	r.readPart(t, first, &before, len(want)/2)
	positions := positionList(before.positions)
	if len(before.texts) >= len(want) {
		t.Fatalf("the first %d batches returned all %d inputs; cannot crash halfway", before.batches, len(want))
	}

	// Input produced while the source is down comes too.
	later := r.produce(t, 4, seen)

	second := r.open(t, positions)
	var after reading
	rest := append(missing(want, before.texts), later...)
	r.readToEnd(t, second, &after, rest)
	for _, x := range after.texts {
		if slices.Contains(before.texts, x) {
			t.Errorf("opened at %v after a crash, the source returned %q again, which the first instance returned before those positions", positions, x)
		}
	}
	compareTexts(t, fmt.Sprintf("reopened at %v after a crash", positions), after.texts, rest)
}

func (s SourceSuite) checkAck(t testing.TB) {
	r := s.start(t)
	seen := map[string]bool{}
	want := r.produce(t, 12, seen)
	src := r.open(t, nil)
	var got reading
	r.readPart(t, src, &got, len(want)/3)
	if err := src.Ack(callCtx(t, timeout(s.Timeout)), positionList(got.positions)); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	r.readToEnd(t, src, &got, want)
	compareTexts(t, "reading on after an Ack", got.texts, want)
	final := positionList(got.positions)
	if err := src.Ack(callCtx(t, timeout(s.Timeout)), final); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	r.closeSource(t, src)

	// Opened at the final positions, only newer input comes.
	later := r.produce(t, 3, seen)
	again := r.open(t, final)
	var more reading
	r.readToEnd(t, again, &more, later)
	compareTexts(t, fmt.Sprintf("opened at the final positions %v", final), more.texts, later)
}

func (s SourceSuite) checkCloseUnopened(t testing.TB) {
	r := s.start(t)
	src := s.New()
	if _, err := src.Configure(callCtx(t, timeout(s.Timeout)), config("source", r.in.Config)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if err := src.Close(callCtx(t, timeout(s.Timeout))); err != nil {
		t.Errorf("Close of a source that was configured but never opened: %v", err)
	}
}

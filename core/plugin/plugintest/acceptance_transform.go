package plugintest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// TransformSuite is the acceptance suite of a transform. Fill it in and
// call Run from a test of the transform's package:
//
//	func TestAcceptance(t *testing.T) {
//		plugintest.TransformSuite{New: ..., Config: ..., Schema: ..., Rows: ...}.Run(t)
//	}
//
// Every check configures new instances from New with Config over Schema
// and calls them through the plugin.Transform interface. Run checks that:
//   - Configure answers an output schema whose fields have names, once
//     each;
//   - each BadConfigs case is answered with plugin.ConfigErrors naming
//     exactly its key paths;
//   - every input row comes out exactly once, as an output row or as a
//     reject (so the counts add up); an output row keeps the Origin and the
//     raw text of its input row and has one cell per output field, no null
//     in a field that is not nullable; a reject keeps them too and has an
//     error type and a reason;
//   - an empty batch gives no rows and no rejects;
//   - processing the same batch twice gives the same rows, cells and
//     rejects both times (a replay after a crash must give what the first
//     run gave);
//   - with plugin.RawHeld (the engine holds the raw text), the same rows,
//     cells and rejects, the rows with their raw text or none at all and
//     the rejects with theirs; with NeedsNoRaw, the same again from the
//     batch without raw text (the rejects then without it too);
//   - Close answers no error, also on an instance that processed nothing.
//
// Rows should hold some that the transform accepts and, when it can
// reject, some that it rejects.
type TransformSuite struct {
	// New returns a new, unconfigured instance of the transform.
	New func() plugin.Transform
	// Config is the YAML config block of the transform.
	Config string
	// Schema is the input schema.
	Schema record.Schema
	// Rows are the input rows. Their origins (as Row fills them in) must
	// differ, so that the suite can tell which output came from which.
	Rows []Row
	// BadConfigs are configurations with mistakes, configured over Schema.
	BadConfigs []BadConfig
	// Timeout bounds each call into the transform (default
	// DefaultTimeout).
	Timeout time.Duration
	// NeedsNoRaw says the transform's Plugin sets TransformNeedsNoRaw: the
	// suite then also gives it batches without raw text.
	NeedsNoRaw bool
}

// Run runs the suite, each check as a subtest when t is a *testing.T.
func (s TransformSuite) Run(t testing.TB) {
	t.Helper()
	if s.New == nil {
		t.Fatal("plugintest.TransformSuite needs New")
	}
	if len(s.Rows) == 0 {
		t.Fatal("plugintest.TransformSuite needs Rows")
	}
	check(t, "ConfigureAnswersSchema", s.checkSchema)
	check(t, "BadConfigsNameTheirKeys", s.checkBadConfigs)
	check(t, "EveryRowIsOutputOrReject", s.checkAccounted)
	check(t, "EmptyBatchGivesNothing", s.checkEmpty)
	check(t, "SameBatchSameResult", s.checkRepeat)
	check(t, "RawHeldSameResult", s.checkRawHeld)
	check(t, "CloseWithoutProcess", s.checkCloseUnused)
}

// configure returns a configured instance, closed when the check ends, and
// its output schema.
func (s TransformSuite) configure(t testing.TB) (plugin.Transform, record.Schema) {
	t.Helper()
	tr := s.New()
	out, err := tr.Configure(callCtx(t, timeout(s.Timeout)), config("transform", s.Config), s.Schema)
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { _ = tr.Close(callCtx(t, timeout(s.Timeout))) })
	return tr, out
}

// processed is what one Process call returned.
type processed struct {
	rows    []gotRow
	rejects []record.Reject
	cols    int
}

// process builds a batch of rows and processes it.
func (s TransformSuite) process(t testing.TB, tr plugin.Transform, rows []Row) processed {
	t.Helper()
	return s.processWith(t, tr, rows, false, false)
}

// processWith is process, the call marked with rawHeld as the engine marks
// the last transform's when it holds the raw text (and, with bare, the
// batch without its raw text, as the engine sends it to a transform that
// needs none).
func (s TransformSuite) processWith(t testing.TB, tr plugin.Transform, rows []Row, rawHeld, bare bool) processed {
	t.Helper()
	b, err := newBatch(s.Schema, rows)
	if err != nil {
		t.Fatalf("TransformSuite.Rows: %v", err)
	}
	if bare {
		b = b.WithoutRaw()
	}
	ctx := callCtx(t, timeout(s.Timeout))
	if rawHeld {
		ctx = wire.WithRawHeld(ctx)
	}
	out, rejects, err := tr.Process(ctx, b)
	if err != nil {
		t.Fatalf("Process of %d rows: %v", len(rows), err)
	}
	return processed{rows: rowsOf(out), rejects: rejects, cols: colsOf(out)}
}

func (s TransformSuite) checkSchema(t testing.TB) {
	_, out := s.configure(t)
	checkSchema(t, "the output schema Configure answered", out)
}

func (s TransformSuite) checkBadConfigs(t testing.TB) {
	if len(s.BadConfigs) == 0 {
		t.Skip("no BadConfigs given")
	}
	checkBadConfigs(t, s.BadConfigs, func(raw string) error {
		tr := s.New()
		defer tr.Close(callCtx(t, timeout(s.Timeout)))
		_, err := tr.Configure(callCtx(t, timeout(s.Timeout)), config("transform", raw), s.Schema)
		return err
	})
}

func (s TransformSuite) checkAccounted(t testing.TB) {
	tr, outSchema := s.configure(t)
	rows := withOrigins(s.Rows, 0)
	raw := map[record.Origin]string{}
	for _, r := range rows {
		if _, dup := raw[r.Origin]; dup {
			t.Fatalf("TransformSuite.Rows: two rows come from %v; give each its own origin", r.Origin)
		}
		raw[r.Origin] = r.Raw
	}
	got := s.process(t, tr, rows)
	if len(got.rows) > 0 && got.cols != len(outSchema.Fields) {
		t.Errorf("the output batch has %d columns, the output schema %d fields", got.cols, len(outSchema.Fields))
	}
	checkNulls(t, "Process", outSchema, got.rows)
	seen := map[record.Origin]string{}
	account := func(what string, o record.Origin, text string) {
		want, ok := raw[o]
		switch {
		case !ok:
			t.Errorf("%s %q has the origin %v, which no input row has", what, text, o)
		case text != want:
			t.Errorf("%s from %v has the raw text %q, want its input's %q", what, o, text, want)
		}
		if prev, twice := seen[o]; twice {
			t.Errorf("the input row from %v came out twice: as %s and as %s", o, prev, what)
		}
		seen[o] = what
	}
	for _, r := range got.rows {
		account("an output row", r.Origin, r.Raw)
	}
	for _, rj := range got.rejects {
		checkReject(t, "Process", rj)
		account(fmt.Sprintf("a reject (%s: %s)", rj.ErrorType, rj.Reason), rj.Origin, rj.Raw)
	}
	if n := len(got.rows) + len(got.rejects); n != len(rows) {
		t.Errorf("%d input rows gave %d output rows and %d rejects; want each input row once, as one or the other", len(rows), len(got.rows), len(got.rejects))
	}
	for _, r := range rows {
		if _, ok := seen[r.Origin]; !ok {
			t.Errorf("the input row from %v (%q) is neither an output row nor a reject", r.Origin, r.Raw)
		}
	}
}

func (s TransformSuite) checkEmpty(t testing.TB) {
	tr, _ := s.configure(t)
	got := s.process(t, tr, nil)
	if len(got.rows) != 0 || len(got.rejects) != 0 {
		t.Errorf("an empty batch gave %d rows and %d rejects, want none", len(got.rows), len(got.rejects))
	}
}

func (s TransformSuite) checkRepeat(t testing.TB) {
	tr, _ := s.configure(t)
	rows := withOrigins(s.Rows, 0)
	first := s.process(t, tr, rows)
	second := s.process(t, tr, rows)
	if !reflect.DeepEqual(first.rows, second.rows) {
		t.Errorf("processing the same batch again gave other rows:\nfirst  %s\nsecond %s", describeRows(first.rows), describeRows(second.rows))
	}
	if !reflect.DeepEqual(first.rejects, second.rejects) {
		t.Errorf("processing the same batch again gave other rejects:\nfirst  %+v\nsecond %+v", first.rejects, second.rejects)
	}
	// A new instance (after a restart) gives the same too.
	fresh, _ := s.configure(t)
	third := s.process(t, fresh, rows)
	if !reflect.DeepEqual(first.rows, third.rows) || !reflect.DeepEqual(first.rejects, third.rejects) {
		t.Errorf("a new instance gave another result for the same batch:\nfirst %s %+v\nnew   %s %+v", describeRows(first.rows), first.rejects, describeRows(third.rows), third.rejects)
	}
}

func (s TransformSuite) checkRawHeld(t testing.TB) {
	tr, _ := s.configure(t)
	rows := withOrigins(s.Rows, 0)
	full := s.process(t, tr, rows)
	held := s.processWith(t, tr, rows, true, false)
	if !reflect.DeepEqual(full.rejects, held.rejects) {
		t.Errorf("with the raw text held by the engine, other rejects (they keep their raw text):\nwithout %+v\nwith    %+v", full.rejects, held.rejects)
	}
	if len(full.rows) != len(held.rows) {
		t.Fatalf("with the raw text held by the engine, %d rows, without %d", len(held.rows), len(full.rows))
	}
	dropped := 0
	for i, r := range held.rows {
		f := full.rows[i]
		if r.Raw == "" && f.Raw != "" {
			dropped++
			r.Raw = f.Raw
		}
		if !reflect.DeepEqual(f, r) {
			t.Errorf("with the raw text held by the engine, row %d is %s, without %s", i, describeRows([]gotRow{r}), describeRows([]gotRow{f}))
		}
	}
	if dropped != 0 && dropped != len(held.rows) {
		t.Errorf("with the raw text held by the engine, %d of %d rows left it out: all or none", dropped, len(held.rows))
	}
	if !s.NeedsNoRaw {
		return
	}
	bare := s.processWith(t, tr, rows, true, true)
	want := slices.Clone(full.rejects)
	for i := range want {
		want[i].Raw = ""
	}
	if !reflect.DeepEqual(want, bare.rejects) {
		t.Errorf("from the batch without raw text, other rejects (the same, less their raw text):\nwant %+v\ngot  %+v", want, bare.rejects)
	}
	if len(bare.rows) != len(full.rows) {
		t.Fatalf("from the batch without raw text, %d rows, with it %d", len(bare.rows), len(full.rows))
	}
	for i, r := range bare.rows {
		f := full.rows[i]
		f.Raw = ""
		if !reflect.DeepEqual(f, r) {
			t.Errorf("from the batch without raw text, row %d is %s, with it %s", i, describeRows([]gotRow{r}), describeRows([]gotRow{f}))
		}
	}
}

// describeRows formats rows with their cells for a failure message.
func describeRows(rows []gotRow) string {
	s := "["
	for i, r := range rows {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%v{", r.Origin)
		for j, c := range r.Cells {
			if j > 0 {
				s += ","
			}
			if c == nil {
				s += "null"
			} else {
				s += fmt.Sprintf("%q", *c)
			}
		}
		s += "}"
	}
	return s + "]"
}

func (s TransformSuite) checkCloseUnused(t testing.TB) {
	tr := s.New()
	if _, err := tr.Configure(callCtx(t, timeout(s.Timeout)), config("transform", s.Config), s.Schema); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if err := tr.Close(callCtx(t, timeout(s.Timeout))); err != nil {
		t.Errorf("Close of a transform that processed nothing: %v", err)
	}
}

package plugintest_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/plugintest"
)

// recorder is a testing.TB that records failures instead of failing the
// test, so that a test can run the suite against a broken plugin and look
// at what it reported.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.Error(args...)
	runtime.Goexit()
}

func (r *recorder) Fail() { r.Errorf("Fail") }

func (r *recorder) FailNow() {
	r.Fail()
	runtime.Goexit()
}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failures) > 0
}

// failures runs the suite run against a recorder and returns what it
// reported.
func failures(t *testing.T, run func(testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(r)
	}()
	<-done
	return r.failures
}

// wantFailure fails t unless one of got contains want; want "" asks for
// no failure at all.
func wantFailure(t *testing.T, got []string, want string) {
	t.Helper()
	if want == "" {
		if len(got) > 0 {
			t.Errorf("the suite failed a plugin that keeps every promise:\n%s", strings.Join(got, "\n"))
		}
		return
	}
	for _, g := range got {
		if strings.Contains(g, want) {
			return
		}
	}
	t.Errorf("the suite did not report %q; it reported:\n%s", want, strings.Join(got, "\n"))
}

func sourceSuite(src func() *fakeSource) plugintest.SourceSuite {
	return plugintest.SourceSuite{
		New: func() plugin.Source { return src() },
		Input: func(t testing.TB) plugintest.SourceInput {
			cfg, produce := newLineLog(t)
			return plugintest.SourceInput{Config: cfg, Produce: produce}
		},
		BadConfigs: []plugintest.BadConfig{
			{Name: "no store", Config: "", Paths: []string{"store"}},
			{Name: "unknown key", Config: "store: x\ncolour: red", Paths: []string{"colour"}},
		},
		Timeout: 300 * time.Millisecond,
	}
}

func TestSourceSuiteReportsBrokenSources(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(*fakeSource)
		want   string // a part of a failure; "" for none
	}{
		{"keeps every promise", func(*fakeSource) {}, ""},
		{"repeats a row after reopening", func(s *fakeSource) { s.repeatOnReopen = true }, "again, which the first instance returned before those positions"},
		{"skips a row after reopening", func(s *fakeSource) { s.skipOnReopen = true }, "missing"},
		{"drops raw text", func(s *fakeSource) { s.dropRaw = true }, `texts that were not expected: ""`},
		{"reaches no position", func(s *fakeSource) { s.noPositions = true }, "reaches no position"},
		{"Ack skips unread input", func(s *fakeSource) { s.ackSkips = true }, "reading on after an Ack: missing 6 of 12 inputs"},
		{"ignores MaxRows", func(s *fakeSource) { s.ignoreMaxRows = true }, "more than ReadRequest.MaxRows"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			suite := sourceSuite(func() *fakeSource {
				s := &fakeSource{}
				tc.break_(s)
				return s
			})
			wantFailure(t, failures(t, suite.Run), tc.want)
		})
	}
}

func TestSourceSuiteReportsWrongConfigPaths(t *testing.T) {
	suite := sourceSuite(func() *fakeSource { return &fakeSource{} })
	suite.BadConfigs = []plugintest.BadConfig{{Name: "no store", Config: "", Paths: []string{"path"}}}
	wantFailure(t, failures(t, suite.Run), `no store: Configure named the keys ["store"]`)
}

func transformSuite(tr func() *fakeTransform) plugintest.TransformSuite {
	return plugintest.TransformSuite{
		New:    func() plugin.Transform { return tr() },
		Config: "store: any",
		Schema: transformSchema,
		Rows: []plugintest.Row{
			{Cells: []any{"apple"}},
			{Cells: []any{"bad pear"}},
			{Cells: []any{"plum"}},
			{Cells: []any{"bad fig"}},
		},
		BadConfigs: []plugintest.BadConfig{
			{Name: "no store", Config: "", Paths: []string{"store"}},
			{Name: "unknown key", Config: "store: x\nshape: round", Paths: []string{"shape"}},
		},
	}
}

func TestTransformSuiteReportsBrokenTransforms(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(*fakeTransform)
		want   string
	}{
		{"keeps every promise", func(*fakeTransform) {}, ""},
		{"drops raw text", func(f *fakeTransform) { f.dropRaw = true }, `has the raw text "", want its input's "apple"`},
		{"drops rows it should reject", func(f *fakeTransform) { f.dropRejects = true }, "is neither an output row nor a reject"},
		{"rejects without raw text when the engine holds it", func(f *fakeTransform) { f.heldNoRaw = true }, "with the raw text held by the engine, other rejects"},
		{"rejects without a reason", func(f *fakeTransform) { f.noReason = true }, "has no reason"},
		{"differs on a replay", func(f *fakeTransform) { f.noisy = true }, "processing the same batch again gave other rows"},
		{"config mistakes without paths", func(f *fakeTransform) { f.plainErrors = true }, "not plugin.ConfigErrors"},
		{"rejects from an empty batch", func(f *fakeTransform) { f.emptyRejects = true }, "an empty batch gave 0 rows and 1 rejects"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			suite := transformSuite(func() *fakeTransform {
				f := &fakeTransform{}
				tc.break_(f)
				return f
			})
			wantFailure(t, failures(t, suite.Run), tc.want)
		})
	}
}

// A transform said to need no raw text is also given batches without it:
// one that reads it anyway fails.
func TestTransformSuiteChecksNeedsNoRaw(t *testing.T) {
	for _, readsRaw := range []bool{false, true} {
		t.Run(fmt.Sprintf("reads raw text %v", readsRaw), func(t *testing.T) {
			suite := transformSuite(func() *fakeTransform { return &fakeTransform{readsRaw: readsRaw} })
			suite.NeedsNoRaw = true
			want := ""
			if readsRaw {
				want = "from the batch without raw text, other rejects"
			}
			wantFailure(t, failures(t, suite.Run), want)
		})
	}
}

func sinkSuite(snk func() *fakeSink) plugintest.SinkSuite {
	return plugintest.SinkSuite{
		New:         func() plugin.Sink { return snk() },
		Destination: newDestination,
		Schema:      sinkSchema,
		Rows: []plugintest.Row{
			{Cells: []any{"one", 1}},
			{Cells: []any{"two", nil}},
			{Cells: []any{"three", int64(3)}},
		},
		Refused:    &plugintest.Row{Cells: []any{"refuse", 4}},
		BadConfigs: []plugintest.BadConfig{{Name: "no store", Config: "", Paths: []string{"store"}}},
	}
}

// A sink said to ask for raw text must ask for that of a refused row given
// without it, commit nothing then, and commit once given it.
func TestSinkSuiteChecksAsksForRaw(t *testing.T) {
	cases := []struct {
		name string
		sink fakeSink
		want string
	}{
		{"asks", fakeSink{asksForRaw: true}, ""},
		{"commits without asking", fakeSink{neverAsks: true}, "was committed without asking for the raw text"},
		{"fails the batch instead", fakeSink{}, "Write failed (row 3 refused), want plugin.NeedRaw"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			suite := sinkSuite(func() *fakeSink { s := tc.sink; return &s })
			suite.AsksForRaw = true
			wantFailure(t, failures(t, suite.Run), tc.want)
		})
	}
}

func TestSinkSuiteReportsBrokenSinks(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(*fakeSink)
		want   string
	}{
		{"keeps every promise", func(*fakeSink) {}, ""},
		{"duplicates on replay", func(s *fakeSink) { s.duplicateOnReplay = true }, "after batch 1 was written again: the destination holds 6 rows and 4 rejects, want 3 and 2"},
		{"writes part of a cancelled batch", func(s *fakeSink) { s.partialOnCancel = true }, "after Write with a cancelled context failed: the destination holds 6 rows"},
		{"writes part of a refused batch", func(s *fakeSink) { s.partialOnRefused = true }, "after a Write with a refused row failed (row 3 refused): the destination holds 6 rows"},
		{"forgets a partition", func(s *fakeSink) { s.forgetPartitions = true }, "after batch 2: Checkpoint answered"},
		{"answers no batch id", func(s *fakeSink) { s.noBatchID = true }, "after batch 1, Checkpoint of the same instance answered batch id 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			suite := sinkSuite(func() *fakeSink {
				s := &fakeSink{}
				tc.break_(s)
				return s
			})
			wantFailure(t, failures(t, suite.Run), tc.want)
		})
	}
}

// TestSuitesRunAsSubtests runs each suite on a plugin that keeps every
// promise as an author does, in a *testing.T, each check a subtest.
func TestSuitesRunAsSubtests(t *testing.T) {
	t.Run("source", func(t *testing.T) { sourceSuite(func() *fakeSource { return &fakeSource{} }).Run(t) })
	t.Run("transform", func(t *testing.T) { transformSuite(func() *fakeTransform { return &fakeTransform{} }).Run(t) })
	t.Run("sink", func(t *testing.T) { sinkSuite(func() *fakeSink { return &fakeSink{} }).Run(t) })
}

package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

var rawSchema = record.Schema{Fields: []record.Field{{Name: "v", Type: record.String}}}

// rawSource yields batches of 4 rows of rawSchema; row k of the input has
// the value "bad" when k%4 == 3 (else "ok"), its line k+1 (0 with
// noLines) and the raw text "raw k".
type rawSource struct {
	batches, read int
	noLines       bool
	sameLine      bool // every row of a batch at one line: origins not unique
}

func (s *rawSource) Configure(context.Context, plugin.Config) (record.Schema, error) {
	return rawSchema, nil
}
func (s *rawSource) Open(context.Context, []record.Position) error { return nil }
func (s *rawSource) Ack(context.Context, []record.Position) error  { return nil }
func (s *rawSource) Close(context.Context) error                   { return nil }
func (s *rawSource) Read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResult, error) {
	if s.read == s.batches {
		time.Sleep(time.Millisecond) // a streaming run polls on
		return plugin.ReadResult{CaughtUp: true}, nil
	}
	b := record.NewBatch(rawSchema)
	for i := range 4 {
		k := 4*s.read + i
		line := int64(k + 1)
		if s.noLines {
			line = 0
		}
		if s.sameLine {
			line = int64(4*s.read + 1)
		}
		b.StartRow(record.Origin{Source: "in.csv", Line: line}, []byte(fmt.Sprintf("raw %d", k)))
		if k%4 == 3 {
			b.AppendString("bad")
		} else {
			b.AppendString("ok")
		}
	}
	s.read++
	return plugin.ReadResult{Batch: b, Positions: []record.Position{{Partition: "in.csv", Offset: int64(4 * s.read)}}, CaughtUp: s.read == s.batches}, nil
}

// rawTransform passes rows on, leaving their raw text out when the engine
// holds it, and notes whether it did and whether its input had raw text;
// with rejectBad it rejects the "bad" rows itself.
type rawTransform struct {
	rejectBad bool
	// keepColumn sends an _etl_raw column even when the engine holds the
	// raw text: of empty raw text, when the input had none.
	keepColumn bool
	mu         sync.Mutex
	held       []bool
	inRaw      []bool
}

func (t *rawTransform) Configure(_ context.Context, _ plugin.Config, in record.Schema) (record.Schema, error) {
	return in, nil
}
func (t *rawTransform) Close(context.Context) error { return nil }
func (t *rawTransform) Process(ctx context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	out := record.NewBatch(b.Schema())
	held := plugin.RawHeld(ctx)
	if held && !t.keepColumn {
		out.LeaveOutRaw()
	}
	t.mu.Lock()
	t.held, t.inRaw = append(t.held, held), append(t.inRaw, b.HasRaw())
	t.mu.Unlock()
	var rejects []record.Reject
	for row := range b.Len() {
		if t.rejectBad && b.Text(row, 0) == "bad" {
			rejects = append(rejects, b.Reject(row, "BAD", "bad value"))
			continue
		}
		out.CopyRow(b, row)
	}
	return out, rejects, nil
}

// rawSink stores every "bad" row as a reject, asking for the raw text it
// lacks as the postgres sink does (or, with again, asking every time).
type rawSink struct {
	again    bool
	mu       sync.Mutex
	rejects  []record.Reject
	asked    int
	heldIn   []bool // WriteRequest.RawHeld of each call
	hadRaw   []bool // Batch.HasRaw of each call
	accepted int    // rows committed, not "bad"
}

func (s *rawSink) Configure(context.Context, plugin.Config, record.Schema) error { return nil }
func (s *rawSink) Checkpoint(context.Context) (plugin.Checkpoint, error) {
	return plugin.Checkpoint{}, nil
}
func (s *rawSink) Close(context.Context) error { return nil }
func (s *rawSink) Write(_ context.Context, req plugin.WriteRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := req.Batch
	s.heldIn, s.hadRaw = append(s.heldIn, req.RawHeld), append(s.hadRaw, b.HasRaw())
	var rejects []record.Reject
	for row := range b.Len() {
		if b.Text(row, 0) == "bad" {
			rejects = append(rejects, b.Reject(row, "BAD", "bad value"))
		}
	}
	need := &plugin.NeedRaw{}
	for _, r := range rejects {
		if r.Raw == "" {
			need.Origins = append(need.Origins, r.Origin)
		}
	}
	if len(need.Origins) > 0 && (req.RawHeld || s.again) && (req.Raw == nil || s.again) {
		s.asked++
		return need
	}
	for i := range rejects {
		if raw, ok := req.Raw[rejects[i].Origin]; ok {
			rejects[i].Raw = raw
		}
	}
	s.rejects = append(append(s.rejects, req.Rejects...), rejects...)
	s.accepted += b.Len() - len(rejects)
	return nil
}

// The last transform leaves the raw text out only when the sink asks for
// it and the source's rows can be found again by origin; the sink then
// gets the raw text of the rows it refuses, and only of those.
func TestRawTextHeldForTheSink(t *testing.T) {
	cases := []struct {
		name       string
		transforms int
		asks       bool
		noLines    bool
		sameLine   bool
		needNoRaw  bool   // every transform reads no raw text; the first rejects the bad rows
		keepColumn bool   // the transforms send an _etl_raw column all the same
		wantHeld   []bool // per transform, for every batch
		wantInRaw  []bool // per transform: its input had raw text
		wantAsked  int
		// wantSinkHeld and wantSinkRaw: every WriteRequest.RawHeld, and
		// whether every batch the sink got carried raw text.
		wantSinkHeld, wantSinkRaw bool
	}{
		{name: "sink asks, two transforms", transforms: 2, asks: true, wantHeld: []bool{false, true}, wantInRaw: []bool{true, true}, wantAsked: 3, wantSinkHeld: true},
		{name: "sink asks, one transform", transforms: 1, asks: true, wantHeld: []bool{true}, wantInRaw: []bool{true}, wantAsked: 3, wantSinkHeld: true},
		{name: "sink does not ask", transforms: 2, asks: false, wantHeld: []bool{false, false}, wantInRaw: []bool{true, true}, wantSinkRaw: true},
		{name: "sink asks, rows without lines", transforms: 1, asks: true, noLines: true, wantHeld: []bool{false}, wantInRaw: []bool{true}, wantSinkRaw: true},
		{name: "sink asks, rows sharing an origin", transforms: 1, asks: true, sameLine: true, wantHeld: []bool{false}, wantInRaw: []bool{true}, wantSinkRaw: true},
		{name: "sink asks, transforms need no raw text", transforms: 2, asks: true, needNoRaw: true, wantHeld: []bool{true, true}, wantInRaw: []bool{false, false}, wantSinkHeld: true},
		{name: "transforms need no raw text, sink does not ask", transforms: 2, needNoRaw: true, wantHeld: []bool{false, false}, wantInRaw: []bool{true, true}, wantSinkRaw: true},
		{name: "transforms need no raw text but send an empty raw column", transforms: 1, asks: true, needNoRaw: true, keepColumn: true,
			wantHeld: []bool{true}, wantInRaw: []bool{false}, wantAsked: 3, wantSinkHeld: true, wantSinkRaw: true},
		{name: "the last transform keeps the raw text", transforms: 1, asks: true, keepColumn: true, wantHeld: []bool{true}, wantInRaw: []bool{true}, wantSinkRaw: true},
		{name: "sink asks, no transform", transforms: 0, asks: true, wantSinkRaw: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := &rawSource{batches: 3, noLines: c.noLines, sameLine: c.sameLine}
			sink := &rawSink{}
			p := Pipeline{Source: Step[plugin.Source]{Name: "source", Plugin: src}, Sink: Step[plugin.Sink]{Name: "sink", Plugin: sink},
				SinkAsksForRaw: c.asks, TransformsNeedNoRaw: c.needNoRaw}
			var ts []*rawTransform
			for i := range c.transforms {
				tr := &rawTransform{rejectBad: c.needNoRaw && !c.keepColumn && i == 0, keepColumn: c.keepColumn}
				ts = append(ts, tr)
				p.Transforms = append(p.Transforms, Step[plugin.Transform]{Name: fmt.Sprintf("t%d", i), Plugin: tr})
			}
			if err := runWithin(t, p); err != nil {
				t.Fatalf("Run: %v", err)
			}
			for i, tr := range ts {
				if len(tr.held) != 3 {
					t.Errorf("transform %d processed %d batches, want 3", i, len(tr.held))
				}
				for k := range tr.held {
					if tr.held[k] != c.wantHeld[i] || tr.inRaw[k] != c.wantInRaw[i] {
						t.Errorf("transform %d: RawHeld %v, input with raw text %v; want %v and %v", i, tr.held, tr.inRaw, c.wantHeld[i], c.wantInRaw[i])
						break
					}
				}
			}
			if sink.asked != c.wantAsked {
				t.Errorf("the sink asked for raw text %d times, want %d", sink.asked, c.wantAsked)
			}
			if len(sink.heldIn) != 3+c.wantAsked || sink.accepted != 9 {
				t.Errorf("%d writes, %d rows accepted; want %d and 9", len(sink.heldIn), sink.accepted, 3+c.wantAsked)
			}
			for i := range sink.heldIn {
				if sink.heldIn[i] != c.wantSinkHeld || sink.hadRaw[i] != c.wantSinkRaw {
					t.Errorf("write %d: RawHeld %v, batch with raw text %v; want %v and %v", i, sink.heldIn[i], sink.hadRaw[i], c.wantSinkHeld, c.wantSinkRaw)
				}
			}
			if len(sink.rejects) != 3 {
				t.Fatalf("the sink stored %d rejects, want 3", len(sink.rejects))
			}
			for _, r := range sink.rejects {
				want := fmt.Sprintf("raw %d", r.Origin.Line-1)
				if c.noLines || c.sameLine {
					want = r.Raw // nothing held: the raw text came with the rows
				}
				if r.Raw != want || !strings.HasPrefix(r.Raw, "raw ") {
					t.Errorf("reject at %v has raw text %q, want %q", r.Origin, r.Raw, want)
				}
			}
		})
	}
}

// A sink that asks again once given the raw text ends the run with an
// error that says so, rather than looping.
func TestSinkAskingForRawTextAgainFails(t *testing.T) {
	sink := &rawSink{again: true}
	p := Pipeline{Source: Step[plugin.Source]{Name: "source", Plugin: &rawSource{batches: 1}}, Sink: Step[plugin.Sink]{Name: "sink", Plugin: sink},
		Transforms: []Step[plugin.Transform]{{Name: "t", Plugin: &rawTransform{}}}, SinkAsksForRaw: true}
	err := runWithin(t, p)
	if err == nil || !strings.Contains(err.Error(), "commit batch 1") || !strings.Contains(err.Error(), "raw text") {
		t.Fatalf("Run: %v, want an error about asking for raw text again", err)
	}
	if sink.asked != 2 || len(sink.rejects) != 0 {
		t.Errorf("asked %d times, %d rejects stored; want 2 and none", sink.asked, len(sink.rejects))
	}
}

// outageSink is a rawSink whose destination goes away once, at the first
// write that brings raw text it asked for: that write fails as
// unavailable, and the engine's retry must bring the raw text again.
type outageSink struct {
	*rawSink
	down bool // the outage happened
}

func (s *outageSink) Write(ctx context.Context, req plugin.WriteRequest) error {
	s.mu.Lock()
	fail := req.Raw != nil && !s.down
	s.down = s.down || fail
	s.mu.Unlock()
	if fail {
		return fmt.Errorf("connection reset by peer (%w)", plugin.ErrUnavailable)
	}
	return s.rawSink.Write(ctx, req)
}

// A write given the raw text it asked for that meets an outage is retried
// with that raw text: the sink does not have to ask again, and every
// refused row is stored once, with its raw text.
func TestRawTextKeptAcrossAnOutage(t *testing.T) {
	sink := &outageSink{rawSink: &rawSink{}}
	p := Pipeline{Source: Step[plugin.Source]{Name: "source", Plugin: &rawSource{batches: 3}}, Sink: Step[plugin.Sink]{Name: "sink", Plugin: sink},
		Transforms: []Step[plugin.Transform]{{Name: "t", Plugin: &rawTransform{}}}, SinkAsksForRaw: true}
	stop := make(chan struct{})
	done := make(chan error, 1)
	opts := Options{BatchMaxWait: 10 * time.Millisecond, RetryBackoff: 5 * time.Millisecond, RetryBackoffMax: 20 * time.Millisecond}
	go func() { done <- Run(context.Background(), p, opts, stop, nil) }()
	var runErr error
	ended := false
	waitUntil(t, "every batch committed", func() bool {
		select {
		case runErr = <-done: // the run ended early: say why, not that it timed out
			ended = true
			return true
		default:
		}
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.accepted == 9
	})
	if !ended {
		close(stop)
		runErr = <-done
	}
	if runErr != nil || sink.accepted != 9 {
		t.Fatalf("Run: %v, with %d rows accepted, want nil and 9", runErr, sink.accepted)
	}
	if !sink.down {
		t.Fatal("no write met the outage")
	}
	// 3 writes asked for raw text and 3 brought it (the one that met the
	// outage before them does not count: it never reached the rows).
	if sink.asked != 3 || len(sink.heldIn) != 6 {
		t.Errorf("the sink asked %d times in %d writes that reached it, want 3 in 6", sink.asked, len(sink.heldIn))
	}
	for i := range sink.heldIn {
		if !sink.heldIn[i] || sink.hadRaw[i] {
			t.Errorf("write %d: RawHeld %v, batch with raw text %v; want true and false", i, sink.heldIn[i], sink.hadRaw[i])
		}
	}
	if len(sink.rejects) != 3 {
		t.Fatalf("the sink stored %d rejects, want 3", len(sink.rejects))
	}
	for _, r := range sink.rejects {
		if want := fmt.Sprintf("raw %d", r.Origin.Line-1); r.Raw != want {
			t.Errorf("reject at %v has raw text %q, want %q", r.Origin, r.Raw, want)
		}
	}
}

// runWithin runs p once; a run that does not end within a minute fails.
func runWithin(t *testing.T, p Pipeline) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), p, Options{Once: true, BatchMaxWait: 10 * time.Millisecond}, nil, nil)
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("Run hangs")
		return nil
	}
}

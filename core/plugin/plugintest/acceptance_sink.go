package plugintest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// SinkSuite is the acceptance suite of a sink. Fill it in and call Run
// from a test of the sink's package:
//
//	func TestAcceptance(t *testing.T) {
//		plugintest.SinkSuite{New: ..., Destination: ..., Schema: ..., Rows: ...}.Run(t)
//	}
//
// Every check gets a fresh destination from Destination, configures new
// instances from New with its config over Schema, and calls them through
// the plugin.Sink interface as the engine does, with positions of two
// partitions made up by the suite. Run checks that:
//   - the Checkpoint of a fresh destination is empty (batch id 0, no
//     positions);
//   - each BadConfigs case is answered with plugin.ConfigErrors naming
//     exactly its key paths;
//   - after Write of batch 1 (rows, rejects and positions), Checkpoint
//     answers batch id 1 and those positions, also from a new instance,
//     and the destination holds exactly those rows and rejects;
//   - writing batch 1 again, from a new instance as after a crash, is
//     accepted and changes nothing; batch 2 then commits, a partition it
//     does not touch keeps its position, and a batch of positions only
//     commits them;
//   - a Write whose context is cancelled before the call either fails and
//     leaves nothing of its batch (rows, rejects, checkpoint), or commits
//     all of it; the sink writes afterwards;
//   - with Refused, a batch holding a row the destination refuses either
//     fails and leaves nothing of it, or commits all of it with the row
//     among the rejects;
//   - with Refused and AsksForRaw, the same batch without raw text and
//     with WriteRequest.RawHeld is answered plugin.NeedRaw naming the
//     refused row's origin, leaving nothing of it; given the raw text, it
//     commits, the refused row among the rejects;
//   - Close answers no error, also on an instance that wrote nothing.
type SinkSuite struct {
	// New returns a new, unconfigured instance of the sink.
	New func() plugin.Sink
	// Destination prepares a fresh, empty destination for one check (e.g.
	// a new database) and returns the YAML config block of a sink writing
	// there, and count, which tells how many rows and rejects the
	// destination holds now.
	Destination func(t testing.TB) (config string, count func() (rows, rejects int))
	// Schema is the schema of the rows the sink gets.
	Schema record.Schema
	// Rows are rows the destination accepts. Batch 1 holds all of them;
	// later batches hold them again with other origins.
	Rows []Row
	// Refused, when not nil, is a row the destination refuses (e.g. one
	// that breaks a check constraint).
	Refused *Row
	// AsksForRaw says the sink's Plugin sets SinkAsksForRaw: given a batch
	// without raw text, it answers NeedRaw for the rows it stores as
	// rejects.
	AsksForRaw bool
	// BadConfigs are configurations with mistakes, configured over Schema
	// and never written with.
	BadConfigs []BadConfig
	// Timeout bounds each call into the sink (default DefaultTimeout).
	Timeout time.Duration
}

// The partitions of the positions the suite writes.
const (
	partitionA = "acceptance-a"
	partitionB = "acceptance-b"
)

// Run runs the suite, each check as a subtest when t is a *testing.T.
func (s SinkSuite) Run(t testing.TB) {
	t.Helper()
	if s.New == nil || s.Destination == nil {
		t.Fatal("plugintest.SinkSuite needs New and Destination")
	}
	if len(s.Rows) == 0 {
		t.Fatal("plugintest.SinkSuite needs Rows")
	}
	check(t, "FreshCheckpointIsEmpty", s.checkFresh)
	check(t, "BadConfigsNameTheirKeys", s.checkBadConfigs)
	check(t, "WriteCommitsRowsRejectsPositions", s.checkWrite)
	check(t, "ReplayedBatchChangesNothing", s.checkReplay)
	check(t, "CancelledWriteIsAllOrNothing", s.checkCancelled)
	check(t, "RefusedRowIsAllOrNothing", s.checkRefused)
	check(t, "RefusedRowWithoutRawTextIsAskedFor", s.checkAsksForRaw)
	check(t, "CloseWithoutWrite", s.checkCloseUnused)
}

// sinkRun is one check's destination.
type sinkRun struct {
	s      SinkSuite
	config string
	count  func() (rows, rejects int)
}

func (s SinkSuite) start(t testing.TB) *sinkRun {
	cfg, count := s.Destination(t)
	if count == nil {
		t.Fatal("Destination returned no count function")
	}
	return &sinkRun{s: s, config: cfg, count: count}
}

func (r *sinkRun) ctx(t testing.TB) context.Context { return callCtx(t, timeout(r.s.Timeout)) }

// open configures a new instance, closed when the check ends.
func (r *sinkRun) open(t testing.TB) plugin.Sink {
	t.Helper()
	snk := r.s.New()
	if err := snk.Configure(r.ctx(t), config("sink", r.config), r.s.Schema); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { _ = snk.Close(r.ctx(t)) })
	return snk
}

// request returns batch id with rows (their origins from line base+1 on),
// the rejects made up for it, and positions.
func (r *sinkRun) request(t testing.TB, id int64, rows []Row, base int, positions ...record.Position) plugin.WriteRequest {
	t.Helper()
	rows = withOrigins(rows, base)
	b, err := newBatch(r.s.Schema, rows)
	if err != nil {
		t.Fatalf("SinkSuite.Rows: %v", err)
	}
	req := plugin.WriteRequest{BatchID: id, Batch: b, Positions: positions}
	if len(rows) > 0 {
		req.Rejects = []record.Reject{
			{Origin: record.Origin{Source: "acceptance.csv", Line: int64(base + len(rows) + 1)}, Raw: fmt.Sprintf("batch %d, a line that did not parse", id), ErrorType: "ACCEPTANCE_TEST", Reason: "made up by the acceptance suite"},
			{Origin: record.Origin{Source: "acceptance.csv", Line: int64(base + len(rows) + 2)}, Raw: fmt.Sprintf("batch %d, a line, with a comma and a \"quote\"", id), ErrorType: "ACCEPTANCE_TEST", Reason: "made up by the acceptance suite, again"},
		}
	}
	return req
}

// state is what a destination holds.
type state struct {
	rows, rejects int
	checkpoint    plugin.Checkpoint
}

func (st state) String() string {
	return fmt.Sprintf("%d rows, %d rejects, batch id %d, positions %v", st.rows, st.rejects, st.checkpoint.BatchID, st.checkpoint.Positions)
}

// state returns what the destination holds, the checkpoint as a new
// instance reads it.
func (r *sinkRun) state(t testing.TB) state {
	t.Helper()
	cp, err := r.open(t).Checkpoint(r.ctx(t))
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	rows, rejects := r.count()
	cp.Positions = positionList(positionSet(cp.Positions))
	return state{rows: rows, rejects: rejects, checkpoint: cp}
}

// write writes req and fails the check when it fails.
func (r *sinkRun) write(t testing.TB, snk plugin.Sink, req plugin.WriteRequest) {
	t.Helper()
	if err := snk.Write(r.ctx(t), req); err != nil {
		t.Fatalf("Write of batch %d: %v", req.BatchID, err)
	}
}

// checkpoint returns the checkpoint of snk, positions sorted.
func (r *sinkRun) checkpoint(t testing.TB, snk plugin.Sink) plugin.Checkpoint {
	t.Helper()
	cp, err := snk.Checkpoint(r.ctx(t))
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	cp.Positions = positionList(positionSet(cp.Positions))
	return cp
}

// wantState fails unless the destination holds want.
func (r *sinkRun) wantState(t testing.TB, what string, want state) {
	t.Helper()
	got := r.state(t)
	if got.rows != want.rows || got.rejects != want.rejects {
		t.Errorf("%s: the destination holds %d rows and %d rejects, want %d and %d", what, got.rows, got.rejects, want.rows, want.rejects)
	}
	if !sameCheckpoint(got.checkpoint, want.checkpoint) {
		t.Errorf("%s: Checkpoint answered batch id %d, positions %v; want batch id %d, positions %v", what,
			got.checkpoint.BatchID, got.checkpoint.Positions, want.checkpoint.BatchID, want.checkpoint.Positions)
	}
}

func sameCheckpoint(a, b plugin.Checkpoint) bool {
	return a.BatchID == b.BatchID && len(a.Positions) == len(b.Positions) &&
		(len(a.Positions) == 0 || reflect.DeepEqual(a.Positions, b.Positions))
}

// wrote returns st after a committed request.
func wrote(st state, req plugin.WriteRequest) state {
	st.rows += len(rowsOf(req.Batch))
	st.rejects += len(req.Rejects)
	pos := positionSet(st.checkpoint.Positions)
	for _, p := range req.Positions {
		pos[p.Partition] = p
	}
	st.checkpoint = plugin.Checkpoint{BatchID: req.BatchID, Positions: positionList(pos)}
	return st
}

// batch1 writes batch 1 and returns what the destination then holds.
func (r *sinkRun) batch1(t testing.TB) state {
	t.Helper()
	snk := r.open(t)
	if cp := r.checkpoint(t, snk); cp.BatchID != 0 || len(cp.Positions) != 0 {
		t.Fatalf("Checkpoint of a fresh destination answered batch id %d, positions %v; want 0 and none", cp.BatchID, cp.Positions)
	}
	req := r.request(t, 1, r.s.Rows, 0,
		record.Position{Partition: partitionA, Offset: 100},
		record.Position{Partition: partitionB, Offset: 200})
	r.write(t, snk, req)
	want := wrote(state{}, req)
	if cp := r.checkpoint(t, snk); !sameCheckpoint(cp, want.checkpoint) {
		t.Errorf("after batch 1, Checkpoint of the same instance answered batch id %d, positions %v; want %d, %v", cp.BatchID, cp.Positions, want.checkpoint.BatchID, want.checkpoint.Positions)
	}
	return want
}

func (s SinkSuite) checkFresh(t testing.TB) {
	r := s.start(t)
	cp := r.checkpoint(t, r.open(t))
	if cp.BatchID != 0 || len(cp.Positions) != 0 {
		t.Errorf("Checkpoint of a fresh destination answered batch id %d, positions %v; want 0 and none", cp.BatchID, cp.Positions)
	}
	if rows, rejects := r.count(); rows != 0 || rejects != 0 {
		t.Errorf("a fresh destination holds %d rows and %d rejects", rows, rejects)
	}
}

func (s SinkSuite) checkBadConfigs(t testing.TB) {
	if len(s.BadConfigs) == 0 {
		t.Skip("no BadConfigs given")
	}
	checkBadConfigs(t, s.BadConfigs, func(raw string) error {
		snk := s.New()
		defer snk.Close(callCtx(t, timeout(s.Timeout)))
		return snk.Configure(callCtx(t, timeout(s.Timeout)), config("sink", raw), s.Schema)
	})
}

func (s SinkSuite) checkWrite(t testing.TB) {
	r := s.start(t)
	want := r.batch1(t)
	r.wantState(t, "after batch 1", want)
}

func (s SinkSuite) checkReplay(t testing.TB) {
	r := s.start(t)
	st := r.batch1(t)

	// A crash after the commit: a new instance gets batch 1 again.
	replay := r.request(t, 1, s.Rows, 0,
		record.Position{Partition: partitionA, Offset: 100},
		record.Position{Partition: partitionB, Offset: 200})
	r.write(t, r.open(t), replay)
	r.wantState(t, "after batch 1 was written again", st)

	// Batch 2 touches partition A only: B keeps its position.
	snk := r.open(t)
	two := r.request(t, 2, s.Rows, 100, record.Position{Partition: partitionA, Offset: 300})
	r.write(t, snk, two)
	st = wrote(st, two)
	r.wantState(t, "after batch 2", st)

	// A batch of positions only, as when a partition ends.
	three := plugin.WriteRequest{BatchID: 3, Batch: r.request(t, 3, nil, 0).Batch,
		Positions: []record.Position{{Partition: partitionB, Offset: 250, Done: true}}}
	r.write(t, snk, three)
	st = wrote(st, three)
	r.wantState(t, "after batch 3 of positions only", st)

	// And batch 2 again changes nothing.
	r.write(t, r.open(t), two)
	r.wantState(t, "after batch 2 was written again", st)
}

func (s SinkSuite) checkCancelled(t testing.TB) {
	r := s.start(t)
	st := r.batch1(t)
	snk := r.open(t)
	two := r.request(t, 2, s.Rows, 100, record.Position{Partition: partitionA, Offset: 300})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := snk.Write(ctx, two); err == nil {
		t.Logf("Write with a cancelled context committed batch 2")
		r.wantState(t, "after Write with a cancelled context answered no error", wrote(st, two))
		return
	}
	r.wantState(t, "after Write with a cancelled context failed", st)
	// The same instance still writes.
	retry := r.request(t, 2, s.Rows, 200, record.Position{Partition: partitionA, Offset: 300})
	r.write(t, snk, retry)
	st = wrote(st, retry)
	r.wantState(t, "after a write that followed a cancelled one", st)
}

// refusedBatch writes batch 1 to a fresh destination and returns it, what
// it then holds, a new instance, and batch 2: the Rows and, last, the
// Refused row.
func (s SinkSuite) refusedBatch(t testing.TB) (*sinkRun, state, plugin.Sink, plugin.WriteRequest) {
	t.Helper()
	r := s.start(t)
	st := r.batch1(t)
	rows := append(append([]Row(nil), s.Rows...), *s.Refused)
	return r, st, r.open(t), r.request(t, 2, rows, 100, record.Position{Partition: partitionA, Offset: 300})
}

// wroteRefused returns st after req committed with its last row refused:
// that row among the rejects.
func wroteRefused(st state, req plugin.WriteRequest) state {
	st = wrote(st, req)
	st.rows--
	st.rejects++
	return st
}

func (s SinkSuite) checkRefused(t testing.TB) {
	if s.Refused == nil {
		t.Skip("no Refused row given")
	}
	r, st, snk, two := s.refusedBatch(t)
	if err := snk.Write(r.ctx(t), two); err != nil {
		r.wantState(t, fmt.Sprintf("after a Write with a refused row failed (%v)", err), st)
		return
	}
	// Committed: all of it, the refused row as a reject.
	r.wantState(t, "after a Write with a refused row answered no error", wroteRefused(st, two))
}

func (s SinkSuite) checkAsksForRaw(t testing.TB) {
	if !s.AsksForRaw || s.Refused == nil {
		t.Skip("AsksForRaw not set, or no Refused row given")
	}
	r, st, snk, two := s.refusedBatch(t)
	raw := map[record.Origin]string{}
	for i := range two.Batch.Len() {
		raw[two.Batch.Origin(i)] = string(two.Batch.Raw(i))
	}
	refused := two.Batch.Origin(two.Batch.Len() - 1)
	two.Batch, two.RawHeld = two.Batch.WithoutRaw(), true
	err := snk.Write(r.ctx(t), two)
	need, ok := errors.AsType[*plugin.NeedRaw](err)
	switch {
	case err == nil:
		t.Fatalf("a batch without raw text whose row from %v the destination refuses was committed without asking for the raw text (plugin.NeedRaw)", refused)
	case !ok:
		t.Fatalf("a batch without raw text whose row from %v the destination refuses: Write failed (%v), want plugin.NeedRaw", refused, err)
	case !slices.Contains(need.Origins, refused):
		t.Errorf("NeedRaw names %v, not the refused row's origin %v", need.Origins, refused)
	}
	r.wantState(t, "after a Write that answered NeedRaw", st)
	two.Raw = map[record.Origin]string{}
	for _, o := range need.Origins {
		two.Raw[o] = raw[o]
	}
	if err := snk.Write(r.ctx(t), two); err != nil {
		t.Fatalf("Write given the raw text it asked for: %v", err)
	}
	r.wantState(t, "after the Write given the raw text", wroteRefused(st, two))
}

func (s SinkSuite) checkCloseUnused(t testing.TB) {
	r := s.start(t)
	snk := s.New()
	if err := snk.Configure(r.ctx(t), config("sink", r.config), s.Schema); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if err := snk.Close(r.ctx(t)); err != nil {
		t.Errorf("Close of a sink that wrote nothing: %v", err)
	}
}

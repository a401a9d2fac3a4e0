package engine

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// sharedSink is one database that several etl processes write: offsets
// and batch ids per partition, with the replay check of the Sink contract
// (a batch id at or below the one committed for its partitions is a
// no-op).
type sharedSink struct {
	mu      sync.Mutex
	offsets map[string]record.Position
	ids     map[string]int64
	skipped []int64 // batch ids taken for replays
}

func newSharedSink() *sharedSink {
	return &sharedSink{offsets: map[string]record.Position{}, ids: map[string]int64{}}
}

func (s *sharedSink) Configure(context.Context, plugin.Config, record.Schema) error { return nil }
func (s *sharedSink) Close(context.Context) error                                   { return nil }

func (s *sharedSink) Checkpoint(context.Context) (plugin.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cp plugin.Checkpoint
	for p, pos := range s.offsets {
		cp.Positions = append(cp.Positions, pos)
		cp.BatchID = max(cp.BatchID, s.ids[p])
	}
	slices.SortFunc(cp.Positions, func(a, b record.Position) int { return strings.Compare(a.Partition, b.Partition) })
	return cp, nil
}

func (s *sharedSink) Write(_ context.Context, req plugin.WriteRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var committed int64
	for _, p := range req.Positions {
		committed = max(committed, s.ids[p.Partition])
	}
	if committed >= req.BatchID {
		s.skipped = append(s.skipped, req.BatchID)
		return nil
	}
	// The fence: the engine must say where the batch starts, exactly.
	for _, p := range req.From {
		at, ok := s.offsets[p.Partition]
		if !ok {
			at.Offset = plugin.NothingCommitted
		}
		if at.Offset != p.Offset {
			return fmt.Errorf("fenced: batch %d starts %s from %d, committed at %d", req.BatchID, p.Partition, p.Offset, at.Offset)
		}
	}
	for _, p := range req.Positions {
		s.offsets[p.Partition] = p
		s.ids[p.Partition] = req.BatchID
	}
	return nil
}

// commitAs commits a batch as another etl process would.
func (s *sharedSink) commitAs(id int64, p record.Position) {
	if err := s.Write(context.Background(), plugin.WriteRequest{BatchID: id, Positions: []record.Position{p}}); err != nil {
		panic(err)
	}
}

func (s *sharedSink) offset(partition string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offsets[partition].Offset
}

// groupSource is a Rebalancer that plays a script, one step per Read.
type groupSource struct {
	steps []func() plugin.ReadResult
	k     int

	mu       sync.Mutex
	assigned map[string]int64 // start offsets from Assign
	released []string
	calls    []string
}

func (s *groupSource) Configure(context.Context, plugin.Config) (record.Schema, error) {
	return record.Schema{}, nil
}
func (s *groupSource) Open(context.Context, []record.Position) error { return nil }
func (s *groupSource) Ack(context.Context, []record.Position) error  { return nil }
func (s *groupSource) Close(context.Context) error                   { return nil }

func (s *groupSource) Read(ctx context.Context, _ plugin.ReadRequest) (plugin.ReadResult, error) {
	if s.k < len(s.steps) {
		s.k++
		return s.steps[s.k-1](), nil
	}
	return plugin.ReadResult{CaughtUp: true}, nil
}

func (s *groupSource) Assign(_ context.Context, partitions []string, positions []record.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("assign %v", partitions))
	for _, p := range partitions {
		s.assigned[p] = 0
	}
	for _, p := range positions {
		s.assigned[p.Partition] = p.Offset
	}
	return nil
}

func (s *groupSource) Release(_ context.Context, partitions []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("release %v", partitions))
	s.released = append(s.released, partitions...)
	return nil
}

func (s *groupSource) start(p string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assigned[p]
}

func at(p string, off int64) []record.Position { return []record.Position{{Partition: p, Offset: off}} }

// TestTakenOverPartitionIsWrittenAboveItsLastBatchID: a process that takes
// over a partition another process committed last, with batch ids this
// one has not reached, must write it with a higher id; else the sink takes
// its batches for replays and their rows are lost. The assigned partition
// starts at the position committed by the other process, and a revoked
// one is released only once its batch in flight is committed.
func TestTakenOverPartitionIsWrittenAboveItsLastBatchID(t *testing.T) {
	sink := newSharedSink()
	src := &groupSource{assigned: map[string]int64{}}
	var releasedAt int64 = -1
	src.steps = []func() plugin.ReadResult{
		func() plugin.ReadResult { return plugin.ReadResult{Positions: at("events/0", 5)} },
		func() plugin.ReadResult { return plugin.ReadResult{Positions: at("events/0", 10)} },
		func() plugin.ReadResult {
			// Meanwhile another process, further on in its batch ids,
			// committed events/1 and lost it to this one.
			sink.commitAs(500, record.Position{Partition: "events/1", Offset: 40})
			return plugin.ReadResult{Assigned: []string{"events/1"}}
		},
		func() plugin.ReadResult {
			return plugin.ReadResult{Positions: at("events/1", src.start("events/1")+10)}
		},
		func() plugin.ReadResult {
			// The last batch of events/0 comes with its revocation.
			return plugin.ReadResult{Positions: at("events/0", 15), Revoked: []string{"events/0"}}
		},
		func() plugin.ReadResult {
			releasedAt = sink.offset("events/0")
			return plugin.ReadResult{Positions: at("events/1", src.start("events/1")+20), CaughtUp: true}
		},
	}
	p := Pipeline{Source: Step[plugin.Source]{Name: "source", Plugin: src}, Sink: Step[plugin.Sink]{Name: "sink", Plugin: sink}}
	opts := Options{Once: true, BatchMaxWait: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	if err := Run(context.Background(), p, opts, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := src.start("events/1"); got != 40 {
		t.Errorf("events/1 was assigned at offset %d, want 40 (committed by the other process)", got)
	}
	if got := sink.offset("events/1"); got != 60 {
		t.Errorf("events/1 committed up to %d, want 60; batches taken for replays: %v", got, sink.skipped)
	}
	if len(sink.skipped) > 0 {
		t.Errorf("batches %v were skipped as replays", sink.skipped)
	}
	if sink.ids["events/1"] <= 500 {
		t.Errorf("events/1 last written with batch id %d, want > 500", sink.ids["events/1"])
	}
	if releasedAt != 15 {
		t.Errorf("events/0 was released with offset %d committed, want 15 (its last batch first)", releasedAt)
	}
	if want := []string{"assign [events/1]", "release [events/0]"}; !slices.Equal(src.calls, want) {
		t.Errorf("calls %v, want %v", src.calls, want)
	}
}

// TestZombieBatchIsFenced: a process that still writes a partition
// another process has committed since (it lost the partition without
// hearing of it: its group session expired) tells the sink where its
// batch starts, and the sink refuses it: the run ends with the sink's
// error, and the other process's commit stands.
func TestZombieBatchIsFenced(t *testing.T) {
	sink := newSharedSink()
	sink.commitAs(100, record.Position{Partition: "events/9", Offset: 1}) // this process's ids start above 100
	src := &groupSource{assigned: map[string]int64{}}
	src.steps = []func() plugin.ReadResult{
		func() plugin.ReadResult { return plugin.ReadResult{Positions: at("events/0", 5)} },
		func() plugin.ReadResult {
			// Another process, behind in its batch ids, took events/0 over
			// and committed it up to 50.
			sink.commitAs(60, record.Position{Partition: "events/0", Offset: 50})
			return plugin.ReadResult{Positions: at("events/0", 10), CaughtUp: true}
		},
	}
	p := Pipeline{Source: Step[plugin.Source]{Name: "source", Plugin: src}, Sink: Step[plugin.Sink]{Name: "sink", Plugin: sink}}
	opts := Options{Once: true, BatchMaxWait: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	err := Run(context.Background(), p, opts, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "fenced") {
		t.Fatalf("Run: %v, want the sink's fence error", err)
	}
	if got := sink.offset("events/0"); got != 50 {
		t.Errorf("events/0 committed at %d, want 50: the other process's commit", got)
	}
}

// TestRevokeWaitsForSlowCommit: with a write still going when the source
// revokes its partition, Release comes only after that write committed.
func TestRevokeWaitsForSlowCommit(t *testing.T) {
	slow := &slowSink{sharedSink: newSharedSink(), delay: 100 * time.Millisecond}
	src := &groupSource{assigned: map[string]int64{}}
	var committedAtRelease int64 = -1
	src.steps = []func() plugin.ReadResult{
		func() plugin.ReadResult {
			return plugin.ReadResult{Positions: at("events/3", 7), Revoked: []string{"events/3"}}
		},
		func() plugin.ReadResult {
			committedAtRelease = slow.offset("events/3")
			return plugin.ReadResult{CaughtUp: true}
		},
	}
	p := Pipeline{Source: Step[plugin.Source]{Name: "source", Plugin: src}, Sink: Step[plugin.Sink]{Name: "sink", Plugin: slow}}
	if err := Run(context.Background(), p, Options{Once: true, BatchMaxWait: 10 * time.Millisecond}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if committedAtRelease != 7 {
		t.Errorf("released with offset %d committed, want 7", committedAtRelease)
	}
}

type slowSink struct {
	*sharedSink
	delay time.Duration
}

func (s *slowSink) Write(ctx context.Context, req plugin.WriteRequest) error {
	time.Sleep(s.delay)
	return s.sharedSink.Write(ctx, req)
}

// TestAssignWithoutRebalancerFails: a source that names assigned
// partitions but has no Assign is a clear error, not a silent start.
func TestAssignWithoutRebalancerFails(t *testing.T) {
	src := &plainSource{res: plugin.ReadResult{Assigned: []string{"events/0"}}}
	p := Pipeline{Source: Step[plugin.Source]{Name: "source", Plugin: src}, Sink: Step[plugin.Sink]{Name: "sink", Plugin: newSharedSink()}}
	err := Run(context.Background(), p, Options{Once: true, BatchMaxWait: 10 * time.Millisecond}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no Assign") {
		t.Fatalf("Run = %v, want an error saying the source cannot assign", err)
	}
}

type plainSource struct {
	res  plugin.ReadResult
	done bool
}

func (s *plainSource) Configure(context.Context, plugin.Config) (record.Schema, error) {
	return record.Schema{}, nil
}
func (s *plainSource) Open(context.Context, []record.Position) error { return nil }
func (s *plainSource) Ack(context.Context, []record.Position) error  { return nil }
func (s *plainSource) Close(context.Context) error                   { return nil }
func (s *plainSource) Read(context.Context, plugin.ReadRequest) (plugin.ReadResult, error) {
	if s.done {
		return plugin.ReadResult{CaughtUp: true}, nil
	}
	s.done = true
	return s.res, nil
}

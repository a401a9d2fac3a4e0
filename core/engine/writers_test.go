package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// recordingSink notes when each write starts and ends on a clock shared
// by all writers.
type recordingSink struct {
	writer int
	clock  *atomic.Int64
	mu     *sync.Mutex
	log    map[int64]write // by batch id
	rng    *rand.Rand
}

type write struct {
	writer     int
	start, end int64
	partitions []string
}

func (s *recordingSink) Configure(context.Context, plugin.Config, record.Schema) error { return nil }
func (s *recordingSink) Checkpoint(context.Context) (plugin.Checkpoint, error) {
	return plugin.Checkpoint{}, nil
}
func (s *recordingSink) Close(context.Context) error { return nil }

func (s *recordingSink) Write(_ context.Context, req plugin.WriteRequest) error {
	w := write{writer: s.writer, start: s.clock.Add(1)}
	s.mu.Lock()
	d := time.Duration(s.rng.IntN(300)) * time.Microsecond
	s.mu.Unlock()
	time.Sleep(d)
	w.end = s.clock.Add(1)
	for _, p := range req.Positions {
		w.partitions = append(w.partitions, p.Partition)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.log[req.BatchID]; dup {
		return fmt.Errorf("batch %d written twice", req.BatchID)
	}
	s.log[req.BatchID] = w
	return nil
}

// With several writers, every batch is committed once, all writers work,
// and the batches of a partition never overlap: each starts after the one
// before it ended, in batch order.
func TestWritersKeepEachPartitionInOrder(t *testing.T) {
	for _, writers := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			var clock atomic.Int64
			var mu sync.Mutex
			log := map[int64]write{}
			var sinks []Step[plugin.Sink]
			for w := range writers {
				sinks = append(sinks, Step[plugin.Sink]{Name: fmt.Sprintf("w%d", w),
					Plugin: &recordingSink{writer: w, clock: &clock, mu: &mu, log: log, rng: rand.New(rand.NewPCG(uint64(w), 7))}})
			}
			rng := rand.New(rand.NewPCG(42, uint64(writers)))
			const batches, lastID = 400, 1000
			in := make(chan *item, batches)
			for range batches {
				it := &item{readAt: time.Now()}
				n := 1
				if rng.IntN(10) == 0 {
					n = 2 + rng.IntN(3) // a few batches touch several files
				}
				for _, f := range rng.Perm(12)[:n] {
					it.positions = append(it.positions, record.Position{Partition: fmt.Sprintf("file-%02d.csv", f)})
				}
				in <- it
			}
			close(in)
			acks := make(chan []record.Position, batches)
			var failed error
			writeLoop(context.Background(), func(err error) { failed = err }, sinks, withDefaults(Options{}), newOutage(slog.New(slog.DiscardHandler), &Stats{}, func() {}), idsFrom(lastID), in, acks, &Stats{})
			if failed != nil {
				t.Fatal(failed)
			}
			if len(log) != batches {
				t.Fatalf("%d batches committed, want %d", len(log), batches)
			}
			lastEnd := map[string]int64{}
			used := map[int]bool{}
			for id := int64(lastID + 1); id <= lastID+batches; id++ {
				w, ok := log[id]
				if !ok {
					t.Fatalf("batch %d never committed", id)
				}
				used[w.writer] = true
				for _, p := range w.partitions {
					if w.start < lastEnd[p] {
						t.Errorf("batch %d of %s started before the partition's previous batch ended", id, p)
					}
					lastEnd[p] = w.end
				}
			}
			if len(used) != writers {
				t.Errorf("%d of %d writers were used", len(used), writers)
			}
		})
	}
}

// fakeSource yields batches of one partition each, named by partition(k)
// for the k-th batch, up to n batches; then it has caught up.
type fakeSource struct {
	n         int64
	partition func(k int64) string
	read      atomic.Int64
}

func (s *fakeSource) Configure(context.Context, plugin.Config) (record.Schema, error) {
	return record.Schema{}, nil
}
func (s *fakeSource) Open(context.Context, []record.Position) error { return nil }
func (s *fakeSource) Ack(context.Context, []record.Position) error  { return nil }
func (s *fakeSource) Close(context.Context) error                   { return nil }
func (s *fakeSource) Read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResult, error) {
	if k := s.read.Add(1); k <= s.n {
		return plugin.ReadResult{Positions: []record.Position{{Partition: s.partition(k), Offset: k}}, CaughtUp: k == s.n}, nil
	}
	select { // nothing more: wait as a source does
	case <-ctx.Done():
		return plugin.ReadResult{}, ctx.Err()
	case <-time.After(time.Duration(req.MaxWaitMillis) * time.Millisecond):
	}
	return plugin.ReadResult{CaughtUp: true}, nil
}

// fakeSink takes a while per batch, fails the batch failID, and notes
// the others.
type fakeSink struct {
	failID    int64
	delay     time.Duration
	mu        *sync.Mutex
	committed *[]int64
}

func (s *fakeSink) Configure(context.Context, plugin.Config, record.Schema) error { return nil }
func (s *fakeSink) Checkpoint(context.Context) (plugin.Checkpoint, error) {
	return plugin.Checkpoint{}, nil
}
func (s *fakeSink) Close(context.Context) error { return nil }
func (s *fakeSink) Write(_ context.Context, req plugin.WriteRequest) error {
	time.Sleep(s.delay)
	if req.BatchID == s.failID {
		return errors.New("the database says no")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.committed = append(*s.committed, req.BatchID)
	return nil
}

// runFake runs a pipeline of fakes and returns Run's error and the ids
// committed. A run that does not end within a minute fails the test: it
// hangs.
func runFake(t *testing.T, src *fakeSource, writers int, failID int64, opts Options) (error, []int64) {
	t.Helper()
	var mu sync.Mutex
	var committed []int64
	p := Pipeline{Source: Step[plugin.Source]{Name: "source", Plugin: src}}
	for w := range writers {
		st := Step[plugin.Sink]{Name: fmt.Sprintf("sink#%d", w+1), Plugin: &fakeSink{failID: failID, delay: 2 * time.Millisecond, mu: &mu, committed: &committed}}
		if w == 0 {
			p.Sink = st
		} else {
			p.MoreWriters = append(p.MoreWriters, st)
		}
	}
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), p, opts, nil, nil) }()
	select {
	case err := <-done:
		mu.Lock()
		defer mu.Unlock()
		return err, append([]int64(nil), committed...)
	case <-time.After(time.Minute):
		t.Fatal("Run hangs")
		return nil, nil
	}
}

// With many writers, every batch in flight when reading stops may come
// back as an ack at once: a --once run still ends.
func TestOnceEndsWithManyWriters(t *testing.T) {
	for _, writers := range []int{1, 8, 16} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			src := &fakeSource{n: 60, partition: func(k int64) string { return fmt.Sprintf("p%d", k) }}
			err, committed := runFake(t, src, writers, -1, Options{QueueDepth: 2, Once: true})
			if err != nil || len(committed) != 60 {
				t.Fatalf("Run: %v, %d batches committed; want nil and 60", err, len(committed))
			}
		})
	}
}

// A batch that fails ends the run with its error, also while the source
// has nothing new, and no later batch is written: it could move a
// partition past the failed batch's rows.
func TestWriterFailureEndsTheRun(t *testing.T) {
	for _, writers := range []int{1, 2} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			src := &fakeSource{n: 40, partition: func(int64) string { return "one.csv" }}
			err, committed := runFake(t, src, writers, 3, Options{BatchMaxWait: 20 * time.Millisecond})
			if err == nil || !strings.Contains(err.Error(), "commit batch 3") || !strings.Contains(err.Error(), "the database says no") {
				t.Errorf("Run returned %v, want the failure of batch 3", err)
			}
			for _, id := range committed {
				if id > 3 {
					t.Errorf("batch %d committed after batch 3 of the same file failed", id)
				}
			}
		})
	}
}

// idsFrom hands out batch ids after last.
func idsFrom(last int64) *batchIDs {
	ids := &batchIDs{}
	ids.raise(last)
	return ids
}

package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"etl/core/plugin"
	"etl/core/record"
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
			if err := writeLoop(context.Background(), sinks, withDefaults(Options{}), lastID, in, acks, &Stats{}); err != nil {
				t.Fatal(err)
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

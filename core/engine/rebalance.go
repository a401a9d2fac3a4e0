package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Partitions that come and go: a source that is a plugin.Rebalancer (a
// Kafka consumer group) says in a ReadResult which partitions it was given
// or is losing. Several etl processes may then write one pipeline, each
// owning the partitions it was assigned, and the sink's replay check
// compares batch ids per partition. So:
//
//   - on assign, the reader reads the sink's checkpoint again, starts the
//     partitions at their committed positions (Assign), and raises the
//     batch ids above every id committed for the pipeline, so that no
//     batch of a partition taken over from another process can carry an
//     id at or below the one that process committed last (it would be
//     skipped as a replay, and its rows lost);
//   - on revoke, the reader waits until every batch of those partitions in
//     flight is committed and acknowledged, then lets the source release
//     them (Release): the next owner starts exactly after them.

// batchIDs hands out batch ids: growing, and above every floor raised.
type batchIDs struct {
	mu   sync.Mutex
	last int64
}

// raise makes every later id greater than floor.
func (b *batchIDs) raise(floor int64) {
	b.mu.Lock()
	b.last = max(b.last, floor)
	b.mu.Unlock()
}

// next returns the next id.
func (b *batchIDs) next() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last++
	return b.last
}

// lockedSink makes calls on one sink instance one at a time: the reader
// reads the checkpoint through it while its writer writes.
type lockedSink struct {
	mu sync.Mutex
	plugin.Sink
}

func (s *lockedSink) Checkpoint(ctx context.Context) (plugin.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Sink.Checkpoint(ctx)
}

func (s *lockedSink) Write(ctx context.Context, req plugin.WriteRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Sink.Write(ctx, req)
}

// rebalance is the reader's part in partitions that come and go: it
// counts the batches in flight per partition and answers assignments and
// revocations.
type rebalance struct {
	sink Step[plugin.Sink]
	opts Options
	out  *outage
	ids  *batchIDs
	// held counts, per partition, the batches sent on and not yet
	// acknowledged by a writer.
	held map[string]int
	// at is the position each partition is at: committed (as the sink
	// said at the start or on assign), or reached by the last batch read.
	// Batches of a partition are committed in the order they are read, so
	// it is where the next batch starts (plugin.WriteRequest.From).
	at map[string]record.Position
}

// start sets where the partitions are: the sink's committed positions.
func (r *rebalance) start(committed []record.Position) {
	for _, p := range committed {
		r.at[p.Partition] = p
	}
}

// advance returns where a batch reaching positions starts, and moves the
// partitions there.
func (r *rebalance) advance(positions []record.Position) []record.Position {
	var from []record.Position
	for _, p := range positions {
		at, ok := r.at[p.Partition]
		if !ok {
			at = record.Position{Partition: p.Partition, Offset: plugin.NothingCommitted}
		}
		from = append(from, at)
	}
	for _, p := range positions {
		r.at[p.Partition] = p
	}
	return from
}

// hold counts a batch sent on with positions.
func (r *rebalance) hold(positions []record.Position) {
	for _, p := range positions {
		r.held[p.Partition]++
	}
}

// took counts down the batch a writer committed, whose positions it sent
// back, and adds them to pending.
func (r *rebalance) took(positions []record.Position, pending [][]record.Position) [][]record.Position {
	for _, p := range positions {
		if r.held[p.Partition]--; r.held[p.Partition] <= 0 {
			delete(r.held, p.Partition)
		}
	}
	return append(pending, positions)
}

// drain takes every ack waiting, without waiting.
func (r *rebalance) drain(acks <-chan []record.Position, pending [][]record.Position) [][]record.Position {
	for {
		select {
		case ps, ok := <-acks:
			if !ok {
				return pending
			}
			pending = r.took(ps, pending)
		default:
			return pending
		}
	}
}

// release waits until no batch of partitions is in flight, acknowledges
// what was committed, and lets the source release them. It returns the
// acks it took and did not pass on; with ctx done it returns at once, the
// partitions unreleased (the run is ending).
func (r *rebalance) release(ctx context.Context, src Step[plugin.Source], partitions []string, acks <-chan []record.Position, pending [][]record.Position) ([][]record.Position, error) {
	log := r.opts.Logger
	log.Info("partitions revoked: finishing their batches in flight", "partitions", partitions, "in_flight", r.inFlight(partitions))
	for r.inFlight(partitions) > 0 {
		select {
		case ps := <-acks:
			pending = r.took(ps, pending)
		case <-ctx.Done():
			return pending, nil
		}
	}
	if ps := merge(pending); len(ps) > 0 {
		if err := src.Plugin.Ack(ctx, ps); err != nil {
			return nil, src.err("acknowledge committed positions", err)
		}
	}
	rb, ok := src.Plugin.(plugin.Rebalancer)
	if !ok {
		return nil, src.err("release revoked partitions", errors.New("the source revoked partitions but cannot release them (no Release)"))
	}
	if err := rb.Release(ctx, partitions); err != nil {
		return nil, src.err(fmt.Sprintf("release partitions %v", partitions), err)
	}
	for _, p := range partitions {
		delete(r.at, p) // the next owner moves it on
	}
	log.Info("partitions released", "partitions", partitions)
	return nil, nil
}

// inFlight counts the batches of partitions in flight.
func (r *rebalance) inFlight(partitions []string) int {
	n := 0
	for _, p := range partitions {
		n += r.held[p]
	}
	return n
}

// assign reads the committed positions of partitions from the sink, raises
// the batch ids above every id committed, and starts the partitions there.
func (r *rebalance) assign(ctx context.Context, src Step[plugin.Source], partitions []string) error {
	var cp plugin.Checkpoint
	err := retryUnavailable(ctx, r.opts, r.out, r.sink.Name, "read its checkpoint for assigned partitions", func(ctx context.Context) error {
		var err error
		cp, err = r.sink.Plugin.Checkpoint(ctx)
		return err
	})
	if err != nil {
		return r.sink.err("read its checkpoint for assigned partitions", err)
	}
	// Another process may have committed these partitions last, with ids
	// this one has not reached: go above all of them.
	r.ids.raise(cp.BatchID)
	var positions []record.Position
	for _, p := range partitions {
		delete(r.at, p) // what another owner left, not what this process saw
	}
	for _, p := range cp.Positions {
		if slices.Contains(partitions, p.Partition) {
			positions = append(positions, p)
			r.at[p.Partition] = p
		}
	}
	rb, ok := src.Plugin.(plugin.Rebalancer)
	if !ok {
		return src.err("assign partitions", errors.New("the source assigned partitions but cannot start them (no Assign)"))
	}
	if err := rb.Assign(ctx, partitions, positions); err != nil {
		return src.err(fmt.Sprintf("assign partitions %v", partitions), err)
	}
	r.opts.Logger.Info("partitions assigned", "partitions", partitions, "resumed", len(positions), "last_batch_id", cp.BatchID)
	return nil
}

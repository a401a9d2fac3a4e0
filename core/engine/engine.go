// Package engine runs a pipeline: it reads batches from the source, passes
// them through the transforms and commits them to the sink, stage by stage
// in parallel over bounded queues, with exactly-once checkpoints kept by
// the sink.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/core/spec"
)

// Options tune a run.
type Options struct {
	// BatchMaxRows, BatchMaxBytes and BatchMaxWait close a micro-batch at
	// the source.
	BatchMaxRows  int
	BatchMaxBytes int
	BatchMaxWait  time.Duration
	// QueueDepth is how many batches may wait between two stages.
	QueueDepth int
	// Once stops the run when the source has caught up and everything read
	// is committed, instead of waiting for more input.
	Once bool
	// Logger receives progress and lifecycle messages; nil discards them.
	Logger *slog.Logger
	// OnCommit, when set, is called after each committed batch, by the
	// writer that committed it: concurrently when there are several.
	OnCommit func(Commit)

	// Without Once (a streaming run), a sink call that fails with
	// plugin.ErrUnavailable (its database is down) is retried for as long
	// as it takes, waiting RetryBackoff at first, doubling up to
	// RetryBackoffMax (defaults 250ms and 5s); the pipeline is not ready
	// meanwhile. With Once it ends the run.
	RetryBackoff, RetryBackoffMax time.Duration

	// MaxRestarts and RestartWindow bound Supervise's restarts: after
	// MaxRestarts restarts within RestartWindow, the next death of a
	// plugin ends the run (defaults 5 and 10m; MaxRestarts < 0 means none).
	MaxRestarts   int
	RestartWindow time.Duration
	// RestartBackoff is the wait before the first restart of a series; it
	// doubles with each restart in RestartWindow, up to 30s (default 1s).
	RestartBackoff time.Duration
	// HealthInterval is how often Supervise checks that every plugin
	// process lives and answers; PingTimeout how long an answer may take
	// before the process counts as hung (defaults 1s and 5s).
	HealthInterval, PingTimeout time.Duration
}

// Commit describes one committed batch.
type Commit struct {
	BatchID   int64
	Rows      int
	Rejects   int
	Bytes     int
	Positions []record.Position
	// ReadAt is when the source returned the batch's first read.
	ReadAt time.Time
	// Duration is how long the sink took to commit it.
	Duration time.Duration
}

// Step is a plugin instance with a name, for messages.
type Step[T any] struct {
	Name   string
	Plugin T
	// Wrap, when set, explains an error the plugin returned (e.g. that its
	// process crashed, with its stderr).
	Wrap func(doing string, err error) error
}

func (s Step[T]) err(doing string, err error) error {
	if err == nil {
		return nil
	}
	if s.Wrap != nil {
		return s.Wrap(doing, err)
	}
	return fmt.Errorf("%s: %s: %w", s.Name, doing, err)
}

// Pipeline is a source, its transforms and a sink, configured and ready.
type Pipeline struct {
	Source     Step[plugin.Source]
	Transforms []Step[plugin.Transform]
	Sink       Step[plugin.Sink]
	// MoreWriters are further instances of the sink, configured alike.
	// With them, batches are committed side by side: a batch goes to the
	// writer its partitions belong to, so that each partition is always
	// committed by the same writer, in order. Sink is the first writer.
	MoreWriters []Step[plugin.Sink]
	// SinkAsksForRaw says the sink asks for the raw text of the rows it
	// stores as rejects (plugin.Plugin.SinkAsksForRaw). The engine then
	// holds each batch's raw text, as the source read it, until the batch
	// commits, and lets the last transform leave it out of its output.
	SinkAsksForRaw bool
	// TransformsNeedNoRaw says no transform reads the raw text of its input
	// (plugin.Plugin.TransformNeedsNoRaw). With SinkAsksForRaw, the
	// transforms then get batches without it too, and the engine fills in
	// the raw text of their rejects.
	TransformsNeedNoRaw bool
}

// writers returns every instance of the sink.
func (p Pipeline) writers() []Step[plugin.Sink] {
	return append([]Step[plugin.Sink]{p.Sink}, p.MoreWriters...)
}

// Stats counts what a run has done so far, and what it holds now. Read it
// with Snapshot; the engine alone writes it. It is how a run is observed
// (metrics, progress lines) without the engine knowing who looks.
type Stats struct {
	rowsRead, rowsWritten, rejected, batches, bytesRead atomic.Int64
	lastBatchID                                         atomic.Int64
	running, unavailable                                atomic.Bool

	mu sync.Mutex
	// inFlight holds the read times of the batches read and not yet
	// committed, in read order (with several writers they may commit in another).
	inFlight []time.Time
	// rejectsByType counts the committed rejects by error type.
	rejectsByType map[string]int64
	backlog       *plugin.Backlog
	// quarantined counts the partitions the source set aside, across
	// source restarts; sourceQuarantined is the source's own last count.
	quarantined, sourceQuarantined int64
	restarts                       map[StepPlugin]int64
}

// StepPlugin names a pipeline step and the plugin that serves it.
type StepPlugin struct{ Step, Plugin string }

// StatsSnapshot is a copy of the counters.
type StatsSnapshot struct {
	RowsRead, RowsWritten, Rejected, Batches, BytesRead, LastBatchID int64
	// RejectedByType splits Rejected by error type.
	RejectedByType map[string]int64
	// Running says the pipeline is open and reading: the checkpoint was
	// read and the source opened, and no stop has begun.
	Running bool
	// InFlight is how many batches are read and not yet committed;
	// OldestRead is when the oldest of them was read (zero when none).
	InFlight   int
	OldestRead time.Time
	// Backlog is what the source last said waits to be read; nil when it
	// cannot tell (or has not said yet).
	Backlog *plugin.Backlog
	// Quarantined counts the partitions the source set aside because
	// their input changed under it (csvdir: files quarantined).
	Quarantined int64
	// SinkUnavailable says the sink reports its outside system (its
	// database) unreachable and the run is retrying it.
	SinkUnavailable bool
	// Restarts counts the restarts of the pipeline by the plugin whose
	// death caused them.
	Restarts map[StepPlugin]int64
}

// Ready says the pipeline is running and able to commit: what /readyz
// answers.
func (s StatsSnapshot) Ready() bool { return s.Running && !s.SinkUnavailable }

// Lag is the end-to-end lag at now: the age of the oldest input read and
// not yet committed, 0 when nothing is in flight.
func (s StatsSnapshot) Lag(now time.Time) time.Duration {
	if s.OldestRead.IsZero() || now.Before(s.OldestRead) {
		return 0
	}
	return now.Sub(s.OldestRead)
}

// Snapshot returns the counters now.
func (s *Stats) Snapshot() StatsSnapshot {
	s.mu.Lock()
	snap := StatsSnapshot{InFlight: len(s.inFlight), RejectedByType: make(map[string]int64, len(s.rejectsByType))}
	if len(s.inFlight) > 0 {
		snap.OldestRead = s.inFlight[0]
	}
	for t, n := range s.rejectsByType {
		snap.RejectedByType[t] = n
	}
	if s.backlog != nil {
		b := *s.backlog
		b.Unreadable = slices.Clone(b.Unreadable)
		b.Lag = slices.Clone(b.Lag)
		snap.Backlog = &b
	}
	snap.Quarantined = s.quarantined
	if len(s.restarts) > 0 {
		snap.Restarts = make(map[StepPlugin]int64, len(s.restarts))
		for k, n := range s.restarts {
			snap.Restarts[k] = n
		}
	}
	// The counters are read under the lock too, so that Rejected agrees
	// with RejectedByType.
	snap.RowsRead, snap.RowsWritten, snap.Rejected = s.rowsRead.Load(), s.rowsWritten.Load(), s.rejected.Load()
	snap.Batches, snap.BytesRead, snap.LastBatchID = s.batches.Load(), s.bytesRead.Load(), s.lastBatchID.Load()
	snap.Running = s.running.Load()
	snap.SinkUnavailable = s.unavailable.Load()
	s.mu.Unlock()
	return snap
}

func (s *Stats) setUnavailable(v bool) { s.unavailable.Store(v) }

// knowSteps makes the restart count of each step 0 until it counts, so
// that it is shown from the start.
func (s *Stats) knowSteps(steps []StepPlugin) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restarts == nil {
		s.restarts = map[StepPlugin]int64{}
	}
	for _, k := range steps {
		if _, ok := s.restarts[k]; !ok {
			s.restarts[k] = 0
		}
	}
}

// restarted counts a restart caused by the death of step's plugin.
func (s *Stats) restarted(step, plugin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.restarts == nil {
		s.restarts = map[StepPlugin]int64{}
	}
	s.restarts[StepPlugin{step, plugin}]++
}

// read records a batch read at readAt, now in flight, and the backlog the
// source reported with it.
func (s *Stats) read(rows, bytes int, readAt time.Time, inFlight bool, backlog *plugin.Backlog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rowsRead.Add(int64(rows))
	s.bytesRead.Add(int64(bytes))
	if inFlight {
		s.inFlight = append(s.inFlight, readAt)
	}
	if backlog != nil {
		b := *backlog
		s.backlog = &b
		// The source counts from its Open: a restarted one from 0 again.
		if q := backlog.Quarantined; q >= s.sourceQuarantined {
			s.quarantined += q - s.sourceQuarantined
		} else {
			s.quarantined += q
		}
		s.sourceQuarantined = backlog.Quarantined
	}
}

// dropped forgets the batch read at readAt: the run stops without it.
func (s *Stats) dropped(readAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget(readAt)
}

// forget removes readAt from the batches in flight; s.mu is held.
func (s *Stats) forget(readAt time.Time) {
	for i, t := range s.inFlight {
		if t.Equal(readAt) {
			s.inFlight = append(s.inFlight[:i], s.inFlight[i+1:]...)
			return
		}
	}
}

// committed records the commit of the batch read at readAt. With several
// writers, batches may commit out of read order.
func (s *Stats) committed(id int64, rows int, readAt time.Time, rejects []record.Reject) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget(readAt)
	s.rowsWritten.Add(int64(rows))
	s.rejected.Add(int64(len(rejects)))
	if len(rejects) > 0 && s.rejectsByType == nil {
		s.rejectsByType = map[string]int64{}
	}
	for _, r := range rejects {
		s.rejectsByType[r.ErrorType]++
	}
	s.batches.Add(1)
	if id > s.lastBatchID.Load() {
		s.lastBatchID.Store(id)
	}
}

// forgetInFlight drops the batches in flight: the run ended and they will
// be read again by the next one.
func (s *Stats) forgetInFlight() {
	s.mu.Lock()
	s.inFlight = nil
	s.mu.Unlock()
}

// item is a batch travelling between stages.
type item struct {
	batch     *record.Batch
	rejects   []record.Reject
	positions []record.Position
	// from is where the batch starts in its partitions (see
	// plugin.WriteRequest.From).
	from   []record.Position
	bytes  int
	readAt time.Time
	// held is the batch as the source read it (checked), kept until the
	// commit for its rows' raw text while the sink may need it
	// (plugin.RawHeld); nil otherwise.
	held *record.Batch
}

func (it *item) empty() bool {
	return (it.batch == nil || it.batch.Len() == 0) && len(it.rejects) == 0 && len(it.positions) == 0
}

// Run runs p until ctx is done or stop is closed (then it stops reading,
// commits what is in flight and returns nil), until the source has caught
// up when opts.Once is set, or until a stage fails. The plugins must be
// configured; Run asks the sink for its checkpoint and opens the source
// there. It does not close the plugins. Stats, when not nil, is updated
// as the run goes.
//
// Without opts.Once, a sink call that fails with plugin.ErrUnavailable is
// retried with capped backoff until it succeeds (see Options.RetryBackoff);
// a stop while the sink is unavailable returns nil at once, leaving the
// batches in flight uncommitted, to be read again by the next run. Run
// does not watch the plugin processes: Supervise does.
func Run(ctx context.Context, p Pipeline, opts Options, stop <-chan struct{}, stats *Stats) error {
	opts = withDefaults(opts)
	log := opts.Logger
	if stats == nil {
		stats = &Stats{}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	out := newOutage(log, stats, func() { cancel(errStoppedInOutage) })
	defer out.end()
	// Until the source is open, a stop ends the run at once.
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-stop:
			out.stop()
		case <-stopped:
		}
	}()

	var cp plugin.Checkpoint
	err := retryUnavailable(ctx, opts, out, p.Sink.Name, "read its checkpoint", func(ctx context.Context) error {
		var err error
		cp, err = p.Sink.Plugin.Checkpoint(ctx)
		return err
	})
	if err == errStoppedInOutage || context.Cause(ctx) == errStoppedInOutage {
		log.Info("stopped before the checkpoint could be read: the sink is unavailable")
		return nil
	}
	if err != nil {
		return p.Sink.err("read its checkpoint", err)
	}
	select {
	case <-out.stopped:
		return nil
	default:
	}
	stats.lastBatchID.Store(cp.BatchID)
	log.Info("resuming", "last_batch_id", cp.BatchID, "partitions", len(cp.Positions))
	// The reader reads the checkpoint again when partitions are assigned,
	// while the first writer may be writing: calls on one sink instance
	// are never concurrent.
	p.Sink.Plugin = &lockedSink{Sink: p.Sink.Plugin}
	ids := &batchIDs{}
	ids.raise(cp.BatchID)
	rb := &rebalance{sink: p.Sink, opts: opts, out: out, ids: ids, held: map[string]int{}, at: map[string]record.Position{}}
	rb.start(cp.Positions)
	if err := p.Source.Plugin.Open(ctx, cp.Positions); err != nil {
		return p.Source.err("open", err)
	}
	stats.running.Store(true)
	defer func() {
		stats.running.Store(false)
		stats.forgetInFlight()
	}()

	// readCtx ends on stop too: reading stops first, the rest drains.
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go func() {
		select {
		case <-out.stopped:
			log.Info("stopping: finishing the batches in flight")
			stats.running.Store(false)
			stopReading()
		case <-readCtx.Done():
		}
	}()

	read := make(chan *item, opts.QueueDepth)
	transformed := make(chan *item, opts.QueueDepth)
	// Every batch in flight can come back as an ack while the reader waits
	// in Read, or after it stopped reading; the buffer holds them all, so
	// that a writer never waits. In flight at most: a queue and a batch at
	// each of the reader, the transforms and the dispatcher, and two per
	// writer; acks not yet taken by the reader come from as many more.
	writers := p.writers()
	inFlight := 2*opts.QueueDepth + 3 + 2*len(writers)
	acks := make(chan []record.Position, 2*inFlight+16)
	var wg sync.WaitGroup
	fail := func(err error) { cancel(err) }
	var readerAcks []record.Position // acks the reader took but did not pass on

	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(read)
		left, err := readLoop(readCtx, p.Source, opts, rb, read, acks, stats)
		readerAcks = left
		if err != nil && readCtx.Err() == nil {
			fail(err)
		}
	}()
	go func() {
		defer wg.Done()
		defer close(transformed)
		if err := transformLoop(ctx, p, read, transformed); err != nil {
			fail(err)
		}
	}()
	writeLoop(ctx, fail, writers, opts, out, ids, transformed, acks, stats)
	wg.Wait()
	close(acks)
	if context.Cause(ctx) == errStoppedInOutage {
		// The source is not told of the last commits: like after a crash,
		// the next run learns them from the sink.
		s := stats.Snapshot()
		log.Info("stopped during the sink's outage: the batches in flight were not committed and will be read again",
			"batches", s.Batches, "rows_written", s.RowsWritten, "last_batch_id", s.LastBatchID)
		return nil
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Acknowledge what the reader had no chance to pass on.
	if pending := merge([][]record.Position{readerAcks, mergePositions(acks)}); len(pending) > 0 {
		if err := p.Source.Plugin.Ack(ctx, pending); err != nil {
			return p.Source.err("acknowledge committed positions", err)
		}
	}
	s := stats.Snapshot()
	log.Info("stopped", "batches", s.Batches, "rows_written", s.RowsWritten, "rejected", s.Rejected, "last_batch_id", s.LastBatchID)
	return nil
}

func withDefaults(o Options) Options {
	if o.BatchMaxRows <= 0 {
		o.BatchMaxRows = spec.DefaultBatchMaxRows
	}
	if o.BatchMaxBytes <= 0 {
		o.BatchMaxBytes = spec.DefaultBatchMaxBytes
	}
	if o.BatchMaxWait <= 0 {
		o.BatchMaxWait = 250 * time.Millisecond
	}
	if o.QueueDepth <= 0 {
		o.QueueDepth = 2
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = defaultRetryBackoff
	}
	if o.RetryBackoffMax < o.RetryBackoff {
		o.RetryBackoffMax = max(o.RetryBackoff, defaultRetryBackoffMax)
	}
	if o.MaxRestarts == 0 {
		o.MaxRestarts = 5
	}
	if o.RestartWindow <= 0 {
		o.RestartWindow = 10 * time.Minute
	}
	if o.RestartBackoff <= 0 {
		o.RestartBackoff = time.Second
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = time.Second
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 5 * time.Second
	}
	return o
}

// readLoop reads batches until ctx ends or, with opts.Once, the source has
// caught up. Acks of committed batches are passed to the source between
// reads, so that the source is never called concurrently. Partitions the
// source says were assigned or revoked are answered between reads too
// (see rebalance).
func readLoop(ctx context.Context, src Step[plugin.Source], opts Options, rb *rebalance, out chan<- *item, acks <-chan []record.Position, stats *Stats) (left []record.Position, err error) {
	req := plugin.ReadRequest{MaxRows: opts.BatchMaxRows, MaxBytes: opts.BatchMaxBytes, MaxWaitMillis: opts.BatchMaxWait.Milliseconds()}
	var pending [][]record.Position
	for {
		pending = rb.drain(acks, pending)
		if ps := merge(pending); len(ps) > 0 {
			if err := src.Plugin.Ack(ctx, ps); err != nil {
				return nil, src.err("acknowledge committed positions", err)
			}
		}
		pending = pending[:0]
		if ctx.Err() != nil {
			return nil, nil
		}
		start := time.Now()
		res, err := src.Plugin.Read(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil // stopping: the unread batch is simply read again next run
			}
			return nil, src.err("read", err)
		}
		it := &item{batch: res.Batch, rejects: res.Rejects, positions: res.Positions, from: rb.advance(res.Positions), readAt: start}
		rows := 0
		if res.Batch != nil {
			it.bytes = res.Batch.Size()
			rows = res.Batch.Len()
		}
		// The batch is in flight from now until the writer commits it.
		stats.read(rows, it.bytes, start, !it.empty(), res.Backlog)
		for sent := it.empty(); !sent; {
			select {
			case out <- it:
				sent = true
				rb.hold(it.positions)
			case ps := <-acks:
				pending = rb.took(ps, pending)
			case <-ctx.Done():
				// Stopping: the batch is dropped, read again next run.
				stats.dropped(start)
				return merge(pending), nil
			}
		}
		if len(res.Revoked) > 0 {
			if pending, err = rb.release(ctx, src, res.Revoked, acks, pending); err != nil || ctx.Err() != nil {
				return merge(pending), err
			}
		}
		if len(res.Assigned) > 0 {
			if err := rb.assign(ctx, src, res.Assigned); err != nil {
				if ctx.Err() != nil {
					return merge(pending), nil
				}
				return merge(pending), err
			}
		}
		if opts.Once && res.CaughtUp {
			return merge(pending), nil
		}
	}
}

// transformLoop passes each batch through every transform in order; the
// rejects of each travel on with the batch. When the sink asks for raw
// text, the item holds the source's batch until the commit, for its raw
// text, and the last transform may leave the raw text out of its output;
// when no transform reads raw text either, every transform gets the
// batch without it, and the rejects they return without it get theirs
// from the held batch.
func transformLoop(ctx context.Context, p Pipeline, in <-chan *item, out chan<- *item) error {
	ts := p.Transforms
	for it := range in {
		if p.SinkAsksForRaw && len(ts) > 0 && it.batch != nil && rawFindable(it.batch) {
			it.held = it.batch // the source's, checked
		}
		for i, t := range ts {
			if it.batch == nil || it.batch.Len() == 0 {
				break
			}
			callCtx, in := ctx, it.batch
			if it.held != nil && (p.TransformsNeedNoRaw || i == len(ts)-1) {
				callCtx = host.WithRawHeld(ctx)
				if p.TransformsNeedNoRaw && i == 0 {
					in = in.WithoutRaw()
				}
			}
			b, rejects, err := t.Plugin.Process(callCtx, in)
			if err != nil {
				return t.err("process a batch", err)
			}
			if it.held != nil {
				fillRaw(rejects, it.held)
			}
			it.batch = b
			it.rejects = append(it.rejects, rejects...)
		}
		if it.held != nil && (it.batch == nil || it.batch.Len() == 0 || !p.TransformsNeedNoRaw && it.batch.HasRaw()) {
			// No row left, or the last transform kept the raw text it was
			// given: nothing to hold. (A transform given no raw text may
			// still send an _etl_raw column, of empty raw text.)
			it.held = nil
		}
		select {
		case out <- it:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// writeLoop gives each batch the next batch id and has a writer commit
// it; each writer hands the positions it committed back for
// acknowledgement. Batches of one partition never overlap: a batch goes to
// the writer that has batches of its partitions in flight, or, when none
// has, to the least busy writer. A batch whose partitions are in flight on
// different writers waits until that is no longer so. So each partition
// is committed in batch order, whatever the number of writers.
//
// A writer that fails calls fail, which must cancel ctx: the run ends, and
// no later batch is written (it could move a partition past the failed
// one). writeLoop returns once every writer has stopped.
func writeLoop(ctx context.Context, fail func(error), sinks []Step[plugin.Sink], opts Options, out *outage, ids *batchIDs, in <-chan *item, acks chan<- []record.Position, stats *Stats) {
	const queued = 1 // batches waiting for each writer, besides the one it writes
	queues := make([]chan *job, len(sinks))
	finished := make(chan *job, len(sinks)*(queued+1))
	var wg sync.WaitGroup
	for i := range sinks {
		queues[i] = make(chan *job, queued)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queues[i] {
				if ctx.Err() == nil { // after a failure, nothing more is written
					if err := commit(ctx, sinks[i], opts, out, j, acks, stats); err != nil {
						fail(err)
					}
				}
				finished <- j
			}
		}()
	}

	d := dispatcher{load: make([]int, len(sinks)), owner: map[string]*owned{}}
	func() {
		for {
			var it *item
			select {
			case next, ok := <-in:
				if !ok {
					return
				}
				it = next
			case <-ctx.Done():
				return
			}
			j := &job{it: it, id: ids.next()}
			for {
				w, ok := d.place(it.positions)
				if ok && d.load[w] <= queued {
					d.take(j, w)
					queues[w] <- j // never blocks: the writer has room
					break
				}
				select { // wait for a writer to finish something
				case done := <-finished:
					d.release(done)
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
}

// dispatcher knows which writer holds batches of which partitions.
type dispatcher struct {
	load  []int             // batches queued or being written, per writer
	owner map[string]*owned // partitions with batches in flight
}

type owned struct{ writer, batches int }

// place returns the writer for a batch of positions' partitions: the one
// that has batches of them in flight, else the least busy. false: they are
// in flight on different writers, or the batch names no partition and
// something is in flight.
func (d *dispatcher) place(positions []record.Position) (int, bool) {
	w := -1
	for _, p := range positions {
		if o, ok := d.owner[p.Partition]; ok {
			if w >= 0 && w != o.writer {
				return 0, false
			}
			w = o.writer
		}
	}
	if w >= 0 {
		return w, true
	}
	least := 0
	for i, n := range d.load {
		if n < d.load[least] {
			least = i
		}
	}
	if len(positions) == 0 && d.busy() {
		return 0, false
	}
	return least, true
}

func (d *dispatcher) busy() bool {
	for _, n := range d.load {
		if n > 0 {
			return true
		}
	}
	return false
}

func (d *dispatcher) take(j *job, w int) {
	j.writer = w
	d.load[w]++
	for _, p := range j.it.positions {
		o, ok := d.owner[p.Partition]
		if !ok {
			o = &owned{writer: w}
			d.owner[p.Partition] = o
		}
		o.batches++
	}
}

func (d *dispatcher) release(j *job) {
	d.load[j.writer]--
	for _, p := range j.it.positions {
		if o := d.owner[p.Partition]; o != nil {
			if o.batches--; o.batches == 0 {
				delete(d.owner, p.Partition)
			}
		}
	}
}

// job is a batch for a writer, with its id.
type job struct {
	it     *item
	id     int64
	writer int
}

// commit writes one batch through sink and reports it. An unavailable
// sink is retried as retryUnavailable says: the same batch id again, which
// the sink commits once.
func commit(ctx context.Context, sink Step[plugin.Sink], opts Options, out *outage, j *job, acks chan<- []record.Position, stats *Stats) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	it := j.it
	rows := 0
	if it.batch != nil {
		rows = it.batch.Len()
	}
	start := time.Now()
	req := plugin.WriteRequest{BatchID: j.id, Batch: it.batch, Rejects: it.rejects, Positions: it.positions, From: it.from}
	req.RawHeld = it.held != nil
	err := retryUnavailable(ctx, opts, out, sink.Name, fmt.Sprintf("commit batch %d", j.id), func(ctx context.Context) error {
		for {
			err := sink.Plugin.Write(ctx, req)
			need, ok := errors.AsType[*plugin.NeedRaw](err)
			if !ok {
				return err
			}
			// Nothing was committed: the same batch again, with the raw
			// text asked for (kept for a retry after an outage, and added
			// to when a later attempt has the destination refuse other
			// rows). Asking for raw text already given would never end.
			if !req.RawHeld || !addRaw(&req.Raw, it.held, need.Origins) {
				return fmt.Errorf("asked for the raw text of %d rows, which the engine did not offer or had given: %w", len(need.Origins), err)
			}
		}
	})
	it.held = nil
	if err == errStoppedInOutage {
		return err
	}
	if err != nil {
		return sink.err(fmt.Sprintf("commit batch %d", j.id), err)
	}
	stats.committed(j.id, rows, it.readAt, it.rejects)
	if opts.OnCommit != nil {
		opts.OnCommit(Commit{BatchID: j.id, Rows: rows, Rejects: len(it.rejects), Bytes: it.bytes, Positions: it.positions, ReadAt: it.readAt, Duration: time.Since(start)})
	}
	if len(it.positions) > 0 {
		select {
		case acks <- it.positions:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// mergePositions takes every ack left in a closed channel.
func mergePositions(acks <-chan []record.Position) []record.Position {
	var batches [][]record.Position
	for ps := range acks {
		batches = append(batches, ps)
	}
	return merge(batches)
}

// merge keeps the latest position of each partition, in first-seen order.
func merge(batches [][]record.Position) []record.Position {
	idx := map[string]int{}
	var out []record.Position
	for _, ps := range batches {
		for _, p := range ps {
			if i, ok := idx[p.Partition]; ok {
				out[i] = p
				continue
			}
			idx[p.Partition] = len(out)
			out = append(out, p)
		}
	}
	return out
}

// rawFindable reports whether the raw text of b's rows can be found again
// by origin, so that the engine can hold it for the sink: b is well formed
// (the engine reads it, a source's bytes may be anything), carries raw
// text, and each row has a line (0 means unknown) above the one before it
// from the same source, so that no two rows share an origin.
func rawFindable(b *record.Batch) bool {
	if b.Check() != nil || !b.HasRaw() {
		return false
	}
	last := map[string]int64{}
	prevSrc, prevLine := "", int64(0)
	for i := range b.Len() {
		o := b.Origin(i)
		if o.Source != prevSrc {
			last[prevSrc] = prevLine
			prevSrc, prevLine = o.Source, last[o.Source]
		}
		if o.Line <= prevLine {
			return false
		}
		prevLine = o.Line
	}
	return true
}

// fillRaw gives each reject without raw text the raw text of its origin in
// held, where held has it.
func fillRaw(rejects []record.Reject, held *record.Batch) {
	var origins []record.Origin
	for _, r := range rejects {
		if r.Raw == "" {
			origins = append(origins, r.Origin)
		}
	}
	if len(origins) == 0 {
		return
	}
	raw := rawOf(held, origins)
	for i := range rejects {
		if rejects[i].Raw == "" {
			rejects[i].Raw = raw[rejects[i].Origin]
		}
	}
}

// addRaw adds to *raw the raw text in held of the origins not in it yet
// ("" for one held does not have), and reports whether there were any.
func addRaw(raw *map[record.Origin]string, held *record.Batch, origins []record.Origin) bool {
	var missing []record.Origin
	for _, o := range origins {
		if _, ok := (*raw)[o]; !ok {
			missing = append(missing, o)
		}
	}
	if len(missing) == 0 {
		return false
	}
	if *raw == nil {
		*raw = make(map[record.Origin]string, len(missing))
	}
	found := rawOf(held, missing)
	for _, o := range missing {
		(*raw)[o] = found[o]
	}
	return true
}

// rawOf returns the raw text of the rows of held that come from origins.
// A row's line is looked up first, its source (a longer key) only then.
func rawOf(held *record.Batch, origins []record.Origin) map[record.Origin]string {
	want := make(map[record.Origin]bool, len(origins))
	lines := make(map[int64]bool, len(origins))
	for _, o := range origins {
		want[o], lines[o.Line] = true, true
	}
	raw := make(map[record.Origin]string, len(origins))
	for i := 0; held != nil && i < held.Len() && len(raw) < len(want); i++ {
		if o := held.Origin(i); lines[o.Line] && want[o] {
			raw[o] = string(held.Raw(i))
		}
	}
	return raw
}

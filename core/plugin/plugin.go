// Package plugin is the SDK for writing etl plugins: the Source, Transform
// and Sink interfaces a plugin implements, the types they exchange with the
// engine, DecodeConfig and ConfigErrors for a plugin's `config:` block,
// Logger, ErrUnavailable, and Serve to run them as a plugin process.
//
// A plugin author implements one or more of the interfaces and calls Serve
// from main; with core/record (schemas, batches, rejects, positions)
// nothing else of etl is needed. The engine's side of the protocol lives in
// core/host; the wire format is described in core/plugin/pb/PROTOCOL.md,
// for plugins in other languages.
package plugin

import (
	"context"
	"time"

	"github.com/seed-etl/etl/core/record"
)

// Config is what a plugin gets to configure itself.
type Config struct {
	// Pipeline is the name of the pipeline, from its YAML file.
	Pipeline string
	// Name is the plugin's step name in the pipeline (its YAML key or name).
	Name string
	// Raw is the plugin's YAML `config:` block, with ${VAR} already
	// expanded. Decode it with DecodeConfig.
	Raw []byte
}

// ReadRequest tells a source how large a batch may grow before Read must
// return it.
type ReadRequest struct {
	// MaxRows and MaxBytes close a batch when reached.
	MaxRows  int
	MaxBytes int
	// MaxWaitMillis closes a batch holding at least one row after this
	// long; a source with nothing at all to read returns an empty batch with
	// CaughtUp set after this long instead.
	MaxWaitMillis int64
}

// ReadResult is one batch from a source.
type ReadResult struct {
	// Batch holds the rows read; it may be empty.
	Batch *record.Batch
	// Rejects are inputs the source could not make into rows, e.g.
	// malformed CSV lines.
	Rejects []record.Reject
	// Positions are the positions reached by this batch, one per partition
	// it touched, covering its rows and rejects.
	Positions []record.Position
	// CaughtUp says nothing more was available when the batch was closed.
	CaughtUp bool
	// Backlog, when the source can tell, is what still waits to be read
	// after this batch. Nil means unknown; it feeds etl's backlog metrics.
	Backlog *Backlog
	// Assigned names partitions the source was given since its last Read
	// (e.g. by a consumer group's rebalance). Only a Rebalancer sets it.
	// The source reads nothing of them until the engine calls Assign with
	// their committed positions.
	Assigned []string
	// Revoked names partitions being taken from the source. Only a
	// Rebalancer sets it. This batch may still hold input of them; later
	// ones must not. The source holds on to them until the engine calls
	// Release, once every batch of theirs is committed.
	Revoked []string
}

// Rebalancer is an optional interface of a Source whose partitions are
// assigned and revoked while it runs, as a Kafka consumer group's are.
// Several etl processes may then run one pipeline, each owning the
// partitions it was assigned. The engine calls these between Reads, never
// concurrently with them.
type Rebalancer interface {
	// Assign answers a ReadResult's Assigned: positions are the committed
	// positions of those partitions that have one, read from the sink just
	// now; the others start where the source's settings say (e.g. the
	// earliest offset). The source starts reading them after Assign.
	Assign(ctx context.Context, partitions []string, positions []record.Position) error
	// Release answers a ReadResult's Revoked: every batch of those
	// partitions that the engine had is committed and acknowledged, or the
	// run is ending without it; the source may let them go now.
	Release(ctx context.Context, partitions []string) error
}

// Backlog is what a source has waiting to be read.
type Backlog struct {
	// Partitions is how many partitions (for csvdir, files) hold input
	// not read yet, the one being read included.
	Partitions int64
	// Bytes is how many bytes of input they hold beyond what was read.
	Bytes int64
	// Quarantined counts the partitions set aside since the source opened
	// because their input changed under it (csvdir: files quarantined).
	Quarantined int64
	// Unreadable names the inputs the source cannot read now and left in
	// place (e.g. files without read permission). `etl run --once` fails
	// naming them when they are left at its end.
	Unreadable []string
	// Lag, when the source can tell, is how far each partition's input
	// reaches beyond the position read (Kafka: messages behind the high
	// watermark), for metrics and `etl status`.
	Lag []PartitionLag
}

// PartitionLag is how many messages of one partition wait to be read.
type PartitionLag struct {
	Partition string
	Messages  int64
}

// BacklogReporter is an optional interface of a Source, for `etl status`:
// Backlog returns what waits to be read after positions (the committed
// ones) on a configured source that is not opened. It reads no input and
// changes nothing (no folder created, no file moved). A source that cannot
// tell returns an error wrapping errors.ErrUnsupported.
type BacklogReporter interface {
	Backlog(ctx context.Context, positions []record.Position) (Backlog, error)
}

// Source reads from outside and produces batches.
type Source interface {
	// Configure checks cfg and returns the schema of the rows it produces.
	// Configuration mistakes are returned as ConfigErrors.
	Configure(ctx context.Context, cfg Config) (record.Schema, error)
	// Open starts reading just after the given positions; partitions not
	// in positions are read from their beginning.
	Open(ctx context.Context, positions []record.Position) error
	// Read returns the next batch, waiting as ReadRequest allows.
	Read(ctx context.Context, req ReadRequest) (ReadResult, error)
	// Ack says that everything up to positions is durably committed, e.g.
	// so that finished files can be archived.
	Ack(ctx context.Context, positions []record.Position) error
	// Close releases everything the source holds.
	Close(ctx context.Context) error
}

// Transform turns batches into batches, refusing rows it cannot accept.
type Transform interface {
	// Configure checks cfg against the input schema and returns the output
	// schema.
	Configure(ctx context.Context, cfg Config, in record.Schema) (record.Schema, error)
	// Process returns the accepted rows, transformed, and the rejects. An
	// error (rather than a reject) stops the pipeline.
	Process(ctx context.Context, b *record.Batch) (*record.Batch, []record.Reject, error)
	// Close releases everything the transform holds.
	Close(ctx context.Context) error
}

// Checkpoint is what a sink has durably committed for a pipeline.
type Checkpoint struct {
	// BatchID is the id of the last committed batch, 0 when none.
	BatchID int64
	// Positions are the source positions committed, one per partition.
	Positions []record.Position
}

// Status is where a pipeline stands in its sink, for `etl status`.
type Status struct {
	// Checkpoint is what is committed, as Sink.Checkpoint returns it.
	Checkpoint
	// CommittedAt is when the last batch was committed; zero when unknown
	// or when nothing was.
	CommittedAt time.Time
	// Rejects counts the rejects stored for the pipeline by error type;
	// nil when the sink cannot tell.
	Rejects map[string]int64
}

// StatusReporter is an optional interface of a Sink, for `etl status`:
// Status returns what is committed for the configured pipeline, reading
// only (a sink that creates its tables in Checkpoint does not here). A sink
// that cannot tell returns an error wrapping errors.ErrUnsupported.
type StatusReporter interface {
	Status(ctx context.Context) (Status, error)
}

// CheckResult is what a Checker found that is not a mistake.
type CheckResult struct {
	// Notes say what a run would do that is worth knowing, e.g. "table
	// etl_offsets does not exist; a run creates it".
	Notes []string
}

// Checker is an optional interface of a Sink, for `etl validate`: Check
// looks at the configured sink's destination without changing anything
// (reachable, authenticated, its tables and columns there, its
// privileges). The mistakes it finds are returned as ConfigErrors, with
// the result's notes alongside; another error means it could not check.
// A sink that cannot check returns an error wrapping errors.ErrUnsupported.
type Checker interface {
	Check(ctx context.Context) (CheckResult, error)
}

// WriteRequest is one micro-batch to commit.
type WriteRequest struct {
	// BatchID grows with every batch, across restarts too.
	BatchID   int64
	Batch     *record.Batch
	Rejects   []record.Reject
	Positions []record.Position
	// From is where the batch starts, an entry for each partition of
	// Positions: the position the engine knows was committed, or reached
	// by the batch before this one; Offset NothingCommitted when nothing
	// was. Empty when the engine does not know. A sink may fence with it:
	// when what it has committed for a partition differs (another
	// process wrote the partition since), it refuses the batch with an
	// error instead of writing rows twice.
	From []record.Position
	// RawHeld says the engine holds the raw text of the rows of a Batch
	// without it (Batch.HasRaw false, or rows of empty raw text) and gives
	// it on request: a sink that must store such rows as rejects returns
	// NeedRaw with their origins, committing nothing, and gets the request
	// again with Raw (and RawHeld still set).
	RawHeld bool
	// Raw is the raw text of the rows a NeedRaw named, by origin; a row the
	// engine could not find is not in it (store it with empty raw text).
	Raw map[record.Origin]string
}

// NothingCommitted is the Offset of a WriteRequest.From entry for a
// partition with nothing committed.
const NothingCommitted = -1

// Sink writes batches out, exactly once.
type Sink interface {
	// Configure checks cfg against the schema of the rows it will get.
	Configure(ctx context.Context, cfg Config, in record.Schema) error
	// Checkpoint returns what was committed for cfg.Pipeline so far.
	Checkpoint(ctx context.Context) (Checkpoint, error)
	// Write commits the rows, the rejects and the positions of req
	// atomically, all or none. Writing a batch id at or below the one
	// committed for its partitions must be a no-op, so that a replay is
	// harmless. With engine.writers > 1, several instances of the sink
	// write side by side, never two of them the same partition.
	Write(ctx context.Context, req WriteRequest) error
	// Close releases everything the sink holds.
	Close(ctx context.Context) error
}

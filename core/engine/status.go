package engine

import (
	"context"
	"errors"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Status is where a pipeline stands, read without running it.
type Status struct {
	// BatchID is the id of the last committed batch, 0 when none.
	BatchID int64
	// CommittedAt is when that batch was committed; zero when the sink
	// cannot tell or nothing was committed.
	CommittedAt time.Time
	// Done counts the partitions (for csvdir, files) read to their end and
	// committed; Started those committed in part.
	Done, Started int
	// Backlog is what waits to be read after the committed positions; nil
	// when the source cannot tell.
	Backlog *plugin.Backlog
	// Rejects counts the committed rejects by error type; nil when the sink
	// cannot tell.
	Rejects map[string]int64
	// Positions are the committed positions, one per partition.
	Positions []record.Position
	// BacklogUnavailable, when set, says why Backlog is unknown: the
	// source's outside system (e.g. Kafka's brokers) did not answer.
	BacklogUnavailable error
}

// ReadStatus asks the sink of p what is committed and the source what
// waits after it. The plugins must be configured; the source is not opened
// and nothing is read or written. A sink without plugin.StatusReporter is
// asked for its Checkpoint instead; a source without
// plugin.BacklogReporter leaves Backlog nil.
func ReadStatus(ctx context.Context, p Pipeline) (Status, error) {
	var st plugin.Status
	sr, ok := p.Sink.Plugin.(plugin.StatusReporter)
	var err error
	if ok {
		st, err = sr.Status(ctx)
	}
	if !ok || errors.Is(err, errors.ErrUnsupported) {
		st = plugin.Status{}
		st.Checkpoint, err = p.Sink.Plugin.Checkpoint(ctx)
		if err != nil {
			return Status{}, p.Sink.err("read its checkpoint", err)
		}
	} else if err != nil {
		return Status{}, p.Sink.err("read its status", err)
	}
	out := Status{BatchID: st.BatchID, CommittedAt: st.CommittedAt, Rejects: st.Rejects, Positions: st.Positions}
	for _, pos := range st.Positions {
		if pos.Done {
			out.Done++
		} else {
			out.Started++
		}
	}
	if br, ok := p.Source.Plugin.(plugin.BacklogReporter); ok {
		b, err := br.Backlog(ctx, st.Positions)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
		case errors.Is(err, plugin.ErrUnavailable):
			// What is committed is known all the same.
			out.BacklogUnavailable = p.Source.err("tell its backlog", err)
		case err != nil:
			return Status{}, p.Source.err("tell its backlog", err)
		default:
			out.Backlog = &b
		}
	}
	return out, nil
}

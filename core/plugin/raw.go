package plugin

import (
	"context"
	"fmt"

	"github.com/seed-etl/etl/core/internal/wire"
	"github.com/seed-etl/etl/core/record"
)

// RawHeld reports whether the engine holds the raw text of the rows of the
// batch that a transform's Process call with ctx was given, until they are
// committed: the sink asks for raw text when it needs some
// (Plugin.SinkAsksForRaw) and the transform is the last of the pipeline,
// or every transform reads no raw text (Plugin.TransformNeedsNoRaw; the
// batch then comes without it, and the engine fills in the raw text of the
// rejects returned without it). The transform may then leave raw text out
// of its output (record.Batch.LeaveOutRaw), which spares carrying it to
// the sink.
func RawHeld(ctx context.Context) bool { return wire.RawHeld(ctx) }

// NeedRaw is what a sink's Write returns, having committed nothing, when
// rows it must store as rejects came without their raw text (a batch
// without it, record.Batch.HasRaw false, or rows of empty raw text) and
// the engine holds it (WriteRequest.RawHeld). The engine then calls Write
// again with the same request and WriteRequest.Raw holding the raw text of
// Origins (and RawHeld still set: the sink may ask again for other
// origins, not for those given). The engine offers it, and drops raw text
// on the sink's behalf, only for a sink whose Plugin sets SinkAsksForRaw.
type NeedRaw struct {
	// Origins are where the rows whose raw text is needed came from.
	Origins []record.Origin
}

func (e *NeedRaw) Error() string {
	return fmt.Sprintf("the raw text of %d rows is needed to store them as rejects", len(e.Origins))
}

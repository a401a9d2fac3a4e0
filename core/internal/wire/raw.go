package wire

import (
	"context"

	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
)

// rawHeldKey is the in-process context key of a Process call whose rows'
// raw text the engine holds (pb.ProcessRequest.raw_held).
type rawHeldKey struct{}

// WithRawHeld marks ctx for a Process call whose rows' raw text the engine
// holds.
func WithRawHeld(ctx context.Context) context.Context {
	return context.WithValue(ctx, rawHeldKey{}, true)
}

// RawHeld reports whether ctx carries the mark of WithRawHeld.
func RawHeld(ctx context.Context) bool {
	v, _ := ctx.Value(rawHeldKey{}).(bool)
	return v
}

// OriginsToPB are the messages of os.
func OriginsToPB(os []record.Origin) []*pb.Origin {
	out := make([]*pb.Origin, len(os))
	for i, o := range os {
		out[i] = &pb.Origin{Source: []byte(o.Source), Line: o.Line}
	}
	return out
}

// OriginsFromPB are the origins of messages, nil for none.
func OriginsFromPB(os []*pb.Origin) []record.Origin {
	if len(os) == 0 {
		return nil
	}
	out := make([]record.Origin, len(os))
	for i, o := range os {
		out[i] = record.Origin{Source: string(o.Source), Line: o.Line}
	}
	return out
}

// RawToPB are the messages of the raw texts by origin, nil for none.
func RawToPB(raw map[record.Origin]string) []*pb.RawText {
	if len(raw) == 0 {
		return nil
	}
	out := make([]*pb.RawText, 0, len(raw))
	for o, r := range raw {
		out = append(out, &pb.RawText{Source: []byte(o.Source), Line: o.Line, Raw: []byte(r)})
	}
	return out
}

// RawFromPB are the raw texts of messages by origin, nil for none.
func RawFromPB(raw []*pb.RawText) map[record.Origin]string {
	if len(raw) == 0 {
		return nil
	}
	out := make(map[record.Origin]string, len(raw))
	for _, r := range raw {
		out[record.Origin{Source: string(r.Source), Line: r.Line}] = string(r.Raw)
	}
	return out
}

package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// rawProbe is a transform that leaves raw text out when the engine holds
// it and rejects its first row with a reason saying whether its input had
// raw text; rawSinkProbe a sink that asks for the raw text of every row of
// a batch without it (offered or not), then fails the Write with what it
// was given: so that a test sees what crossed.
type rawProbe struct{}

func (*rawProbe) Configure(_ context.Context, _ plugin.Config, in record.Schema) (record.Schema, error) {
	return in, nil
}
func (*rawProbe) Close(context.Context) error { return nil }
func (*rawProbe) Process(ctx context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	out := record.NewBatch(b.Schema())
	if plugin.RawHeld(ctx) {
		out.LeaveOutRaw()
	}
	rejects := []record.Reject{b.Reject(0, "PROBE", fmt.Sprintf("input with raw text %v", b.HasRaw()))}
	for row := 1; row < b.Len(); row++ {
		out.CopyRow(b, row)
	}
	return out, rejects, nil
}

// rawSinkProbe is rawProbe's sink.
type rawSinkProbe struct{}

func (*rawSinkProbe) Configure(context.Context, plugin.Config, record.Schema) error { return nil }
func (*rawSinkProbe) Close(context.Context) error                                   { return nil }
func (*rawSinkProbe) Checkpoint(context.Context) (plugin.Checkpoint, error) {
	return plugin.Checkpoint{}, nil
}
func (*rawSinkProbe) Write(_ context.Context, req plugin.WriteRequest) error {
	if req.Raw == nil && !req.Batch.HasRaw() {
		need := &plugin.NeedRaw{}
		for row := range req.Batch.Len() {
			need.Origins = append(need.Origins, req.Batch.Origin(row))
		}
		return need
	}
	var got []string
	for o, raw := range req.Raw {
		got = append(got, fmt.Sprintf("%s=%s", o, raw))
	}
	slices.Sort(got)
	return fmt.Errorf("held %v, given %s", req.RawHeld, strings.Join(got, " "))
}

// What lets the raw text stay in the engine crosses the wire: the sink's
// SinkAsksForRaw in Describe, ProcessRequest.raw_held, a batch without the
// _etl_raw column, WriteResponse.need_raw and WriteRequest.raw.
func TestRawTextCrossesTheWire(t *testing.T) {
	p := startProbe(t, Ref{Name: "rawprobe"}, StartOptions{})
	if !p.Info.SinkAsksForRaw || !p.Info.TransformNeedsNoRaw {
		t.Errorf("Describe: SinkAsksForRaw %v, TransformNeedsNoRaw %v; the plugin sets both", p.Info.SinkAsksForRaw, p.Info.TransformNeedsNoRaw)
	}
	if q := startProbe(t, Ref{}, StartOptions{}); q.Info.SinkAsksForRaw || q.Info.TransformNeedsNoRaw {
		t.Error("Describe: SinkAsksForRaw or TransformNeedsNoRaw true for a plugin that sets neither")
	}
	ctx := context.Background()
	schema := record.Schema{Fields: []record.Field{{Name: "v", Type: record.String}}}
	tr, err := p.Transform()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Configure(ctx, plugin.Config{Pipeline: "p", Name: "t"}, schema); err != nil {
		t.Fatal(err)
	}
	in := record.NewBatch(schema)
	for i := range 3 {
		in.StartRow(record.Origin{Source: "in.csv", Line: int64(i + 2)}, fmt.Appendf(nil, "line %d", i+2))
		in.AppendString("x")
	}
	kept, rj, err := tr.Process(ctx, in)
	if err != nil || !kept.HasRaw() || string(kept.Raw(1)) != "line 4" || len(rj) != 1 || rj[0].Reason != "input with raw text true" || rj[0].Raw != "line 2" {
		t.Fatalf("Process without raw_held: %v, rejects %+v; want the raw text kept", err, rj)
	}
	bare, rj, err := tr.Process(WithRawHeld(ctx), in.WithoutRaw())
	if err != nil || bare.HasRaw() || bare.Len() != 2 || bare.Origin(0) != (record.Origin{Source: "in.csv", Line: 3}) ||
		len(rj) != 1 || rj[0].Reason != "input with raw text false" {
		t.Fatalf("Process of a batch without raw text: %v, rejects %+v; want its 2 other rows with their origins, the input seen without raw text", err, rj)
	}
	out, _, err := tr.Process(WithRawHeld(ctx), in)
	if err != nil || out.HasRaw() || out.Len() != 2 || out.Origin(1) != (record.Origin{Source: "in.csv", Line: 4}) {
		t.Fatalf("Process with raw_held: %v, HasRaw %v; want 2 rows with their origins and no raw text", err, out != nil && out.HasRaw())
	}

	sink, err := p.Sink()
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Configure(ctx, plugin.Config{Pipeline: "p", Name: "s"}, schema); err != nil {
		t.Fatal(err)
	}
	req := plugin.WriteRequest{BatchID: 1, Batch: out, RawHeld: true}
	err = sink.Write(ctx, req)
	need, ok := errors.AsType[*plugin.NeedRaw](err)
	if !ok || len(need.Origins) != 2 || need.Origins[0] != (record.Origin{Source: "in.csv", Line: 3}) {
		t.Fatalf("Write of a batch without raw text: %v; want NeedRaw for its 2 rows", err)
	}
	req.RawHeld, req.Raw = false, map[record.Origin]string{{Source: "in.csv", Line: 3}: "line 3", {Source: "in.csv", Line: 4}: "line 4"}
	if err := sink.Write(ctx, req); err == nil || !strings.Contains(err.Error(), "held false, given in.csv:3=line 3 in.csv:4=line 4") {
		t.Errorf("Write with the raw text: %v; want the sink to have got it", err)
	}
	// Not offered: the sink's NeedRaw is a plain failure.
	req.Raw = nil
	err = sink.Write(ctx, req)
	if _, ok := errors.AsType[*plugin.NeedRaw](err); ok || err == nil || !strings.Contains(err.Error(), "the raw text of 2 rows is needed") {
		t.Errorf("Write without raw_held, the sink asking: %v; want a failure, not NeedRaw", err)
	}
}

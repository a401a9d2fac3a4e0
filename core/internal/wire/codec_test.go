package wire

import (
	"fmt"
	"testing"
	"unsafe"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
)

func TestBatchCodecRoundTrip(t *testing.T) {
	msgs := []proto.Message{
		&pb.ReadResponse{Batch: &pb.Batch{Arrow: []byte("the rows")},
			Rejects:   []*pb.Reject{{Source: []byte("a.csv"), Line: 3, Raw: []byte("x,\xff\"y"), ErrorType: "E", Reason: []byte("r")}},
			Positions: []*pb.Position{{Partition: []byte("a.csv"), Offset: 99, Done: true}}, CaughtUp: true},
		&pb.WriteRequest{BatchId: 42, Batch: &pb.Batch{Arrow: []byte{}}, Positions: []*pb.Position{{Partition: []byte("p")}}},
		&pb.ProcessRequest{},
		&pb.ConfigureResponse{Errors: []*pb.ConfigError{{Path: "a.b", Message: "m"}}},
	}
	for _, m := range msgs {
		data, err := batchCodec{}.Marshal(m)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		// The standard codec must read what we write, and we what it writes.
		std := proto.Clone(m)
		proto.Reset(std)
		if err := proto.Unmarshal(data.Materialize(), std); err != nil {
			t.Fatalf("%T: standard unmarshal: %v", m, err)
		}
		if !proto.Equal(std, m) {
			t.Errorf("%T: standard codec read %v, want %v", m, std, m)
		}
		wire, _ := proto.Marshal(m)
		got := proto.Clone(m)
		proto.Reset(got)
		if err := (batchCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, got); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if !proto.Equal(got, m) {
			t.Errorf("%T: batch codec read %v, want %v", m, got, m)
		}
	}
}

// The Arrow stream of a batch is handed to gRPC without being copied, and
// arrives 8-byte aligned (as Arrow's buffers are within the stream)
// however gRPC cut the message into frames.
func TestBatchCodecSendsArrowUncopiedAndAligned(t *testing.T) {
	arrow := make([]byte, 1000)
	for i := range arrow {
		arrow[i] = byte(i)
	}
	for _, rejects := range []int{0, 1, 3} {
		m := &pb.ProcessResponse{Batch: &pb.Batch{Arrow: arrow}}
		for i := 0; i < rejects; i++ {
			m.Rejects = append(m.Rejects, &pb.Reject{Raw: []byte("some raw text"), ErrorType: "E"})
		}
		data, err := batchCodec{}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		shared := false
		for _, b := range data {
			if d := b.ReadOnlyData(); len(d) > 0 && &d[0] == &arrow[0] {
				shared = true
			}
		}
		if !shared {
			t.Error("Marshal copied the Arrow stream")
		}
		wire := data.Materialize()
		for _, cut := range []int{1, 5, 17, len(wire) - 1} {
			in := mem.BufferSlice{mem.SliceBuffer(wire[:cut]), mem.SliceBuffer(wire[cut:])}
			var got pb.ProcessResponse
			if err := (batchCodec{}).Unmarshal(in, &got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&got, m) {
				t.Fatalf("cut at %d: read %v", cut, &got)
			}
			if cut >= 8 && uintptr(unsafe.Pointer(&got.Batch.Arrow[0]))%8 != 0 {
				t.Errorf("cut at %d, %d rejects: the Arrow stream arrived unaligned", cut, rejects)
			}
		}
	}
}

// A batch built in the process crosses the codec without its columns being
// copied into one stream first, and arrives whole.
func TestBuiltBatchCrossesTheCodecUncopied(t *testing.T) {
	schema := record.Schema{Fields: []record.Field{{Name: "s", Type: record.String}, {Name: "n", Type: record.Int64, Nullable: true}}}
	b := record.NewBatch(schema)
	for i := range 2000 {
		b.StartRow(record.Origin{Source: "in.csv", Line: int64(i + 1)}, []byte(fmt.Sprintf("raw line %d", i)))
		b.AppendString(fmt.Sprintf("text %d", i))
		if i%3 == 0 {
			b.AppendNull()
		} else {
			b.AppendInt64(int64(i))
		}
	}
	m, err := EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	data, err := batchCodec{}.Marshal(&pb.ProcessResponse{Batch: m})
	if err != nil {
		t.Fatal(err)
	}
	raw := b.Raw(0)
	aliased := false
	for _, buf := range data {
		if d := buf.ReadOnlyData(); len(d) > 0 && &d[0] == &raw[0] {
			aliased = true
		}
	}
	if !aliased {
		t.Error("the raw text column was copied before gRPC got it")
	}
	var got pb.ProcessResponse
	if err := (batchCodec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(data.Materialize())}, &got); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeBatch(got.Batch, true)
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != 2000 || back.Text(1999, 0) != "text 1999" || !back.IsNull(3, 1) || back.Int64(4, 1) != 4 ||
		back.Origin(7) != (record.Origin{Source: "in.csv", Line: 8}) || string(back.Raw(5)) != "raw line 5" {
		t.Errorf("the batch came back as %d rows, %q", back.Len(), back.Text(1999, 0))
	}
	// Marshalled by the standard codec, the stream is refused, not misread.
	std, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var plain pb.Batch
	if err := proto.Unmarshal(std, &plain); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeBatch(&plain, true); err == nil {
		t.Error("a batch without its attached parts decoded")
	}
}

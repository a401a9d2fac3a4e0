package wire

import (
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/seed-etl/etl/core/plugin/pb"
)

func TestBatchCodecRoundTrip(t *testing.T) {
	msgs := []proto.Message{
		&pb.ReadResponse{Batch: &pb.Batch{Head: []byte("head"), Body: []byte("the rows")},
			Rejects:   []*pb.Reject{{Source: []byte("a.csv"), Line: 3, Raw: []byte("x,\xff\"y"), ErrorType: "E", Reason: []byte("r")}},
			Positions: []*pb.Position{{Partition: []byte("a.csv"), Offset: 99, Done: true}}, CaughtUp: true},
		&pb.WriteRequest{BatchId: 42, Batch: &pb.Batch{Head: []byte("h"), Body: []byte{}}, Positions: []*pb.Position{{Partition: []byte("p")}}},
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

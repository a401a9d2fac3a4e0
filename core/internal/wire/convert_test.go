package wire

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
)

// Refused input is often not valid UTF-8 (that may be why it was
// refused), and file names need not be either: both must cross the wire
// byte for byte.
func TestRejectsAndPositionsCrossTheWireByteForByte(t *testing.T) {
	rejects := []record.Reject{
		{Origin: record.Origin{Source: "in/\xfe.csv", Line: 7}, Raw: "1,\xff\xfe,\x00x", ErrorType: "CSV_PARSE_ERROR", Reason: "invalid UTF-8 at byte 3: \xff"},
		{Origin: record.Origin{Source: "in/a.csv", Line: 8}, Raw: "plain", ErrorType: "E", Reason: "r"},
	}
	positions := []record.Position{{Partition: "in/\xfe.csv size=3", Offset: 12, Done: true}}
	wire, err := proto.Marshal(&pb.ReadResponse{Rejects: RejectsToPB(rejects), Positions: PositionsToPB(positions)})
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var back pb.ReadResponse
	if err := proto.Unmarshal(wire, &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if got := RejectsFromPB(back.Rejects); !reflect.DeepEqual(got, rejects) {
		t.Errorf("rejects came back as %q, want %q", got, rejects)
	}
	if got := PositionsFromPB(back.Positions); !reflect.DeepEqual(got, positions) {
		t.Errorf("positions came back as %+v, want %+v", got, positions)
	}
}

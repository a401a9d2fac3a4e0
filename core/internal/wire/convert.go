package wire

import (
	"fmt"

	"github.com/seed-etl/etl/core/plugin/pb"
	"github.com/seed-etl/etl/core/record"
)

// This file converts between the record types and their protobuf messages,
// for both sides of the wire.

// SchemaToPB is s as its message.
func SchemaToPB(s record.Schema) *pb.Schema {
	out := &pb.Schema{Fields: make([]*pb.Field, len(s.Fields))}
	for i, f := range s.Fields {
		out.Fields[i] = &pb.Field{Name: f.Name, Type: pb.FieldType(f.Type), Scale: int32(f.Scale), Nullable: f.Nullable}
	}
	return out
}

// SchemaFromPB is the schema of a message.
func SchemaFromPB(s *pb.Schema) record.Schema {
	var out record.Schema
	for _, f := range s.GetFields() {
		out.Fields = append(out.Fields, record.Field{Name: f.Name, Type: record.Type(f.Type), Scale: int(f.Scale), Nullable: f.Nullable})
	}
	return out
}

// PositionsToPB are ps as messages.
func PositionsToPB(ps []record.Position) []*pb.Position {
	out := make([]*pb.Position, len(ps))
	for i, p := range ps {
		out[i] = &pb.Position{Partition: []byte(p.Partition), Offset: p.Offset, Done: p.Done}
	}
	return out
}

// PositionsFromPB are the positions of messages.
func PositionsFromPB(ps []*pb.Position) []record.Position {
	out := make([]record.Position, len(ps))
	for i, p := range ps {
		out[i] = record.Position{Partition: string(p.Partition), Offset: p.Offset, Done: p.Done}
	}
	return out
}

// RejectsToPB are rs as messages.
func RejectsToPB(rs []record.Reject) []*pb.Reject {
	out := make([]*pb.Reject, len(rs))
	for i, r := range rs {
		out[i] = &pb.Reject{Source: []byte(r.Origin.Source), Line: r.Origin.Line, Raw: []byte(r.Raw), ErrorType: r.ErrorType, Reason: []byte(r.Reason)}
	}
	return out
}

// RejectsFromPB are the rejects of messages, nil for none.
func RejectsFromPB(rs []*pb.Reject) []record.Reject {
	if len(rs) == 0 {
		return nil
	}
	out := make([]record.Reject, len(rs))
	for i, r := range rs {
		out[i] = record.Reject{Origin: record.Origin{Source: string(r.Source), Line: r.Line}, Raw: string(r.Raw), ErrorType: r.ErrorType, Reason: string(r.Reason)}
	}
	return out
}

// EncodeBatch encodes b for the wire as an Arrow IPC stream without
// copying its columns: the pieces of the stream are attached for the codec
// to send as they are (see attachParts). A batch decoded and not changed
// since goes on as the bytes it came in, so the engine forwards batches
// without decoding them. A nil batch is nil.
func EncodeBatch(b *record.Batch) (*pb.Batch, error) {
	if b == nil {
		return nil, nil
	}
	parts, size, err := b.ArrowParts()
	if err != nil {
		return nil, err
	}
	m := &pb.Batch{Arrow: parts[0]}
	if len(parts) > 1 {
		attachParts(m, parts, size)
	}
	return m, nil
}

// DecodeBatch decodes a batch from the wire, reading only the headers of
// its Arrow messages; check makes it validate the cells, for a side that
// reads them.
func DecodeBatch(m *pb.Batch, check bool) (*record.Batch, error) {
	if m == nil || len(m.Arrow) == 0 {
		return record.NewBatch(record.Schema{}), nil
	}
	b, err := record.UnmarshalArrow(m.Arrow)
	if err != nil {
		return nil, err
	}
	if check {
		if err := b.Check(); err != nil {
			return nil, fmt.Errorf("batch from the engine: %w", err)
		}
	}
	return b, nil
}

package wire

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/seed-etl/etl/core/plugin/pb"
)

// batchCodec is gRPC's protobuf codec with one difference: the rows of a
// batch (pb.Batch.Body, megabytes) are not copied into the outgoing
// message, nor out of the incoming one. On the way out they are handed to
// gRPC as a buffer of their own; on the way in, the message is gathered
// into one buffer of ours (gRPC's Materialize copies its frames there once)
// and the batch aliases it. Every other message, and every other field,
// goes through the standard protobuf code.
type batchCodec struct{}

// The messages that carry a batch, and the number of their batch field.
type batchCarrier interface {
	proto.Message
	GetBatch() *pb.Batch
}

func batchField(m proto.Message) protowire.Number {
	return m.ProtoReflect().Descriptor().Fields().ByName("batch").Number()
}

func (batchCodec) Name() string { return "proto" }

func (batchCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("batch codec: cannot marshal %T", v)
	}
	bc, ok := m.(batchCarrier)
	if !ok || bc.GetBatch() == nil {
		return standard().Marshal(v)
	}
	batch := bc.GetBatch()
	field := batchField(m)
	refl := m.ProtoReflect()
	fd := refl.Descriptor().Fields().ByNumber(field)
	// Marshal everything but the batch, then append the batch field by
	// hand, leaving the body as a separate buffer.
	refl.Clear(fd)
	rest, err := proto.Marshal(m)
	refl.Set(fd, protoreflect.ValueOfMessage(batch.ProtoReflect()))
	if err != nil {
		return nil, err
	}
	inner := protowire.SizeTag(1) + protowire.SizeBytes(len(batch.Head)) + protowire.SizeTag(2) + protowire.SizeVarint(uint64(len(batch.Body))) + len(batch.Body)
	out := rest
	out = protowire.AppendTag(out, field, protowire.BytesType)
	out = protowire.AppendVarint(out, uint64(inner))
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendBytes(out, batch.Head)
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendVarint(out, uint64(len(batch.Body)))
	return mem.BufferSlice{mem.SliceBuffer(out), mem.SliceBuffer(batch.Body)}, nil
}

func (batchCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(batchCarrier)
	if !ok {
		return standard().Unmarshal(data, v)
	}
	buf := data.Materialize() // ours: the batch may alias it
	field := batchField(m)
	var rest []byte
	var batch *pb.Batch
	for p := buf; len(p) > 0; {
		num, typ, n := protowire.ConsumeTag(p)
		if n < 0 {
			return fmt.Errorf("batch codec: %w", protowire.ParseError(n))
		}
		l := protowire.ConsumeFieldValue(num, typ, p[n:])
		if l < 0 {
			return fmt.Errorf("batch codec: %w", protowire.ParseError(l))
		}
		if num == field && typ == protowire.BytesType {
			inner, k := protowire.ConsumeBytes(p[n:])
			if k < 0 {
				return fmt.Errorf("batch codec: %w", protowire.ParseError(k))
			}
			b, err := parseBatch(inner)
			if err != nil {
				return err
			}
			batch = b
		} else {
			rest = append(rest, p[:n+l]...)
		}
		p = p[n+l:]
	}
	if err := proto.Unmarshal(rest, m); err != nil {
		return err
	}
	if batch != nil {
		refl := m.ProtoReflect()
		refl.Set(refl.Descriptor().Fields().ByNumber(field), protoreflect.ValueOfMessage(batch.ProtoReflect()))
	}
	return nil
}

// parseBatch reads a pb.Batch whose head and body alias p.
func parseBatch(p []byte) (*pb.Batch, error) {
	b := &pb.Batch{}
	for len(p) > 0 {
		num, typ, n := protowire.ConsumeTag(p)
		if n < 0 {
			return nil, fmt.Errorf("batch codec: %w", protowire.ParseError(n))
		}
		p = p[n:]
		if typ != protowire.BytesType {
			l := protowire.ConsumeFieldValue(num, typ, p)
			if l < 0 {
				return nil, fmt.Errorf("batch codec: %w", protowire.ParseError(l))
			}
			p = p[l:]
			continue
		}
		v, l := protowire.ConsumeBytes(p)
		if l < 0 {
			return nil, fmt.Errorf("batch codec: %w", protowire.ParseError(l))
		}
		switch num {
		case 1:
			b.Head = v
		case 2:
			b.Body = v
		}
		p = p[l:]
	}
	return b, nil
}

func standard() encoding.CodecV2 { return encoding.GetCodecV2("proto") }

// MaxMessageBytes bounds one gRPC message. Engines close batches far below
// it (see the engine's batch.max_bytes); it only protects against a plugin
// that blows a batch up.
const MaxMessageBytes = 256 << 20

// Batches are megabytes and cross a local socket: a flow-control window
// that holds a whole batch and large socket buffers spare round trips and
// system calls (gRPC's defaults, 64 KiB and 32 KiB, suit small messages).
const (
	windowBytes   = 32 << 20
	ioBufferBytes = 1 << 20
)

// ServerOptions are the gRPC options a plugin serves with, on top of
// go-plugin's: the batch codec, the message size limit, the windows.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.InitialWindowSize(windowBytes), grpc.InitialConnWindowSize(windowBytes),
		grpc.WriteBufferSize(ioBufferBytes), grpc.ReadBufferSize(ioBufferBytes), grpc.ForceServerCodecV2(batchCodec{})}
}

// DialOptions are the gRPC options the engine dials plugins with.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes), grpc.ForceCodecV2(batchCodec{})),
		grpc.WithInitialWindowSize(windowBytes), grpc.WithInitialConnWindowSize(windowBytes),
		grpc.WithWriteBufferSize(ioBufferBytes), grpc.WithReadBufferSize(ioBufferBytes),
	}
}

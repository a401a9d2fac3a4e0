package wire

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/seed-etl/etl/core/plugin/pb"
)

// batchCodec is gRPC's protobuf codec with one difference: the rows of a
// batch (pb.Batch.Arrow, megabytes) are not copied into the outgoing
// message, nor out of the incoming one. On the way out they are handed to
// gRPC as buffers of their own, the batch's columns themselves (see
// outgoing); on the way in, the message is gathered
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
	arrow := mem.BufferSlice{mem.SliceBuffer(batch.Arrow)}
	size := len(batch.Arrow)
	if p, ok := outgoing.LoadAndDelete(uintptr(unsafe.Pointer(batch))); ok {
		ap := p.(*arrowParts)
		arrow, size = make(mem.BufferSlice, len(ap.parts)), ap.size
		for i, part := range ap.parts {
			arrow[i] = mem.SliceBuffer(part)
		}
		ap.parts = nil // the cleanup keeps ap until m is garbage: not the columns too
	}
	field := batchField(m)
	refl := m.ProtoReflect()
	fd := refl.Descriptor().Fields().ByNumber(field)
	// Marshal everything but the batch, then put the batch field in front
	// by hand, leaving the Arrow stream as a separate buffer. In front, the
	// receiver finds where the stream starts in the first bytes.
	refl.Clear(fd)
	rest, err := proto.Marshal(m)
	refl.Set(fd, protoreflect.ValueOfMessage(batch.ProtoReflect()))
	if err != nil {
		return nil, err
	}
	inner := protowire.SizeTag(1) + protowire.SizeVarint(uint64(size)) + size
	var head []byte
	head = protowire.AppendTag(head, field, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(inner))
	head = protowire.AppendTag(head, 1, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(size))
	out := append(mem.BufferSlice{mem.SliceBuffer(head)}, arrow...)
	return append(out, mem.SliceBuffer(rest)), nil
}

// outgoing holds the Arrow streams of batches on their way out in pieces
// that alias the batches' columns (record.Batch.ArrowParts), keyed by the
// address of their pb.Batch, so that Marshal hands them to gRPC without
// joining them. Marshal takes the entry (gRPC marshals a message once, also
// when it retries), so that the columns live on only as long as gRPC needs
// them; an entry never marshalled goes when its pb.Batch becomes garbage. Such a
// pb.Batch's Arrow field holds only the first piece: marshalled by any
// other codec, the stream would be refused as truncated, never misread.
var outgoing sync.Map // uintptr -> *arrowParts

type arrowParts struct {
	parts [][]byte
	size  int
}

// attachParts attaches the pieces of m's Arrow stream, size bytes in all.
func attachParts(m *pb.Batch, parts [][]byte, size int) {
	ap := &arrowParts{parts: parts, size: size}
	key := uintptr(unsafe.Pointer(m))
	outgoing.Store(key, ap)
	runtime.AddCleanup(m, func(ap *arrowParts) { outgoing.CompareAndDelete(key, ap) }, ap)
}

// materialize gathers data into one buffer of ours, placed so that a batch
// field's Arrow stream at the front of the message starts 8-byte aligned,
// as Arrow's buffers are within the stream (record.UnmarshalArrow copies a
// stream that is not).
func materialize(data mem.BufferSlice, field protowire.Number) []byte {
	if len(data) == 0 {
		return nil
	}
	first := data[0].ReadOnlyData()
	at := 0
	num, typ, n := protowire.ConsumeTag(first)
	if n < 0 || num != field || typ != protowire.BytesType {
		return data.Materialize()
	}
	at += n
	if _, n = protowire.ConsumeVarint(first[at:]); n < 0 {
		return data.Materialize()
	}
	at += n
	if num, typ, n = protowire.ConsumeTag(first[at:]); n < 0 || num != 1 || typ != protowire.BytesType {
		return data.Materialize()
	}
	at += n
	if _, n = protowire.ConsumeVarint(first[at:]); n < 0 {
		return data.Materialize()
	}
	at += n
	size := data.Len()
	buf := make([]byte, size+7)
	shift := int(-(uintptr(unsafe.Pointer(&buf[0])) + uintptr(at)) & 7)
	buf = buf[shift : shift+size]
	data.CopyTo(buf)
	return buf
}

func (batchCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(batchCarrier)
	if !ok {
		return standard().Unmarshal(data, v)
	}
	field := batchField(m)
	buf := materialize(data, field) // ours: the batch may alias it
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

// parseBatch reads a pb.Batch whose Arrow stream aliases p.
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
		if num == 1 {
			b.Arrow = v
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
// that holds a whole batch and larger socket buffers spare round trips and
// system calls (gRPC's defaults, 64 KiB and 32 KiB, suit small messages).
// Each end of each connection holds a read and a write buffer: at 1 MiB
// the five processes of the e-commerce pipeline held about 18 MB more
// resident than at 256 KiB, with no CPU or rows/s gained that the bench
// could tell from noise.
const (
	windowBytes   = 32 << 20
	ioBufferBytes = 256 << 10
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

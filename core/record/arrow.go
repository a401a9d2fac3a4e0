package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A batch crosses a plugin boundary as an Apache Arrow IPC stream
// (https://arrow.apache.org/docs/format/Columnar.html#ipc-streaming-format),
// uncompressed: the schema message, one dictionary batch (for
// _etl_source), one record batch and the end-of-stream marker. Any Arrow
// library reads and writes it.
//
// The columns are the schema's fields in order, then three reserved
// columns. Each field's type maps to one Arrow type:
//
//	etl type    Arrow type                 notes
//	string      utf8
//	int64       int64
//	float64     float64
//	bool        bool
//	timestamp   timestamp(us, "UTC")       microseconds since 1970-01-01 UTC
//	decimal     decimal128(18, scale)      values are held as an int64 unscaled value,
//	                                       hence at most 18 digits (precision 18)
//	int16       int16
//	int32       int32
//	date        date32                     days since 1970-01-01
//	uuid        fixed_size_binary(16)      the UUID's bytes in RFC 9562 order
//	json        utf8                       the text of one JSON value; field metadata
//	                                       etl.type = "json" tells it from a string
//	bytes       binary
//
// An Arrow field is nullable when the Field is. Its metadata records the
// etl type name under "etl.type" and, for a decimal, the scale under
// "etl.scale", so that a batch describes itself. Reading a batch made
// elsewhere, a field without etl.type gets the etl type of its Arrow type
// (utf8 a string, binary bytes, fixed_size_binary(16) a uuid); a timestamp
// must be in microseconds (any time zone is read as UTC) and a decimal128
// of precision at most 18.
//
// The reserved columns, after the fields, carry each row's origin and its
// raw input, so that a reject keeps the raw text wherever it happens:
//
//	_etl_source  dictionary<int32, utf8>  where the row came from, e.g. a file or a partition
//	                                      (plain utf8 is accepted on input)
//	_etl_line    int64                    the 1-based line in _etl_source, 0 when not known
//	_etl_raw     binary                   the row's raw input text (utf8 accepted on input)
//
// A batch without them reads as rows of an empty origin and empty raw text.
const (
	SourceColumn = "_etl_source"
	LineColumn   = "_etl_line"
	RawColumn    = "_etl_raw"

	// TypeKey is the Arrow field metadata key holding the etl type name.
	TypeKey = "etl.type"
	// ScaleKey is the Arrow field metadata key holding a decimal's scale.
	ScaleKey = "etl.scale"

	// DecimalPrecision is the precision of every decimal column.
	DecimalPrecision = 18
)

// ErrCorrupt is wrapped by the errors of a batch that cannot be decoded.
var ErrCorrupt = errors.New("corrupt batch")

var (
	timestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	uuidType      = &arrow.FixedSizeBinaryType{ByteWidth: 16}
	sourceType    = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
)

// ArrowType returns the Arrow type of values of field f.
func ArrowType(f Field) arrow.DataType {
	switch f.Type {
	case String, JSON:
		return arrow.BinaryTypes.String
	case Int64:
		return arrow.PrimitiveTypes.Int64
	case Float64:
		return arrow.PrimitiveTypes.Float64
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Timestamp:
		return timestampType
	case Decimal:
		return &arrow.Decimal128Type{Precision: DecimalPrecision, Scale: int32(f.Scale)}
	case Int16:
		return arrow.PrimitiveTypes.Int16
	case Int32:
		return arrow.PrimitiveTypes.Int32
	case Date:
		return arrow.FixedWidthTypes.Date32
	case UUID:
		return uuidType
	}
	return arrow.BinaryTypes.Binary
}

// ArrowSchema returns the Arrow schema of batches of s: its fields, then
// the reserved columns.
func ArrowSchema(s Schema) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(s.Fields)+3)
	for _, f := range s.Fields {
		keys, vals := []string{TypeKey}, []string{f.Type.String()}
		if f.Type == Decimal {
			keys, vals = append(keys, ScaleKey), append(vals, strconv.Itoa(f.Scale))
		}
		fields = append(fields, arrow.Field{Name: f.Name, Type: ArrowType(f), Nullable: f.Nullable, Metadata: arrow.NewMetadata(keys, vals)})
	}
	fields = append(fields,
		arrow.Field{Name: SourceColumn, Type: sourceType},
		arrow.Field{Name: LineColumn, Type: arrow.PrimitiveTypes.Int64},
		arrow.Field{Name: RawColumn, Type: arrow.BinaryTypes.Binary})
	return arrow.NewSchema(fields, nil)
}

// fieldFromArrow returns the Field of Arrow field f.
func fieldFromArrow(f arrow.Field) (Field, error) {
	out := Field{Name: f.Name, Nullable: f.Nullable}
	switch t := f.Type.(type) {
	case *arrow.StringType:
		out.Type = String
	case *arrow.BinaryType:
		out.Type = Bytes
	case *arrow.Int64Type:
		out.Type = Int64
	case *arrow.Float64Type:
		out.Type = Float64
	case *arrow.BooleanType:
		out.Type = Bool
	case *arrow.TimestampType:
		if t.Unit != arrow.Microsecond {
			return out, fmt.Errorf("field %q: timestamp in %s, want us", f.Name, t.Unit)
		}
		out.Type = Timestamp
	case *arrow.Decimal128Type:
		if t.Precision > DecimalPrecision || t.Scale < 0 || t.Scale > t.Precision {
			return out, fmt.Errorf("field %q: %s, want a precision of at most %d", f.Name, t, DecimalPrecision)
		}
		out.Type, out.Scale = Decimal, int(t.Scale)
	case *arrow.Int16Type:
		out.Type = Int16
	case *arrow.Int32Type:
		out.Type = Int32
	case *arrow.Date32Type:
		out.Type = Date
	case *arrow.FixedSizeBinaryType:
		if t.ByteWidth != 16 {
			return out, fmt.Errorf("field %q: %s, want fixed_size_binary[16] (a uuid)", f.Name, t)
		}
		out.Type = UUID
	default:
		return out, fmt.Errorf("field %q: Arrow type %s has no etl type", f.Name, f.Type)
	}
	if name, ok := f.Metadata.GetValue(TypeKey); ok {
		t, err := ParseType(name)
		if err != nil {
			return out, fmt.Errorf("field %q: metadata %s: %w", f.Name, TypeKey, err)
		}
		if ArrowType(Field{Type: t, Scale: out.Scale}).ID() != f.Type.ID() {
			return out, fmt.Errorf("field %q: metadata %s is %s, but its Arrow type is %s", f.Name, TypeKey, t, f.Type)
		}
		out.Type = t
	}
	return out, nil
}

// SchemaFromArrow returns the Schema of batches of Arrow schema s: its
// fields but the reserved columns.
func SchemaFromArrow(s *arrow.Schema) (Schema, error) {
	var out Schema
	for _, f := range s.Fields() {
		switch f.Name {
		case SourceColumn, LineColumn, RawColumn:
			continue
		}
		fld, err := fieldFromArrow(f)
		if err != nil {
			return Schema{}, err
		}
		out.Fields = append(out.Fields, fld)
	}
	return out, nil
}

// bytesOf returns the memory of s as bytes.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

func buffer[T any](s []T) *memory.Buffer { return memory.NewBufferBytes(bytesOf(s)) }

// Record returns the batch as an Arrow record: the fields, then the
// reserved columns (without _etl_raw when the batch carries no raw text). The record aliases the batch; it stays valid while the
// batch is not changed (appending rows makes a new one).
func (b *Batch) Record() arrow.RecordBatch {
	if b.rec != nil {
		return b.rec
	}
	if b.rows > 0 && b.cur != len(b.cols) {
		panic(fmt.Sprintf("record: last row has %d of %d cells", b.cur, len(b.cols)))
	}
	n := b.rows
	cols := make([]arrow.Array, 0, len(b.cols)+3)
	for i := range b.cols {
		c := &b.cols[i]
		var valid *memory.Buffer
		if c.valid != nil && c.nulls > 0 {
			valid = memory.NewBufferBytes(c.valid)
		}
		var bufs []*memory.Buffer
		switch c.kind {
		case varWidth:
			bufs = []*memory.Buffer{valid, buffer(c.offsets[:n+1]), memory.NewBufferBytes(c.data)}
		case fixed8:
			bufs = []*memory.Buffer{valid, buffer(c.i64)}
		case float8:
			bufs = []*memory.Buffer{valid, buffer(c.f64)}
		case fixed4:
			bufs = []*memory.Buffer{valid, buffer(c.i32)}
		case fixed2:
			bufs = []*memory.Buffer{valid, buffer(c.i16)}
		case dec128:
			bufs = []*memory.Buffer{valid, buffer(c.dec)}
		case fixed16:
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(c.data)}
		case bits:
			bools := c.bools
			for len(bools) < (n+7)/8 {
				bools = append(bools, 0)
			}
			bufs = []*memory.Buffer{valid, memory.NewBufferBytes(bools)}
		}
		nulls := c.nulls
		if valid == nil {
			nulls = 0
		}
		cols = append(cols, array.MakeFromData(array.NewData(ArrowType(b.schema.Fields[i]), n, bufs, nil, nulls, 0)))
	}
	// the reserved columns
	srcOff := make([]int32, 1, len(b.sources)+1)
	var srcData []byte
	for _, s := range b.sources {
		srcData = append(srcData, s...)
		srcOff = append(srcOff, int32(len(srcData)))
	}
	dict := array.NewData(arrow.BinaryTypes.String, len(b.sources), []*memory.Buffer{nil, buffer(srcOff), memory.NewBufferBytes(srcData)}, nil, 0, 0)
	srcIdx, lines, rawOff := b.srcIdx, b.lines, b.rawOff
	if len(srcIdx) < n { // a decoded batch without the reserved columns
		srcIdx = make([]int32, n)
		if len(b.sources) == 0 {
			dict = array.NewData(arrow.BinaryTypes.String, 1, []*memory.Buffer{nil, buffer([]int32{0, 0}), nil}, nil, 0, 0)
		}
	}
	if len(lines) < n {
		lines = make([]int64, n)
	}
	cols = append(cols,
		array.MakeFromData(array.NewDataWithDictionary(sourceType, n, []*memory.Buffer{nil, buffer(srcIdx[:n])}, 0, 0, dict)),
		array.MakeFromData(array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, buffer(lines[:n])}, nil, 0, 0)))
	schema := ArrowSchema(b.schema)
	if b.noRaw {
		fields := schema.Fields()
		schema = arrow.NewSchema(fields[:len(fields)-1], nil)
	} else {
		if len(rawOff) < n+1 {
			rawOff = make([]int32, n+1)
		}
		cols = append(cols, array.MakeFromData(array.NewData(arrow.BinaryTypes.Binary, n, []*memory.Buffer{nil, buffer(rawOff[:n+1]), memory.NewBufferBytes(b.raw)}, nil, 0, 0)))
	}
	b.rec = array.NewRecordBatch(schema, cols, int64(n))
	return b.rec
}

// Column returns column i of the batch as an Arrow array (i may name a
// reserved column: Cols(), Cols()+1 and Cols()+2 are _etl_source,
// _etl_line and, when HasRaw, _etl_raw). It aliases the batch, as Record
// does.
func (b *Batch) Column(i int) arrow.Array { return b.Record().Column(i) }

// MarshalArrow encodes the batch as an Arrow IPC stream. A batch decoded
// by UnmarshalArrow and not changed since returns the bytes it was decoded
// from, without copying them.
func (b *Batch) MarshalArrow() ([]byte, error) {
	if b.data != nil {
		return b.data, nil
	}
	parts, size, err := b.ArrowParts()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, size)
	for _, p := range parts {
		out = append(out, p...)
	}
	b.data = out
	return out, nil
}

// ArrowParts returns the IPC stream of MarshalArrow in pieces, and its
// length, without copying the batch's columns: the pieces alias them (and
// stay valid while the batch is not changed), so that a sender can write
// the stream without joining it first.
func (b *Batch) ArrowParts() (parts [][]byte, size int, err error) {
	if b.data != nil {
		return [][]byte{b.data}, len(b.data), nil
	}
	if b.rows > 0 && b.cur != len(b.cols) {
		return nil, 0, fmt.Errorf("encode batch: last row has %d of %d cells", b.cur, len(b.cols))
	}
	if b.size > 1<<31-1 || len(b.raw) > 1<<31-1 {
		return nil, 0, fmt.Errorf("encode batch: %d bytes is too large for 32-bit Arrow offsets", b.size)
	}
	rec := b.Record()
	sp := &streamParts{own: map[*byte]int{}}
	for _, col := range rec.Columns() {
		sp.addOwn(col.Data())
	}
	w := ipc.NewWriter(sp, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		return nil, 0, fmt.Errorf("encode batch: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, 0, fmt.Errorf("encode batch: %w", err)
	}
	sp.flush()
	return sp.parts, sp.size, nil
}

// streamParts is the io.Writer an IPC stream is written to: it keeps the
// batch's own buffers by reference and copies everything else (headers,
// padding, buffers the writer made).
type streamParts struct {
	own   map[*byte]int // where each buffer of the batch starts, and its length
	parts [][]byte
	small []byte // bytes copied since the last part kept by reference
	size  int
}

func (s *streamParts) addOwn(d arrow.ArrayData) {
	for _, buf := range d.Buffers() {
		if buf != nil && buf.Len() > 0 {
			s.own[&buf.Bytes()[0]] = buf.Len()
		}
	}
	if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
		s.addOwn(dict)
	}
}

func (s *streamParts) Write(p []byte) (int, error) {
	s.size += len(p)
	if len(p) >= 512 {
		if n, ok := s.own[&p[0]]; ok && n >= len(p) {
			s.flush()
			s.parts = append(s.parts, p)
			return len(p), nil
		}
	}
	if s.small == nil {
		s.small = make([]byte, 0, max(len(p), 1024))
	}
	s.small = append(s.small, p...)
	return len(p), nil
}

func (s *streamParts) flush() {
	if len(s.small) > 0 {
		s.parts = append(s.parts, s.small)
		s.small = nil
	}
}

// UnmarshalArrow decodes a batch from an Arrow IPC stream of one record
// batch, as MarshalArrow writes it or any Arrow library does for the same
// schema. Only the messages' headers are read; the columns alias data, which
// the caller must not modify afterwards. Check validates the cells.
func UnmarshalArrow(data []byte) (*Batch, error) {
	if len(data) > 0 && uintptr(unsafe.Pointer(&data[0]))%8 != 0 {
		// Arrow's buffers are 8-byte aligned within the stream; a stream
		// that does not start aligned is copied once to one that does.
		aligned := make([]byte, len(data))
		copy(aligned, data)
		data = aligned
	}
	mr := &streamMessages{data: data}
	r, err := ipc.NewReaderFromMessageReader(mr)
	if err != nil {
		return nil, fmt.Errorf("decode batch: %w: %w", ErrCorrupt, err)
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("decode batch: %w: %w", ErrCorrupt, err)
		}
		return nil, fmt.Errorf("decode batch: %w: the stream holds no record batch", ErrCorrupt)
	}
	rec := r.RecordBatch()
	rec.Retain()
	if r.Next() {
		rec.Release()
		return nil, fmt.Errorf("decode batch: %w: the stream holds more than one record batch", ErrCorrupt)
	}
	if err := r.Err(); err != nil {
		rec.Release()
		return nil, fmt.Errorf("decode batch: %w: %w", ErrCorrupt, err)
	}
	b, err := fromRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("decode batch: %w: %w", ErrCorrupt, err)
	}
	b.data = data
	return b, nil
}

// fromRecord returns a batch viewing the columns of rec.
func fromRecord(rec arrow.RecordBatch) (*Batch, error) {
	n64 := rec.NumRows()
	if n64 > 1<<31-1 {
		return nil, fmt.Errorf("%d rows", n64)
	}
	n := int(n64)
	b := &Batch{rows: n, rec: rec, lastIdx: -1, noRaw: true}
	b.cur = 0
	for i, f := range rec.Schema().Fields() {
		d := rec.Column(i).Data()
		if d.Offset() != 0 || d.Len() != n {
			return nil, fmt.Errorf("column %q: %d values from %d, want %d from 0", f.Name, d.Len(), d.Offset(), n)
		}
		switch f.Name {
		case SourceColumn:
			if err := b.readSources(rec.Column(i), n); err != nil {
				return nil, fmt.Errorf("column %s: %w", f.Name, err)
			}
			continue
		case LineColumn:
			if f.Type.ID() != arrow.INT64 {
				return nil, fmt.Errorf("column %s: Arrow type %s, want int64", f.Name, f.Type)
			}
			lines, err := view[int64](d.Buffers()[1], n)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", f.Name, err)
			}
			b.lines = lines
			continue
		case RawColumn:
			if id := f.Type.ID(); id != arrow.BINARY && id != arrow.STRING {
				return nil, fmt.Errorf("column %s: Arrow type %s, want binary", f.Name, f.Type)
			}
			off, data, err := varView(d, n)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", f.Name, err)
			}
			b.rawOff, b.raw, b.noRaw = off, data, false
			continue
		}
		fld, err := fieldFromArrow(f)
		if err != nil {
			return nil, err
		}
		c := column{typ: fld.Type, kind: storageOf(fld.Type)}
		if err := c.view(d, n); err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		b.schema.Fields = append(b.schema.Fields, fld)
		b.cols = append(b.cols, c)
	}
	b.cur = len(b.cols)
	fs, want := rec.Schema().Fields(), len(b.cols)+3
	if b.noRaw {
		want--
	}
	if len(fs) != want || fs[len(b.cols)].Name != SourceColumn || fs[len(b.cols)+1].Name != LineColumn || !b.noRaw && fs[len(b.cols)+2].Name != RawColumn {
		b.rec = nil // Record makes one with the reserved columns at the end
	}
	return b, nil
}

// readSources reads the _etl_source column a.
func (b *Batch) readSources(a arrow.Array, n int) error {
	switch a := a.(type) {
	case *array.Dictionary:
		if a.Indices().DataType().ID() != arrow.INT32 {
			return fmt.Errorf("dictionary indices of Arrow type %s, want int32", a.Indices().DataType())
		}
		dict, ok := a.Dictionary().(*array.String)
		if !ok {
			return fmt.Errorf("dictionary values of Arrow type %s, want utf8", a.Dictionary().DataType())
		}
		idx, err := view[int32](a.Indices().Data().Buffers()[1], n)
		if err != nil {
			return err
		}
		b.sources = make([]string, dict.Len())
		for i := range b.sources {
			b.sources[i] = dict.Value(i)
		}
		b.srcIdx = idx
	case *array.String:
		b.srcIdx = make([]int32, n)
		for i := range n {
			b.srcIdx[i] = b.sourceIndex(a.Value(i))
		}
		b.srcMap, b.lastSrc, b.lastIdx = nil, "", -1
	default:
		return fmt.Errorf("Arrow type %s, want dictionary<int32, utf8>", a.DataType())
	}
	if a.NullN() != 0 {
		return errors.New("has nulls")
	}
	return nil
}

// view returns the first n values of buf as []T, capped, so that
// appending copies. A buffer that is not aligned for T is copied.
func view[T any](buf *memory.Buffer, n int) ([]T, error) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if n == 0 {
		return nil, nil
	}
	if buf == nil {
		return nil, fmt.Errorf("no buffer for %d values", n)
	}
	if buf.Len() < n*size {
		return nil, fmt.Errorf("a buffer of %d bytes for %d values of %d bytes", buf.Len(), n, size)
	}
	bs := buf.Bytes()
	if uintptr(unsafe.Pointer(&bs[0]))%unsafe.Alignof(zero) != 0 {
		s := make([]T, n)
		copy(bytesOf(s), bs)
		return s, nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&bs[0])), n)[:n:n], nil
}

// varView returns the offsets and data of a utf8 or binary array d of n
// values.
func varView(d arrow.ArrayData, n int) ([]int32, []byte, error) {
	bufs := d.Buffers()
	if len(bufs) < 3 {
		return nil, nil, fmt.Errorf("%d buffers, want 3", len(bufs))
	}
	if n == 0 {
		return []int32{0}, nil, nil
	}
	off, err := view[int32](bufs[1], n+1)
	if err != nil {
		return nil, nil, err
	}
	var data []byte
	if bufs[2] != nil {
		data = bufs[2].Bytes()
	}
	return off, data[:len(data):len(data)], nil
}

// view makes c view the n values of Arrow array d.
func (c *column) view(d arrow.ArrayData, n int) error {
	bufs := d.Buffers()
	if len(bufs) < 2 {
		return fmt.Errorf("%d buffers", len(bufs))
	}
	if d.NullN() > 0 {
		if bufs[0] == nil || bufs[0].Len() < (n+7)/8 {
			return errors.New("validity bitmap missing or short")
		}
		c.valid = bufs[0].Bytes()[: (n+7)/8 : (n+7)/8]
		c.nulls = d.NullN()
	}
	var err error
	switch c.kind {
	case varWidth:
		c.plainText = c.valid == nil
		c.offsets, c.data, err = varView(d, n)
	case fixed8:
		c.i64, err = view[int64](bufs[1], n)
	case float8:
		c.f64, err = view[float64](bufs[1], n)
	case fixed4:
		c.i32, err = view[int32](bufs[1], n)
	case fixed2:
		c.i16, err = view[int16](bufs[1], n)
	case dec128:
		c.dec, err = view[uint64](bufs[1], 2*n)
	case fixed16:
		c.data, err = view[byte](bufs[1], 16*n)
	case bits:
		c.bools, err = view[byte](bufs[1], (n+7)/8)
	}
	return err
}

// Check reports whether a decoded batch is well formed: offsets in order
// and in range, sources known, decimals within 18 digits. A batch built
// here always is.
func (b *Batch) Check() error {
	if b.checked {
		return nil
	}
	if err := b.check(); err != nil {
		return fmt.Errorf("decode batch: %w: %w", ErrCorrupt, err)
	}
	b.checked = true
	return nil
}

func (b *Batch) mustCheck() {
	if err := b.Check(); err != nil {
		panic(err)
	}
}

func checkOffsets(off []int32, data []byte) error {
	if len(off) == 0 {
		return nil
	}
	prev := off[0]
	if prev < 0 {
		return fmt.Errorf("offset %d", prev)
	}
	for i, o := range off[1:] {
		if o < prev {
			return fmt.Errorf("offset %d of value %d before %d", o, i, prev)
		}
		prev = o
	}
	if int(prev) > len(data) {
		return fmt.Errorf("offset %d past the %d bytes of data", prev, len(data))
	}
	return nil
}

func (b *Batch) check() error {
	for i := range b.cols {
		c := &b.cols[i]
		switch c.kind {
		case varWidth:
			if err := checkOffsets(c.offsets, c.data); err != nil {
				return fmt.Errorf("column %q: %w", b.schema.Fields[i].Name, err)
			}
		case dec128:
			for r := 0; r < b.rows; r++ {
				if !decimalFits(c.dec[2*r], c.dec[2*r+1]) {
					return fmt.Errorf("column %q row %d: a decimal of more than %d digits", b.schema.Fields[i].Name, r, DecimalPrecision)
				}
			}
		}
	}
	if err := checkOffsets(b.rawOff, b.raw); err != nil {
		return fmt.Errorf("column %s: %w", RawColumn, err)
	}
	for r, s := range b.srcIdx {
		if s < 0 || int(s) >= len(b.sources) {
			return fmt.Errorf("column %s row %d: index %d of a dictionary of %d", SourceColumn, r, s, len(b.sources))
		}
	}
	return nil
}

// streamMessages reads the messages of an IPC stream held in memory,
// without copying them (ipc.NewReader would copy every body).
type streamMessages struct {
	data []byte
	pos  int
}

const continuation = 0xFFFFFFFF

func (m *streamMessages) Retain()  {}
func (m *streamMessages) Release() {}

func (m *streamMessages) Message() (msg *ipc.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("invalid message metadata at byte %d: %v", m.pos, r)
		}
	}()
	p := m.data[m.pos:]
	if len(p) == 0 {
		return nil, io.EOF
	}
	if len(p) < 4 {
		return nil, fmt.Errorf("truncated message at byte %d", m.pos)
	}
	skip := 4
	l := binary.LittleEndian.Uint32(p)
	if l == continuation {
		if len(p) < 8 {
			return nil, fmt.Errorf("truncated message at byte %d", m.pos)
		}
		l = binary.LittleEndian.Uint32(p[4:])
		skip = 8
	}
	if l == 0 {
		m.pos = len(m.data)
		return nil, io.EOF
	}
	if uint64(l) > uint64(len(p)-skip) || l < 4 {
		return nil, fmt.Errorf("message metadata of %d bytes at byte %d of %d", l, m.pos, len(m.data))
	}
	meta := memory.NewBufferBytes(p[skip : skip+int(l)])
	head := ipc.NewMessage(meta, memory.NewBufferBytes(nil))
	bodyLen := head.BodyLen()
	rest := p[skip+int(l):]
	if bodyLen < 0 || bodyLen > int64(len(rest)) {
		return nil, fmt.Errorf("message body of %d bytes at byte %d, %d left", bodyLen, m.pos, len(rest))
	}
	m.pos += skip + int(l) + int(bodyLen)
	return ipc.NewMessage(meta, memory.NewBufferBytes(rest[:bodyLen:bodyLen])), nil
}

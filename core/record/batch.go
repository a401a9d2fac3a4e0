package record

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
)

// Batch is a set of rows with the same columns, held as Apache Arrow
// columns: it crosses a plugin boundary as an Arrow IPC stream (see
// MarshalArrow and the mapping in arrow.go), and a process that only
// forwards a batch never decodes its cells.
//
// Each row keeps where it came from (an Origin) and its raw input text, so
// that any later stage can reject it without losing anything; they travel
// as the reserved columns _etl_source, _etl_line and _etl_raw.
//
// Build a batch with NewBatch, then for each row StartRow followed by exactly
// one Append call per column, of the column's type. Read it with Len, Cols
// and the accessors, which take a row and a column index; or columnar, with
// Record and Column. Accessors read the value of the column's type; the
// zero value when the cell is null. A batch is not safe for concurrent
// building; reading a finished batch from several goroutines is.
type Batch struct {
	schema Schema
	cols   []column
	rows   int
	cur    int // cells appended in the current row
	size   int // bytes of all buffers, for Size

	// the reserved columns
	srcIdx  []int32  // index into sources, per row
	sources []string // the distinct sources, in order of appearance
	lastSrc string   // the source of the previous StartRow, and its index
	lastIdx int32
	srcMap  map[string]int32
	lines   []int64
	rawOff  []int32 // rows+1 offsets into raw
	raw     []byte
	// noRaw says the batch carries no raw text (LeaveOutRaw, or decoded
	// without an _etl_raw column).
	noRaw bool

	// data is the IPC stream the batch was decoded from or last encoded
	// to, while the batch is unchanged since; rec the Arrow record of
	// the rows, made on demand.
	data []byte
	rec  arrow.RecordBatch
	// checked says the batch was built here or has passed Check.
	checked bool
}

// storage is how a column holds its values, after its Arrow type.
type storage uint8

const (
	varWidth storage = iota // utf8 or binary: offsets and data
	fixed8                  // int64, timestamp: i64
	float8                  // float64: f64
	fixed4                  // int32, date32: i32
	fixed2                  // int16: i16
	dec128                  // decimal128: two uint64 words per value in dec
	fixed16                 // fixed_size_binary(16): 16 bytes per value in data
	bits                    // bool: a bitmap in bools
)

// column is one column's values in Arrow's layout (little-endian), built
// here or aliasing a decoded stream.
type column struct {
	typ  Type
	kind storage
	// valid is the validity bitmap, a set bit a value; nil when no cell is
	// null.
	valid []byte
	nulls int
	// plainText says the column is varWidth without nulls (valid nil), for
	// the fast path of Bytes.
	plainText bool

	offsets []int32 // varWidth: rows+1 offsets into data
	data    []byte  // varWidth, fixed16
	i64     []int64
	f64     []float64
	i32     []int32
	i16     []int16
	dec     []uint64
	bools   []byte
}

func storageOf(t Type) storage {
	switch t {
	case Int64, Timestamp:
		return fixed8
	case Float64:
		return float8
	case Int32, Date:
		return fixed4
	case Int16:
		return fixed2
	case Decimal:
		return dec128
	case UUID:
		return fixed16
	case Bool:
		return bits
	}
	return varWidth // String, JSON, Bytes
}

// NewBatch returns an empty batch of rows of schema.
func NewBatch(schema Schema) *Batch {
	b := &Batch{schema: schema, cols: make([]column, len(schema.Fields)), checked: true}
	for i, f := range schema.Fields {
		b.cols[i] = column{typ: f.Type, kind: storageOf(f.Type)}
		if b.cols[i].kind == varWidth {
			b.cols[i].offsets = []int32{0}
			b.cols[i].plainText = true
		}
	}
	b.rawOff = []int32{0}
	b.lastIdx = -1
	return b
}

// Schema returns the schema of the batch's rows.
func (b *Batch) Schema() Schema { return b.schema }

// Len returns the number of rows.
func (b *Batch) Len() int { return b.rows }

// Cols returns the number of columns of each row (the reserved columns
// not counted).
func (b *Batch) Cols() int { return len(b.cols) }

// Size returns the size of the rows in bytes, about their encoded size.
func (b *Batch) Size() int {
	if b.data != nil {
		return len(b.data)
	}
	return b.size
}

// Reset empties a batch built with NewBatch, keeping its memory for reuse.
// Arrays from Record or Column must not be used afterwards.
func (b *Batch) Reset() {
	b.rows, b.cur, b.size = 0, 0, 0
	b.data, b.rec = nil, nil
	for i := range b.cols {
		c := &b.cols[i]
		*c = column{typ: c.typ, kind: c.kind, offsets: c.offsets[:0], data: c.data[:0], i64: c.i64[:0],
			f64: c.f64[:0], i32: c.i32[:0], i16: c.i16[:0], dec: c.dec[:0], bools: c.bools[:0]}
		if c.kind == varWidth {
			c.offsets = append(c.offsets, 0)
			c.plainText = true
		}
	}
	b.srcIdx, b.sources, b.lines = b.srcIdx[:0], b.sources[:0], b.lines[:0]
	b.rawOff, b.raw = append(b.rawOff[:0], 0), b.raw[:0]
	b.noRaw = false
	b.lastSrc, b.lastIdx = "", -1
	clear(b.srcMap)
}

// LeaveOutRaw makes b, still empty, carry no raw text: StartRow keeps the
// origin of each row but not its raw text, and the batch crosses without
// the _etl_raw column. A transform does it when the engine holds the raw
// text of its input (plugin.RawHeld). Reset undoes it.
func (b *Batch) LeaveOutRaw() {
	if b.rows > 0 {
		panic(fmt.Sprintf("record: LeaveOutRaw on a batch of %d rows", b.rows))
	}
	b.changed()
	b.noRaw, b.rawOff, b.raw = true, nil, nil
}

// WithoutRaw returns a batch of the same rows, origins and cells as b
// but no raw text, sharing b's memory: encoding it copies none of the
// cells. A decoded b must have passed Check. b must not change while the
// result is in use, nor the result be appended to.
func (b *Batch) WithoutRaw() *Batch {
	if b.rows > 0 && b.cur != len(b.cols) {
		panic(fmt.Sprintf("record: WithoutRaw of a batch whose last row has %d of %d cells", b.cur, len(b.cols)))
	}
	b.mustCheck()
	return &Batch{schema: b.schema, cols: b.cols, rows: b.rows, cur: b.cur, srcIdx: b.srcIdx, sources: b.sources,
		lastSrc: b.lastSrc, lastIdx: b.lastIdx, lines: b.lines, noRaw: true, checked: true,
		size: b.Size() - len(b.raw) - 4*min(b.rows, len(b.rawOff))}
}

// HasRaw reports whether the batch carries its rows' raw text: false after
// LeaveOutRaw, or for a batch decoded without the _etl_raw column, whose
// rows' Raw is empty.
func (b *Batch) HasRaw() bool { return !b.noRaw }

// Grow makes room for rows more rows of about bytes bytes in all (as Size
// counts them), so that building a batch of known size copies nothing
// twice. The raw text is taken to be half of bytes, the other half is
// shared among the text columns.
func (b *Batch) Grow(rows, bytes int) {
	nvar := 0
	for i := range b.cols {
		if b.cols[i].kind == varWidth {
			nvar++
		}
	}
	perVar := 0
	if nvar > 0 {
		perVar = bytes / 2 / nvar
	}
	for i := range b.cols {
		c := &b.cols[i]
		switch c.kind {
		case varWidth:
			c.offsets = grow(c.offsets, rows)
			c.data = grow(c.data, perVar)
		case fixed8:
			c.i64 = grow(c.i64, rows)
		case float8:
			c.f64 = grow(c.f64, rows)
		case fixed4:
			c.i32 = grow(c.i32, rows)
		case fixed2:
			c.i16 = grow(c.i16, rows)
		case dec128:
			c.dec = grow(c.dec, 2*rows)
		case fixed16:
			c.data = grow(c.data, 16*rows)
		case bits:
			c.bools = grow(c.bools, rows/8+1)
		}
	}
	b.srcIdx = grow(b.srcIdx, rows)
	b.lines = grow(b.lines, rows)
	if !b.noRaw {
		b.rawOff = grow(b.rawOff, rows)
		b.raw = grow(b.raw, bytes/2)
	}
}

// GrowBytes makes room for rows more rows, as Grow does, with the bytes
// of each text column's values given: bytes[i] for column i (ignored for
// the other types, whose size follows from rows; missing entries count as
// 0), and raw bytes of raw text. A stage that builds batches like its last
// one can pass that one's ValueBytes, scaled to the rows to come, and
// reserve neither too much nor too little.
func (b *Batch) GrowBytes(rows int, bytes []int, raw int) {
	for i := range b.cols {
		c := &b.cols[i]
		if c.kind != varWidth {
			continue
		}
		c.offsets = grow(c.offsets, rows)
		if i < len(bytes) && bytes[i] > 0 {
			c.data = grow(c.data, bytes[i])
		}
	}
	b.Grow(rows, 0)
	if !b.noRaw {
		b.raw = grow(b.raw, raw)
	}
}

// ValueBytes returns the bytes of the values of column col: the text of a
// String, JSON or Bytes column, the buffer of the others. Col may name the
// reserved column _etl_raw (Cols()+2), then it is the bytes of all the raw
// text.
func (b *Batch) ValueBytes(col int) int {
	if col == len(b.cols)+2 {
		return len(b.raw)
	}
	c := &b.cols[col]
	switch c.kind {
	case varWidth, fixed16:
		return len(c.data)
	case fixed8:
		return 8 * len(c.i64)
	case float8:
		return 8 * len(c.f64)
	case fixed4:
		return 4 * len(c.i32)
	case fixed2:
		return 2 * len(c.i16)
	case dec128:
		return 8 * len(c.dec)
	}
	return len(c.bools)
}

// grow is slices.Grow for slices that alias nothing: a decoded batch's
// slices have no room beyond their length, so growing them copies.
func grow[T any](s []T, n int) []T {
	if n -= cap(s) - len(s); n > 0 {
		s = append(s[:cap(s)], make([]T, n)...)[:len(s)]
	}
	return s
}

// StartRow begins a new row that came from o with the raw input text raw
// (not kept after LeaveOutRaw). It must be followed by one Append call per
// column.
func (b *Batch) StartRow(o Origin, raw []byte) {
	if b.rows > 0 && b.cur != len(b.cols) {
		panic(fmt.Sprintf("record: row %d has %d of %d cells", b.rows-1, b.cur, len(b.cols)))
	}
	b.changed()
	idx := b.lastIdx
	if idx < 0 || o.Source != b.lastSrc {
		idx = b.sourceIndex(o.Source)
	}
	b.srcIdx = append(b.srcIdx, idx)
	b.lines = append(b.lines, o.Line)
	if b.noRaw {
		b.size += 12
	} else {
		appendTo(&b.raw, raw)
		b.rawOff = append(b.rawOff, int32(len(b.raw)))
		b.size += 16 + len(raw)
	}
	b.rows++
	b.cur = 0
}

func (b *Batch) sourceIndex(s string) int32 {
	idx, ok := b.srcMap[s]
	if !ok {
		if b.srcMap == nil {
			b.srcMap = make(map[string]int32, len(b.sources)+1)
			for i, s := range b.sources {
				b.srcMap[s] = int32(i)
			}
			if idx, ok = b.srcMap[s]; ok {
				b.lastSrc, b.lastIdx = s, idx
				return idx
			}
		}
		idx = int32(len(b.sources))
		b.sources = append(b.sources, s)
		b.srcMap[s] = idx
		b.size += len(s) + 4
	}
	b.lastSrc, b.lastIdx = s, idx
	return idx
}

// changed drops what a batch keeps of its encoded or finished form, before
// it changes.
func (b *Batch) changed() {
	if b.data != nil || b.rec != nil {
		if !b.checked {
			b.mustCheck()
		}
		b.data, b.rec = nil, nil
	}
}

// next returns the column of the next cell of the current row, which must
// be stored as want.
func (b *Batch) next(want storage, what string) *column {
	if b.cur >= len(b.cols) {
		panic(fmt.Sprintf("record: more than %d cells in row %d", len(b.cols), b.rows-1))
	}
	c := &b.cols[b.cur]
	if c.kind != want {
		panic(fmt.Sprintf("record: %s for column %d (%s) of type %s", what, b.cur, b.schema.Fields[b.cur].Name, c.typ))
	}
	b.cur++
	if c.valid != nil {
		setBit(&c.valid, b.rows-1)
	}
	return c
}

// setBit sets bit i of the bitmap *m, growing it as needed.
func setBit(m *[]byte, i int) {
	for len(*m) <= i>>3 {
		*m = append(*m, 0)
	}
	(*m)[i>>3] |= 1 << (i & 7)
}

func bit(m []byte, i int) bool { return m[i>>3]&(1<<(i&7)) != 0 }

// AppendNull appends a null cell.
func (b *Batch) AppendNull() {
	if b.cur >= len(b.cols) {
		panic(fmt.Sprintf("record: more than %d cells in row %d", len(b.cols), b.rows-1))
	}
	c := &b.cols[b.cur]
	b.cur++
	row := b.rows - 1
	if c.valid == nil {
		c.valid = make([]byte, row>>3+1, max(64, row>>2))
		c.plainText = false
		for i := 0; i < row; i++ {
			c.valid[i>>3] |= 1 << (i & 7)
		}
	}
	for len(c.valid) <= row>>3 {
		c.valid = append(c.valid, 0)
	}
	c.nulls++
	switch c.kind {
	case varWidth:
		c.offsets = append(c.offsets, int32(len(c.data)))
	case fixed8:
		c.i64 = append(c.i64, 0)
	case float8:
		c.f64 = append(c.f64, 0)
	case fixed4:
		c.i32 = append(c.i32, 0)
	case fixed2:
		c.i16 = append(c.i16, 0)
	case dec128:
		c.dec = append(c.dec, 0, 0)
	case fixed16:
		c.data = append(c.data, make([]byte, 16)...)
	case bits:
		for len(c.bools) <= row>>3 {
			c.bools = append(c.bools, 0)
		}
	}
	b.size += 4
}

// AppendBytes appends a String, JSON or Bytes cell holding v (not null,
// possibly empty). For JSON, v must be valid JSON text.
func (b *Batch) AppendBytes(v []byte) {
	c := b.next(varWidth, "a text value")
	appendTo(&c.data, v)
	c.offsets = append(c.offsets, int32(len(c.data)))
	b.size += 4 + len(v)
}

// appendTo appends v to *s. Where *s has room it writes only the length:
// `s = append(s, v...)` writes the pointer back as well, and a pointer
// written to the heap while the garbage collector marks goes through its
// write barrier, which cost csvdir an eighth of its CPU.
func appendTo(s *[]byte, v []byte) {
	if n := len(*s); len(v) <= cap(*s)-n {
		*s = (*s)[:n+len(v)]
		copy((*s)[n:], v)
		return
	}
	*s = append(*s, v...)
}

// AppendString appends a String cell holding v.
func (b *Batch) AppendString(v string) {
	c := b.next(varWidth, "a text value")
	c.data = append(c.data, v...)
	c.offsets = append(c.offsets, int32(len(c.data)))
	b.size += 4 + len(v)
}

// AppendInt64 appends an Int64 cell.
func (b *Batch) AppendInt64(v int64) {
	c := b.next(fixed8, "an int64")
	c.i64 = append(c.i64, v)
	b.size += 8
}

// AppendFloat64 appends a Float64 cell.
func (b *Batch) AppendFloat64(v float64) {
	c := b.next(float8, "a float64")
	c.f64 = append(c.f64, v)
	b.size += 8
}

// AppendDecimal appends a Decimal cell holding unscaled / 10^scale, where
// scale is the field's.
func (b *Batch) AppendDecimal(unscaled int64) {
	c := b.next(dec128, "a decimal")
	c.dec = append(c.dec, uint64(unscaled), uint64(unscaled>>63))
	b.size += 16
}

// AppendTimestamp appends a Timestamp cell, kept to the microsecond.
func (b *Batch) AppendTimestamp(t time.Time) { b.AppendMicros(t.UnixMicro()) }

// AppendMicros appends a Timestamp cell of us microseconds since the Unix
// epoch.
func (b *Batch) AppendMicros(us int64) {
	c := b.next(fixed8, "a timestamp")
	c.i64 = append(c.i64, us)
	b.size += 8
}

// AppendInt16 appends an Int16 cell.
func (b *Batch) AppendInt16(v int16) {
	c := b.next(fixed2, "an int16")
	c.i16 = append(c.i16, v)
	b.size += 2
}

// AppendInt32 appends an Int32 cell.
func (b *Batch) AppendInt32(v int32) {
	c := b.next(fixed4, "an int32")
	c.i32 = append(c.i32, v)
	b.size += 4
}

// AppendDate appends a Date cell, days since 1970-01-01 (negative before).
func (b *Batch) AppendDate(days int32) {
	c := b.next(fixed4, "a date")
	c.i32 = append(c.i32, days)
	b.size += 4
}

// AppendUUID appends a UUID cell.
func (b *Batch) AppendUUID(u [16]byte) {
	c := b.next(fixed16, "a UUID")
	c.data = append(c.data, u[:]...)
	b.size += 16
}

// AppendBool appends a Bool cell.
func (b *Batch) AppendBool(v bool) {
	c := b.next(bits, "a bool")
	row := b.rows - 1
	for len(c.bools) <= row>>3 {
		c.bools = append(c.bools, 0)
	}
	if v {
		c.bools[row>>3] |= 1 << (row & 7)
	}
	b.size++
}

// AppendCell appends a copy of cell (row, col) of src, whatever its type;
// the column it goes to must store its values the same way (the same
// type, or String, JSON and Bytes among each other).
func (b *Batch) AppendCell(src *Batch, row, col int) {
	if src.IsNull(row, col) {
		b.AppendNull()
		return
	}
	s := &src.cols[col]
	switch s.kind {
	case varWidth:
		b.AppendBytes(s.data[s.offsets[row]:s.offsets[row+1]])
	case fixed8:
		c := b.next(fixed8, "a "+s.typ.String())
		c.i64 = append(c.i64, s.i64[row])
		b.size += 8
	case float8:
		b.AppendFloat64(s.f64[row])
	case fixed4:
		c := b.next(fixed4, "a "+s.typ.String())
		c.i32 = append(c.i32, s.i32[row])
		b.size += 4
	case fixed2:
		b.AppendInt16(s.i16[row])
	case dec128:
		c := b.next(dec128, "a decimal")
		c.dec = append(c.dec, s.dec[2*row], s.dec[2*row+1])
		b.size += 16
	case fixed16:
		b.AppendUUID(src.UUID(row, col))
	case bits:
		b.AppendBool(src.Bool(row, col))
	}
}

// CopyRow appends row of src, origin, raw text and cells, to b. Both batches
// must have columns of the same types.
func (b *Batch) CopyRow(src *Batch, row int) {
	if len(src.cols) != len(b.cols) {
		panic(fmt.Sprintf("record: CopyRow from %d to %d columns", len(src.cols), len(b.cols)))
	}
	b.StartRow(src.Origin(row), src.Raw(row))
	for c := range src.cols {
		b.AppendCell(src, row, c)
	}
}

// col returns column col, for a cell of row (a row out of range panics).
func (b *Batch) col(row, col int) *column {
	if uint(row) >= uint(b.rows) {
		panic(fmt.Sprintf("record: row %d out of range [0,%d)", row, b.rows))
	}
	return &b.cols[col]
}

// IsNull reports whether cell (row, col) is null.
func (b *Batch) IsNull(row, col int) bool {
	c := &b.cols[col]
	return c.valid != nil && c.valid[row>>3]&(1<<(row&7)) == 0
}

// Bytes returns the value of cell (row, col) as bytes, or nil when it is
// null: the text of a String, JSON or Bytes cell, the 16 bytes of a UUID,
// and for the other types the value as Arrow holds it (little-endian; a
// Bool is one byte, 0 or 1). The slice aliases the batch.
func (b *Batch) Bytes(row, col int) []byte {
	c := &b.cols[col]
	if !c.plainText {
		return b.bytes(c, row)
	}
	o := c.offsets[row : row+2]
	return c.data[o[0]:o[1]:o[1]]
}

// bytes is Bytes for the cells of columns with nulls or of fixed width.
func (b *Batch) bytes(c *column, row int) []byte {
	if uint(row) >= uint(b.rows) {
		panic(fmt.Sprintf("record: row %d out of range [0,%d)", row, b.rows))
	}
	if c.valid != nil && !bit(c.valid, row) {
		return nil
	}
	switch c.kind {
	case varWidth:
		s, e := c.offsets[row], c.offsets[row+1]
		return c.data[s:e:e]
	case fixed8:
		return unsafe.Slice((*byte)(unsafe.Pointer(&c.i64[row])), 8)
	case float8:
		return unsafe.Slice((*byte)(unsafe.Pointer(&c.f64[row])), 8)
	case fixed4:
		return unsafe.Slice((*byte)(unsafe.Pointer(&c.i32[row])), 4)
	case fixed2:
		return unsafe.Slice((*byte)(unsafe.Pointer(&c.i16[row])), 2)
	case dec128:
		return unsafe.Slice((*byte)(unsafe.Pointer(&c.dec[2*row])), 16)
	case fixed16:
		return c.data[16*row : 16*row+16 : 16*row+16]
	case bits:
		if bit(c.bools, row) {
			return []byte{1}
		}
		return []byte{0}
	}
	return nil
}

// Text returns String cell (row, col) as a string ("" when null).
func (b *Batch) Text(row, col int) string { return string(b.Bytes(row, col)) }

// Int64 returns Int64 cell (row, col), 0 when null.
func (b *Batch) Int64(row, col int) int64 { return b.cols[col].i64[row] }

// Float64 returns Float64 cell (row, col), 0 when null.
func (b *Batch) Float64(row, col int) float64 { return b.cols[col].f64[row] }

// Decimal returns the unscaled value of Decimal cell (row, col), 0 when
// null. Decimals are held to 18 digits: the value is the low 64 bits of
// the decimal128, which Check makes sure is all of it.
func (b *Batch) Decimal(row, col int) int64 { return int64(b.cols[col].dec[2*row]) }

// Micros returns Timestamp cell (row, col) as microseconds since the Unix
// epoch, 0 when null.
func (b *Batch) Micros(row, col int) int64 { return b.cols[col].i64[row] }

// Timestamp returns Timestamp cell (row, col) in UTC; the zero time when null.
func (b *Batch) Timestamp(row, col int) time.Time {
	if b.IsNull(row, col) {
		return time.Time{}
	}
	return time.UnixMicro(b.Micros(row, col)).UTC()
}

// Int16 returns Int16 cell (row, col), 0 when null.
func (b *Batch) Int16(row, col int) int16 { return b.cols[col].i16[row] }

// Int32 returns Int32 cell (row, col), 0 when null.
func (b *Batch) Int32(row, col int) int32 { return b.cols[col].i32[row] }

// Days returns Date cell (row, col) as days since 1970-01-01, 0 when null.
func (b *Batch) Days(row, col int) int32 { return b.cols[col].i32[row] }

// Date returns Date cell (row, col) as midnight UTC of its day; the zero
// time when null.
func (b *Batch) Date(row, col int) time.Time {
	if b.IsNull(row, col) {
		return time.Time{}
	}
	return DateTime(b.Days(row, col))
}

// UUID returns UUID cell (row, col), all zeros when null.
func (b *Batch) UUID(row, col int) [16]byte {
	var u [16]byte
	c := b.col(row, col)
	copy(u[:], c.data[16*row:16*row+16])
	return u
}

// Bool returns Bool cell (row, col), false when null.
func (b *Batch) Bool(row, col int) bool {
	c := &b.cols[col]
	return bit(c.bools, row) && (c.valid == nil || bit(c.valid, row))
}

// Raw returns the raw input text of row (empty when the batch carries none:
// see HasRaw). The slice aliases the batch.
func (b *Batch) Raw(row int) []byte {
	if len(b.rawOff) <= row {
		if uint(row) >= uint(b.rows) {
			panic(fmt.Sprintf("record: row %d out of range [0,%d)", row, b.rows))
		}
		return nil
	}
	s, e := b.rawOff[row], b.rawOff[row+1]
	return b.raw[s:e:e]
}

// Origin returns where row came from (the zero Origin when the batch has
// no _etl_source and _etl_line columns).
func (b *Batch) Origin(row int) Origin {
	if uint(row) >= uint(b.rows) {
		panic(fmt.Sprintf("record: row %d out of range [0,%d)", row, b.rows))
	}
	var o Origin
	if row < len(b.srcIdx) {
		o.Source = b.sources[b.srcIdx[row]]
	}
	if row < len(b.lines) {
		o.Line = b.lines[row]
	}
	return o
}

// Reject returns a Reject for row with the given error type and reason.
func (b *Batch) Reject(row int, errorType, reason string) Reject {
	return Reject{Origin: b.Origin(row), Raw: string(b.Raw(row)), ErrorType: errorType, Reason: reason}
}

// decimalFits reports whether the decimal128 of words lo, hi is an int64.
func decimalFits(lo, hi uint64) bool { return hi == uint64(int64(lo)>>63) }

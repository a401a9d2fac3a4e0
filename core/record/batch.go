package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Batch is a set of rows with the same columns, stored in the form in which
// it crosses a plugin boundary, so that encoding is a copy and a process that
// only forwards a batch never decodes its cells.
//
// Each row keeps where it came from (an Origin) and its raw input text, so
// that any later stage can reject it without losing anything.
//
// Build a batch with NewBatch, then for each row StartRow followed by exactly
// one Append call per column. Read it with Len, Cols and the accessors, which
// take a row and a column index. The encoding of each Type is documented on
// the Type constants.
type Batch struct {
	cols    int
	rows    int
	sources []string
	srcIdx  map[string]uint32
	body    []byte

	// index, built while appending or lazily after decoding
	indexed bool
	meta    []rowMeta
	cells   []span
	cur     int // cells appended in the current row

	// head is the encoded head the batch was decoded from, reused by
	// Parts while the batch is unchanged.
	head []byte
}

type rowMeta struct {
	src       uint32
	line      int64
	raw       span
	cellStart uint32
	// start is where the row begins in body, rest where it goes on after
	// its source index: CopyRow copies body[rest:end] as it is.
	start, rest uint32
}

type span struct{ start, end uint32 }

const nullStart = math.MaxUint32

// NewBatch returns an empty batch of rows with cols columns.
func NewBatch(cols int) *Batch {
	return &Batch{cols: cols, indexed: true, srcIdx: map[string]uint32{}}
}

// Len returns the number of rows.
func (b *Batch) Len() int { return b.rows }

// Cols returns the number of columns of each row.
func (b *Batch) Cols() int { return b.cols }

// Size returns the encoded size of the rows in bytes.
func (b *Batch) Size() int { return len(b.body) }

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	b.rows, b.cur = 0, 0
	b.sources = b.sources[:0]
	clear(b.srcIdx)
	b.body = b.body[:0]
	b.meta = b.meta[:0]
	b.cells = b.cells[:0]
	b.indexed = true
	b.head = nil
}

// StartRow begins a new row that came from o with the raw input text raw.
// It must be followed by one Append call per column.
func (b *Batch) StartRow(o Origin, raw []byte) {
	if b.rows > 0 && b.cur != b.cols {
		panic(fmt.Sprintf("record: row %d has %d of %d cells", b.rows-1, b.cur, b.cols))
	}
	b.mustIndex()
	b.head = nil
	idx, ok := b.srcIdx[o.Source]
	if !ok {
		if b.srcIdx == nil {
			b.srcIdx = map[string]uint32{}
		}
		idx = uint32(len(b.sources))
		b.sources = append(b.sources, o.Source)
		b.srcIdx[o.Source] = idx
	}
	rowStart := uint32(len(b.body))
	b.body = binary.AppendUvarint(b.body, uint64(idx))
	rest := uint32(len(b.body))
	b.body = binary.AppendUvarint(b.body, uint64(o.Line))
	b.body = binary.AppendUvarint(b.body, uint64(len(raw)))
	start := uint32(len(b.body))
	b.body = append(b.body, raw...)
	b.meta = append(b.meta, rowMeta{src: idx, line: o.Line, raw: span{start, uint32(len(b.body))}, cellStart: uint32(len(b.cells)), start: rowStart, rest: rest})
	b.rows++
	b.cur = 0
}

func (b *Batch) appendCell(v []byte, null bool) {
	if b.cur >= b.cols {
		panic(fmt.Sprintf("record: more than %d cells in row %d", b.cols, b.rows-1))
	}
	b.cur++
	if null {
		b.body = append(b.body, 0)
		b.cells = append(b.cells, span{nullStart, 0})
		return
	}
	b.body = binary.AppendUvarint(b.body, uint64(len(v))+1)
	start := uint32(len(b.body))
	b.body = append(b.body, v...)
	b.cells = append(b.cells, span{start, uint32(len(b.body))})
}

// AppendNull appends a null cell.
func (b *Batch) AppendNull() { b.appendCell(nil, true) }

// AppendBytes appends a String, JSON or Bytes cell holding v (not null,
// possibly empty). For JSON, v must be valid JSON text.
func (b *Batch) AppendBytes(v []byte) { b.appendCell(v, false) }

// AppendString appends a String cell holding v.
func (b *Batch) AppendString(v string) {
	if b.cur >= b.cols {
		panic(fmt.Sprintf("record: more than %d cells in row %d", b.cols, b.rows-1))
	}
	b.cur++
	b.body = binary.AppendUvarint(b.body, uint64(len(v))+1)
	start := uint32(len(b.body))
	b.body = append(b.body, v...)
	b.cells = append(b.cells, span{start, uint32(len(b.body))})
}

func (b *Batch) append8(v uint64) {
	var tmp [8]byte
	binary.BigEndian.PutUint64(tmp[:], v)
	b.appendCell(tmp[:], false)
}

// AppendInt64 appends an Int64 cell.
func (b *Batch) AppendInt64(v int64) { b.append8(uint64(v)) }

// AppendFloat64 appends a Float64 cell.
func (b *Batch) AppendFloat64(v float64) { b.append8(math.Float64bits(v)) }

// AppendDecimal appends a Decimal cell holding unscaled / 10^scale, where
// scale is the field's.
func (b *Batch) AppendDecimal(unscaled int64) { b.append8(uint64(unscaled)) }

// AppendTimestamp appends a Timestamp cell, kept to the microsecond.
func (b *Batch) AppendTimestamp(t time.Time) { b.append8(uint64(t.UnixMicro())) }

// AppendInt16 appends an Int16 cell.
func (b *Batch) AppendInt16(v int16) {
	var tmp [2]byte
	binary.BigEndian.PutUint16(tmp[:], uint16(v))
	b.appendCell(tmp[:], false)
}

// AppendInt32 appends an Int32 cell.
func (b *Batch) AppendInt32(v int32) {
	var tmp [4]byte
	binary.BigEndian.PutUint32(tmp[:], uint32(v))
	b.appendCell(tmp[:], false)
}

// AppendDate appends a Date cell, days since 1970-01-01 (negative before).
func (b *Batch) AppendDate(days int32) {
	var tmp [4]byte
	binary.BigEndian.PutUint32(tmp[:], uint32(days))
	b.appendCell(tmp[:], false)
}

// AppendUUID appends a UUID cell.
func (b *Batch) AppendUUID(u [16]byte) { b.appendCell(u[:], false) }

// AppendBool appends a Bool cell.
func (b *Batch) AppendBool(v bool) {
	if v {
		b.appendCell([]byte{1}, false)
	} else {
		b.appendCell([]byte{0}, false)
	}
}

// AppendCell appends a copy of cell (row, col) of src, whatever its type.
func (b *Batch) AppendCell(src *Batch, row, col int) {
	c := src.cell(row, col)
	if c.start == nullStart {
		b.AppendNull()
		return
	}
	b.appendCell(src.body[c.start:c.end], false)
}

func (b *Batch) mustIndex() {
	if !b.indexed {
		if err := b.buildIndex(); err != nil {
			panic(err)
		}
	}
}

func (b *Batch) cell(row, col int) span {
	b.mustIndex()
	if col < 0 || col >= b.cols {
		panic(fmt.Sprintf("record: column %d out of range [0,%d)", col, b.cols))
	}
	return b.cells[int(b.meta[row].cellStart)+col]
}

// IsNull reports whether cell (row, col) is null.
func (b *Batch) IsNull(row, col int) bool { return b.cell(row, col).start == nullStart }

// Bytes returns the encoded value of cell (row, col), or nil when it is
// null. For a String cell it is the text. The slice aliases the batch.
func (b *Batch) Bytes(row, col int) []byte {
	c := b.cell(row, col)
	if c.start == nullStart {
		return nil
	}
	return b.body[c.start:c.end:c.end]
}

// Text returns String cell (row, col) as a string ("" when null).
func (b *Batch) Text(row, col int) string { return string(b.Bytes(row, col)) }

func (b *Batch) fixed8(row, col int) uint64 {
	v := b.Bytes(row, col)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// Int64 returns Int64 cell (row, col), 0 when null.
func (b *Batch) Int64(row, col int) int64 { return int64(b.fixed8(row, col)) }

// Float64 returns Float64 cell (row, col), 0 when null.
func (b *Batch) Float64(row, col int) float64 { return math.Float64frombits(b.fixed8(row, col)) }

// Decimal returns the unscaled value of Decimal cell (row, col), 0 when null.
func (b *Batch) Decimal(row, col int) int64 { return int64(b.fixed8(row, col)) }

// Micros returns Timestamp cell (row, col) as microseconds since the Unix
// epoch, 0 when null.
func (b *Batch) Micros(row, col int) int64 { return int64(b.fixed8(row, col)) }

// Timestamp returns Timestamp cell (row, col) in UTC; the zero time when null.
func (b *Batch) Timestamp(row, col int) time.Time {
	if b.IsNull(row, col) {
		return time.Time{}
	}
	return time.UnixMicro(b.Micros(row, col)).UTC()
}

// Int16 returns Int16 cell (row, col), 0 when null.
func (b *Batch) Int16(row, col int) int16 {
	v := b.Bytes(row, col)
	if len(v) != 2 {
		return 0
	}
	return int16(binary.BigEndian.Uint16(v))
}

func (b *Batch) fixed4(row, col int) uint32 {
	v := b.Bytes(row, col)
	if len(v) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

// Int32 returns Int32 cell (row, col), 0 when null.
func (b *Batch) Int32(row, col int) int32 { return int32(b.fixed4(row, col)) }

// Days returns Date cell (row, col) as days since 1970-01-01, 0 when null.
func (b *Batch) Days(row, col int) int32 { return int32(b.fixed4(row, col)) }

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
	copy(u[:], b.Bytes(row, col))
	return u
}

// Bool returns Bool cell (row, col), false when null.
func (b *Batch) Bool(row, col int) bool {
	v := b.Bytes(row, col)
	return len(v) == 1 && v[0] == 1
}

// Raw returns the raw input text of row. The slice aliases the batch.
func (b *Batch) Raw(row int) []byte {
	b.mustIndex()
	m := b.meta[row]
	return b.body[m.raw.start:m.raw.end:m.raw.end]
}

// Origin returns where row came from.
func (b *Batch) Origin(row int) Origin {
	b.mustIndex()
	m := b.meta[row]
	return Origin{Source: b.sources[m.src], Line: m.line}
}

// Reject returns a Reject for row with the given error type and reason.
func (b *Batch) Reject(row int, errorType, reason string) Reject {
	return Reject{Origin: b.Origin(row), Raw: string(b.Raw(row)), ErrorType: errorType, Reason: reason}
}

// Grow makes room for rows more rows of about bytes encoded bytes in all,
// so that building a batch of known size copies nothing twice.
func (b *Batch) Grow(rows, bytes int) {
	b.body = slices.Grow(b.body, bytes)
	b.meta = slices.Grow(b.meta, rows)
	b.cells = slices.Grow(b.cells, rows*b.cols)
}

// CopyRow appends row of src, origin, raw text and cells, to b. Both batches
// must have the same number of columns. It copies the row's encoded bytes
// as they are.
func (b *Batch) CopyRow(src *Batch, row int) {
	if src.cols != b.cols {
		panic(fmt.Sprintf("record: CopyRow from %d to %d columns", src.cols, b.cols))
	}
	src.mustIndex()
	m := src.meta[row]
	end := uint32(len(src.body))
	if row+1 < len(src.meta) {
		end = src.meta[row+1].start
	}
	// Start the row as StartRow would, with a raw text of the right length
	// but not yet copied, then copy the rest of the row in one go.
	b.StartRow(Origin{Source: src.sources[m.src], Line: m.line}, nil)
	b.rows-- // StartRow counted it; undo its meta and redo it below
	nm := b.meta[len(b.meta)-1]
	b.meta = b.meta[:len(b.meta)-1]
	b.body = b.body[:nm.rest]
	base := uint32(len(b.body))
	b.body = append(b.body, src.body[m.rest:end]...)
	shift := func(s span) span {
		if s.start == nullStart {
			return s
		}
		return span{s.start - m.rest + base, s.end - m.rest + base}
	}
	b.meta = append(b.meta, rowMeta{src: nm.src, line: m.line, raw: shift(m.raw), cellStart: uint32(len(b.cells)), start: nm.start, rest: nm.rest})
	for _, c := range src.cells[m.cellStart : int(m.cellStart)+src.cols] {
		b.cells = append(b.cells, shift(c))
	}
	b.rows++
	b.cur = b.cols
}

const (
	magic0, magic1 = 'E', 'B'
	encVersion     = 1
)

// ErrCorrupt is wrapped by the errors of a batch that cannot be decoded.
var ErrCorrupt = errors.New("corrupt batch")

// AppendBinary appends the encoded batch to dst and returns the result.
func (b *Batch) AppendBinary(dst []byte) ([]byte, error) {
	head, body, err := b.Parts()
	if err != nil {
		return dst, err
	}
	return append(append(dst, head...), body...), nil
}

// MarshalBinary encodes the batch.
func (b *Batch) MarshalBinary() ([]byte, error) {
	return b.AppendBinary(make([]byte, 0, len(b.body)+64))
}

// Parts returns the batch encoded in two parts, a small head (counts and
// source names) and the body (the rows), without copying the body: the
// encoding is head followed by body. The body aliases the batch.
func (b *Batch) Parts() (head, body []byte, err error) {
	if b.rows > 0 && b.indexed && b.cur != b.cols {
		return nil, nil, fmt.Errorf("encode batch: last row has %d of %d cells", b.cur, b.cols)
	}
	if b.head != nil {
		return b.head, b.body, nil
	}
	head = append(head, magic0, magic1, encVersion)
	head = binary.AppendUvarint(head, uint64(b.cols))
	head = binary.AppendUvarint(head, uint64(b.rows))
	head = binary.AppendUvarint(head, uint64(len(b.sources)))
	for _, s := range b.sources {
		head = binary.AppendUvarint(head, uint64(len(s)))
		head = append(head, s...)
	}
	return head, b.body, nil
}

// UnmarshalBinary decodes a batch encoded by MarshalBinary. Only the head
// is read; the rows are indexed on first access, or by Check. The batch
// keeps data; the caller must not modify it afterwards.
func (b *Batch) UnmarshalBinary(data []byte) error {
	return b.UnmarshalParts(data, nil)
}

// UnmarshalParts decodes a batch from the two parts of Parts. The batch
// keeps both; the caller must not modify them afterwards.
func (b *Batch) UnmarshalParts(head, body []byte) error {
	*b = Batch{}
	data := head
	if len(data) < 3 || data[0] != magic0 || data[1] != magic1 {
		return fmt.Errorf("decode batch: %w: bad magic", ErrCorrupt)
	}
	if data[2] != encVersion {
		return fmt.Errorf("decode batch: %w: encoding version %d, want %d", ErrCorrupt, data[2], encVersion)
	}
	p := data[3:]
	next := func() (uint64, error) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, fmt.Errorf("decode batch: %w: truncated header", ErrCorrupt)
		}
		p = p[n:]
		return v, nil
	}
	cols, err := next()
	if err != nil {
		return err
	}
	rows, err := next()
	if err != nil {
		return err
	}
	nsrc, err := next()
	if err != nil {
		return err
	}
	if cols > 1<<16 || nsrc > uint64(len(p)) {
		return fmt.Errorf("decode batch: %w: implausible header", ErrCorrupt)
	}
	b.cols, b.rows = int(cols), int(rows)
	b.sources = make([]string, nsrc)
	for i := range b.sources {
		l, err := next()
		if err != nil {
			return err
		}
		if l > uint64(len(p)) {
			return fmt.Errorf("decode batch: %w: truncated source name", ErrCorrupt)
		}
		b.sources[i] = string(p[:l])
		p = p[l:]
	}
	if body == nil {
		// one piece: the body follows the head
		b.head, b.body = head[:len(head)-len(p)], p
	} else {
		if len(p) != 0 {
			return fmt.Errorf("decode batch: %w: %d stray bytes after the head", ErrCorrupt, len(p))
		}
		b.head, b.body = head, body
	}
	b.cur = b.cols
	return nil
}

// Check indexes a decoded batch and reports whether it is well formed.
func (b *Batch) Check() error {
	if b.indexed {
		return nil
	}
	return b.buildIndex()
}

func (b *Batch) buildIndex() error {
	p := b.body
	off := 0
	next := func() (uint64, error) {
		v, n := binary.Uvarint(p[off:])
		if n <= 0 {
			return 0, fmt.Errorf("decode batch: %w: truncated at byte %d", ErrCorrupt, off)
		}
		off += n
		return v, nil
	}
	take := func(l uint64) (span, error) {
		if l > uint64(len(p)-off) {
			return span{}, fmt.Errorf("decode batch: %w: value overruns at byte %d", ErrCorrupt, off)
		}
		s := span{uint32(off), uint32(off) + uint32(l)}
		off += int(l)
		return s, nil
	}
	meta := make([]rowMeta, 0, b.rows)
	cells := make([]span, 0, b.rows*b.cols)
	for r := 0; r < b.rows; r++ {
		rowStart := uint32(off)
		src, err := next()
		if err != nil {
			return err
		}
		rest := uint32(off)
		if src >= uint64(len(b.sources)) {
			return fmt.Errorf("decode batch: %w: row %d names source %d of %d", ErrCorrupt, r, src, len(b.sources))
		}
		line, err := next()
		if err != nil {
			return err
		}
		rl, err := next()
		if err != nil {
			return err
		}
		raw, err := take(rl)
		if err != nil {
			return err
		}
		meta = append(meta, rowMeta{src: uint32(src), line: int64(line), raw: raw, cellStart: uint32(len(cells)), start: rowStart, rest: rest})
		for c := 0; c < b.cols; c++ {
			l, err := next()
			if err != nil {
				return err
			}
			if l == 0 {
				cells = append(cells, span{nullStart, 0})
				continue
			}
			s, err := take(l - 1)
			if err != nil {
				return err
			}
			cells = append(cells, s)
		}
	}
	if off != len(p) {
		return fmt.Errorf("decode batch: %w: %d trailing bytes", ErrCorrupt, len(p)-off)
	}
	b.meta, b.cells, b.indexed = meta, cells, true
	b.srcIdx = make(map[string]uint32, len(b.sources))
	for i, s := range b.sources {
		b.srcIdx[s] = uint32(i)
	}
	return nil
}

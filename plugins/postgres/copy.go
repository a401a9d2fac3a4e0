package postgres

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seed-etl/etl/core/record"
)

// The rows go to PostgreSQL as a binary COPY stream encoded straight from
// the batch's Arrow columns: text, bytes and uuids are copied as they are,
// numbers written big-endian, and the others need a few operations each (a
// timestamp moves its epoch, a decimal becomes a numeric). See "Binary
// Format" in the COPY chapter of the PostgreSQL manual.

// encKind is how one column's cells are encoded.
type encKind uint8

const (
	encRaw            encKind = iota // the cell's bytes (text, bytes, uuid) are the column's binary form
	encJSONB                         // a version byte, then the text
	encTimestamp                     // µs since 1970 to µs since 2000
	encNumeric                       // unscaled int64 and scale to numeric
	encInt8                          // any integer (or a decimal of scale 0) to int8
	encInt4                          // any integer to int4, range checked
	encInt2                          // any integer to int2, range checked
	encFloat4                        // float64 to float4, range checked
	encFloat8FromInt                 // int64 to float8
	encFloat8FromDec                 // unscaled decimal to float8
	encText                          // any value formatted as text
	encTimestampLocal                // µs since 1970 UTC to the wall clock of colEnc.loc, µs since 2000
	encDate                          // days since 1970 to days since 2000
	encUUIDFromText                  // text parsed as a UUID, refused when it is not one
	encDateFromText                  // text parsed as an ISO date (2006-01-02), refused when it is not one
	encFloat8                        // float64 to float8
	encBool                          // bool to bool
)

// colEnc encodes one input field into one column.
type colEnc struct {
	kind   encKind
	idx    int // input field index
	typ    record.Type
	scale  int
	column string
	pgType string // the column's type as PostgreSQL writes it, for messages
	// loc is the zone whose wall clock encTimestampLocal writes.
	loc *time.Location
}

// pgEpochMicros is 2000-01-01 00:00:00 UTC, PostgreSQL's epoch, in µs since
// the Unix epoch; pgEpochDays is the same day in days.
const (
	pgEpochMicros = 946684800000000
	pgEpochDays   = 10957
)

var (
	copyHeader  = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	copyTrailer = []byte{0xff, 0xff}
)

// copyData is a batch encoded as the tuples of a binary COPY stream.
type copyData struct {
	buf  []byte
	off  []int // off[i] is where tuple i starts; off[len(rows)] is the end
	rows []int // the batch row of tuple i
	// views are the columns of the batch being encoded.
	views []colView
	// refused are rows refused while encoding (a value the column's type
	// cannot hold), as rejects.
	refused []record.Reject
}

// reset empties d, keeping its memory.
func (d *copyData) reset() {
	d.buf, d.off, d.rows, d.refused = d.buf[:0], d.off[:0], d.rows[:0], d.refused[:0]
}

// encode appends the rows of b to d, one tuple per row, except rows with a
// value that the column cannot hold, which become rejects.
//
// The cells are read straight from each column's Arrow buffers (validity
// bitmap, offsets, values), viewed once per batch: the common kinds are a
// bitmap test and a copy or a byte swap each; the others go through
// appendCell.
func (d *copyData) encode(b *record.Batch, cols []colEnc) {
	d.reset()
	n := b.Len()
	if n == 0 {
		return
	}
	// The tuples hold the cells, not the raw text: about the batch's size
	// without it, plus each tuple's and cell's header and a numeric's
	// growth.
	if want := b.Size() - b.ValueBytes(b.Cols()+2) + n*(2+4*len(cols)+8); cap(d.buf) < want {
		d.buf = make([]byte, 0, want)
	}
	d.views = slices.Grow(d.views[:0], len(cols))[:len(cols)]
	for i := range cols {
		d.views[i] = viewColumn(b.Column(cols[i].idx), &cols[i])
	}
	views := d.views
	ncols := uint16(len(cols))
	buf := d.buf
	for r := 0; r < n; r++ {
		start := len(buf)
		buf = binary.BigEndian.AppendUint16(buf, ncols)
		var bad string
		for i := range views {
			v := &views[i]
			if v.valid != nil && v.valid[r>>3]&(1<<(r&7)) == 0 {
				buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1: null
				continue
			}
			switch v.fast {
			case fastVar:
				s, e := v.off[r], v.off[r+1]
				buf = binary.BigEndian.AppendUint32(buf, uint32(e-s))
				buf = append(buf, v.data[s:e]...)
				continue
			case fastJSONB:
				s, e := v.off[r], v.off[r+1]
				buf = binary.BigEndian.AppendUint32(buf, uint32(e-s+1))
				buf = append(buf, 1)
				buf = append(buf, v.data[s:e]...)
				continue
			case fastFixed16:
				buf = binary.BigEndian.AppendUint32(buf, 16)
				buf = append(buf, v.data[16*r:16*r+16]...)
				continue
			case fastInt8:
				buf = binary.BigEndian.AppendUint32(buf, 8)
				buf = binary.BigEndian.AppendUint64(buf, uint64(v.i64[r]))
				continue
			case fastTimestamp:
				buf = appendTimestamp(buf, v.i64[r])
				continue
			case fastNumeric:
				buf = appendNumeric(buf, int64(v.dec[2*r]), v.scale)
				continue
			}
			var err error
			buf, err = cols[i].appendCell(buf, b, r)
			if err != nil {
				bad = err.Error()
				break
			}
		}
		if bad != "" {
			buf = buf[:start]
			d.refused = append(d.refused, b.Reject(r, ErrorTypeDBRejected, bad))
			continue
		}
		d.off = append(d.off, start)
		d.rows = append(d.rows, r)
	}
	d.off = append(d.off, len(buf))
	d.buf = buf
	clear(d.views) // the views alias b
}

// fastKind is how encode writes a column's cells without appendCell.
type fastKind uint8

const (
	fastNone      fastKind = iota // appendCell
	fastVar                       // text or bytes: offsets and data, copied
	fastJSONB                     // json text: a version byte, then the text
	fastFixed16                   // uuid: 16 bytes, copied
	fastInt8                      // int64 to int8
	fastTimestamp                 // timestamp to timestamp(tz)
	fastNumeric                   // decimal to numeric
)

// colView is the Arrow buffers of the column that one colEnc encodes.
type colView struct {
	fast  fastKind
	scale int
	valid []byte  // the validity bitmap; nil when no cell is null
	off   []int32 // fastVar, fastJSONB: the offsets into data
	data  []byte  // fastVar, fastJSONB, fastFixed16: the values
	i64   []int64 // fastInt8, fastTimestamp
	dec   []uint64
}

// viewColumn returns the view of array a that encode reads for c.
func viewColumn(a arrow.Array, c *colEnc) colView {
	d := a.Data()
	bufs := d.Buffers()
	v := colView{scale: c.scale}
	if a.NullN() > 0 && len(bufs) > 0 && bufs[0] != nil {
		v.valid = bufs[0].Bytes()
	}
	n := a.Len()
	id := d.DataType().ID()
	switch {
	case c.kind == encRaw && id == arrow.FIXED_SIZE_BINARY:
		v.fast, v.data = fastFixed16, bufBytes(bufs, 1)
	case (c.kind == encRaw || c.kind == encJSONB) && (id == arrow.STRING || id == arrow.BINARY):
		v.fast, v.off, v.data = fastVar, sliceOf[int32](bufBytes(bufs, 1), n+1), bufBytes(bufs, 2)
		if c.kind == encJSONB {
			v.fast = fastJSONB
		}
	case c.kind == encInt8 && id == arrow.INT64:
		v.fast, v.i64 = fastInt8, sliceOf[int64](bufBytes(bufs, 1), n)
	case c.kind == encTimestamp && id == arrow.TIMESTAMP:
		v.fast, v.i64 = fastTimestamp, sliceOf[int64](bufBytes(bufs, 1), n)
	case c.kind == encNumeric && id == arrow.DECIMAL128:
		v.fast, v.dec = fastNumeric, sliceOf[uint64](bufBytes(bufs, 1), 2*n)
	}
	return v
}

// bufBytes returns buffer i of bufs, nil when it is missing.
func bufBytes(bufs []*memory.Buffer, i int) []byte {
	if i >= len(bufs) || bufs[i] == nil {
		return nil
	}
	return bufs[i].Bytes()
}

// sliceOf views the first n values of type T held in b (Arrow's
// little-endian layout, which is the machine's on the platforms etl runs
// on, and its buffers are aligned).
func sliceOf[T any](b []byte, n int) []T {
	var zero T
	if n == 0 || len(b) < n*int(unsafe.Sizeof(zero)) {
		if n == 0 {
			return nil
		}
		panic(fmt.Sprintf("postgres: Arrow buffer of %d bytes for %d values", len(b), n))
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// appendCell appends the length and value of the non-null cell (r, c.idx)
// of b, for the kinds that are not a plain copy.
func (c *colEnc) appendCell(buf []byte, b *record.Batch, r int) ([]byte, error) {
	switch c.kind {
	case encRaw:
		v := b.Bytes(r, c.idx)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)))
		return append(buf, v...), nil
	case encJSONB:
		v := b.Bytes(r, c.idx)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(v)+1))
		buf = append(buf, 1)
		return append(buf, v...), nil
	case encText:
		lenAt := len(buf)
		buf = append(buf, 0, 0, 0, 0)
		buf = c.appendText(buf, b, r)
		binary.BigEndian.PutUint32(buf[lenAt:], uint32(len(buf)-lenAt-4))
		return buf, nil
	case encUUIDFromText:
		v := b.Bytes(r, c.idx)
		u, err := record.ParseUUID(v)
		if err != nil {
			return buf, fmt.Errorf("value %s is not a UUID for column %s of type %s", quoteValue(v), c.column, c.pgType)
		}
		buf = binary.BigEndian.AppendUint32(buf, 16)
		return append(buf, u[:]...), nil
	case encDateFromText:
		v := b.Bytes(r, c.idx)
		t, err := time.Parse(time.DateOnly, string(v))
		if err != nil {
			return buf, fmt.Errorf("value %s is not a date (2006-01-02) for column %s of type %s", quoteValue(v), c.column, c.pgType)
		}
		buf = binary.BigEndian.AppendUint32(buf, 4)
		return binary.BigEndian.AppendUint32(buf, uint32(record.DaysOf(t)-pgEpochDays)), nil
	case encDate:
		days := int64(b.Days(r, c.idx)) - pgEpochDays
		if days <= math.MinInt32 || days >= math.MaxInt32 {
			// PostgreSQL would read these as -infinity and infinity.
			return buf, fmt.Errorf("date %d days after 1970-01-01 out of range for column %s of type %s", days+pgEpochDays, c.column, c.pgType)
		}
		buf = binary.BigEndian.AppendUint32(buf, 4)
		return binary.BigEndian.AppendUint32(buf, uint32(int32(days))), nil
	case encFloat8:
		buf = binary.BigEndian.AppendUint32(buf, 8)
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(b.Float64(r, c.idx))), nil
	case encBool:
		buf = binary.BigEndian.AppendUint32(buf, 1)
		if b.Bool(r, c.idx) {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case encFloat4:
		f := b.Float64(r, c.idx)
		f32 := float32(f)
		if math.IsInf(float64(f32), 0) && !math.IsInf(f, 0) {
			return buf, fmt.Errorf("value %g out of range for column %s of type %s", f, c.column, c.pgType)
		}
		buf = binary.BigEndian.AppendUint32(buf, 4)
		return binary.BigEndian.AppendUint32(buf, math.Float32bits(f32)), nil
	}
	x := c.cellInt(b, r)
	switch c.kind {
	case encTimestampLocal:
		// Far outside PostgreSQL's range the offset is left out: the value
		// is refused all the same, and adding it could overflow.
		if c.loc != nil && c.loc != time.UTC && x > math.MinInt64/2 && x < math.MaxInt64/2 {
			_, off := time.UnixMicro(x).In(c.loc).Zone()
			x += int64(off) * 1e6
		}
		fallthrough
	case encTimestamp:
		return appendTimestamp(buf, x), nil
	case encInt8:
		buf = binary.BigEndian.AppendUint32(buf, 8)
		return binary.BigEndian.AppendUint64(buf, uint64(x)), nil
	case encNumeric:
		return appendNumeric(buf, x, c.scale), nil
	case encInt4:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return buf, fmt.Errorf("value %d out of range for column %s of type %s", x, c.column, c.pgType)
		}
		buf = binary.BigEndian.AppendUint32(buf, 4)
		return binary.BigEndian.AppendUint32(buf, uint32(int32(x))), nil
	case encInt2:
		if x < math.MinInt16 || x > math.MaxInt16 {
			return buf, fmt.Errorf("value %d out of range for column %s of type %s", x, c.column, c.pgType)
		}
		buf = binary.BigEndian.AppendUint32(buf, 2)
		return binary.BigEndian.AppendUint16(buf, uint16(int16(x))), nil
	case encFloat8FromInt:
		buf = binary.BigEndian.AppendUint32(buf, 8)
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(float64(x))), nil
	case encFloat8FromDec:
		f, _ := strconv.ParseFloat(record.FormatDecimal(x, c.scale), 64)
		buf = binary.BigEndian.AppendUint32(buf, 8)
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(f)), nil
	}
	return buf, fmt.Errorf("column %s: no encoding for %s into %s", c.column, c.typ, c.pgType)
}

// appendTimestamp appends the length and value of a timestamp of us µs
// since 1970. A value PostgreSQL would take as ±infinity, or one that
// would overflow, is sent as a value it refuses as out of range instead.
func appendTimestamp(buf []byte, us int64) []byte {
	if us < math.MinInt64+pgEpochMicros+1 {
		us = math.MinInt64 + 1
	} else {
		us -= pgEpochMicros
		if us == math.MaxInt64 {
			us--
		}
	}
	buf = binary.BigEndian.AppendUint32(buf, 8)
	return binary.BigEndian.AppendUint64(buf, uint64(us))
}

// cellInt reads an integer-valued cell as an int64: an Int16 or Int32
// widened, the days of a Date, the unscaled value of a Decimal, the µs of
// a Timestamp.
func (c *colEnc) cellInt(b *record.Batch, r int) int64 {
	switch c.typ {
	case record.Int16:
		return int64(b.Int16(r, c.idx))
	case record.Int32:
		return int64(b.Int32(r, c.idx))
	case record.Date:
		return int64(b.Days(r, c.idx))
	case record.Decimal:
		return b.Decimal(r, c.idx)
	}
	return b.Int64(r, c.idx) // Int64, Timestamp
}

// quoteValue quotes a text value for a reason, shortened past 60 bytes.
func quoteValue(v []byte) string {
	if len(v) > 60 {
		return strconv.Quote(string(v[:57])) + "…"
	}
	return strconv.Quote(string(v))
}

// appendText appends the non-null cell (r, c.idx) of b formatted as text.
func (c *colEnc) appendText(buf []byte, b *record.Batch, r int) []byte {
	switch c.typ {
	case record.String, record.JSON:
		return append(buf, b.Bytes(r, c.idx)...)
	case record.UUID:
		u := b.UUID(r, c.idx)
		return record.AppendUUIDText(buf, u[:])
	case record.Date:
		return record.AppendDateText(buf, b.Days(r, c.idx))
	case record.Int16, record.Int32, record.Int64:
		return strconv.AppendInt(buf, c.cellInt(b, r), 10)
	case record.Bool:
		if b.Bool(r, c.idx) {
			return append(buf, "true"...)
		}
		return append(buf, "false"...)
	case record.Decimal:
		return record.AppendDecimal(buf, b.Decimal(r, c.idx), c.scale)
	case record.Float64:
		return strconv.AppendFloat(buf, b.Float64(r, c.idx), 'g', -1, 64)
	case record.Timestamp:
		return time.UnixMicro(b.Micros(r, c.idx)).UTC().AppendFormat(buf, time.RFC3339Nano)
	}
	return buf
}

// appendNumeric appends the length and the binary form of the numeric
// unscaled / 10^scale: a count of base-10000 digits, the weight of the
// first, the sign, the display scale, then the digits.
func appendNumeric(buf []byte, unscaled int64, scale int) []byte {
	var sign uint16
	u := uint64(unscaled)
	if unscaled < 0 {
		sign = 0x4000
		u = -u // two's complement: right for math.MinInt64 as well
	}
	var digits [12]uint16 // at most 5 integer and 5 fraction groups for 18 decimal digits
	nd := 0
	// Integer part, least significant group first, reversed below.
	p := uint64(1)
	for i := 0; i < scale; i++ {
		p *= 10
	}
	ip, fp := u, uint64(0)
	if scale > 0 {
		ip, fp = u/p, u%p
	}
	var ig [8]uint16
	ni := 0
	for ip > 0 {
		ig[ni] = uint16(ip % 10000)
		ip /= 10000
		ni++
	}
	for i := ni - 1; i >= 0; i-- {
		digits[nd] = ig[i]
		nd++
	}
	// Fraction part: scale digits, padded on the right to whole groups.
	if scale > 0 {
		nf := (scale + 3) / 4
		pad := nf*4 - scale
		var fg [8]uint16
		first := uint64(1)
		for i := 0; i < 4-pad; i++ {
			first *= 10
		}
		mul := uint64(1)
		for i := 0; i < pad; i++ {
			mul *= 10
		}
		fg[nf-1] = uint16((fp % first) * mul)
		fp /= first
		for i := nf - 2; i >= 0; i-- {
			fg[i] = uint16(fp % 10000)
			fp /= 10000
		}
		for i := 0; i < nf; i++ {
			digits[nd] = fg[i]
			nd++
		}
	}
	weight := ni - 1
	ds := digits[:nd]
	for len(ds) > 0 && ds[0] == 0 {
		ds = ds[1:]
		weight--
	}
	for len(ds) > 0 && ds[len(ds)-1] == 0 {
		ds = ds[:len(ds)-1]
	}
	if len(ds) == 0 {
		weight, sign = 0, 0
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(8+2*len(ds)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(ds)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(scale))
	for _, g := range ds {
		buf = binary.BigEndian.AppendUint16(buf, g)
	}
	return buf
}

// copyReader reads a COPY stream made of the header, tuples [lo, hi) of a
// copyData and the trailer, without copying the tuples.
type copyReader struct {
	parts [3][]byte
	i     int
}

func newCopyReader(d *copyData, lo, hi int) *copyReader {
	return &copyReader{parts: [3][]byte{copyHeader, d.buf[d.off[lo]:d.off[hi]], copyTrailer}}
}

func (r *copyReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && r.i < len(r.parts) {
		c := copy(p[n:], r.parts[r.i])
		r.parts[r.i] = r.parts[r.i][c:]
		n += c
		if len(r.parts[r.i]) == 0 {
			r.i++
		}
	}
	if n == 0 && r.i >= len(r.parts) {
		return 0, io.EOF
	}
	return n, nil
}

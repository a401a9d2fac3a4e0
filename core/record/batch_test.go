package record

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var sampleSchema = Schema{Fields: []Field{
	{Name: "text", Type: String},
	{Name: "n", Type: Int64, Nullable: true},
	{Name: "price", Type: Decimal, Scale: 2, Nullable: true},
	{Name: "ts", Type: Timestamp, Nullable: true},
	{Name: "flag", Type: Bool, Nullable: true},
}}

func sampleBatch() *Batch {
	b := NewBatch(sampleSchema)
	ts := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
	b.StartRow(Origin{Source: "a.csv", Line: 2}, []byte("raw one"))
	b.AppendString("VIEW")
	b.AppendInt64(-42)
	b.AppendDecimal(1999)
	b.AppendTimestamp(ts)
	b.AppendNull()
	b.StartRow(Origin{Source: "b.csv", Line: 7}, []byte("raw,two"))
	b.AppendBytes([]byte(""))
	b.AppendInt64(math.MaxInt64)
	b.AppendNull()
	b.AppendTimestamp(ts.Add(time.Hour))
	b.AppendBool(true)
	b.StartRow(Origin{Source: "a.csv", Line: 3}, nil)
	b.AppendString("é")
	b.AppendNull()
	b.AppendDecimal(-5)
	b.AppendNull()
	b.AppendBool(false)
	return b
}

// checkSample checks every cell of sampleBatch in b.
func checkSample(t *testing.T, b *Batch) {
	t.Helper()
	ts := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
	if b.Len() != 3 || b.Cols() != 5 {
		t.Fatalf("Len, Cols = %d, %d; want 3, 5", b.Len(), b.Cols())
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"text", b.Text(0, 0), "VIEW"},
		{"int", b.Int64(0, 1), int64(-42)},
		{"decimal", b.Decimal(0, 2), int64(1999)},
		{"timestamp", b.Timestamp(0, 3), ts},
		{"null", b.IsNull(0, 4), true},
		{"null bool is false", b.Bool(0, 4), false},
		{"empty not null", b.IsNull(1, 0), false},
		{"empty text", b.Text(1, 0), ""},
		{"max int", b.Int64(1, 1), int64(math.MaxInt64)},
		{"null decimal", b.IsNull(1, 2), true},
		{"bool", b.Bool(1, 4), true},
		{"utf8", b.Text(2, 0), "é"},
		{"null int", b.IsNull(2, 1), true},
		{"negative decimal", b.Decimal(2, 2), int64(-5)},
		{"null timestamp", b.Timestamp(2, 3), time.Time{}},
		{"false", b.Bool(2, 4), false},
		{"false not null", b.IsNull(2, 4), false},
		{"raw", string(b.Raw(1)), "raw,two"},
		{"empty raw", string(b.Raw(2)), ""},
		{"origin", b.Origin(1), Origin{Source: "b.csv", Line: 7}},
		{"origin shared source", b.Origin(2), Origin{Source: "a.csv", Line: 3}},
		{"reject keeps raw", b.Reject(0, "E", "r"), Reject{Origin: Origin{Source: "a.csv", Line: 2}, Raw: "raw one", ErrorType: "E", Reason: "r"}},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestBatchCells(t *testing.T) { checkSample(t, sampleBatch()) }

func roundTrip(t *testing.T, b *Batch) *Batch {
	t.Helper()
	data, err := b.MarshalArrow()
	if err != nil {
		t.Fatal(err)
	}
	d, err := UnmarshalArrow(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBatchRoundTrip(t *testing.T) {
	b := sampleBatch()
	data, _ := b.MarshalArrow()
	d := roundTrip(t, b)
	checkSample(t, d)
	if got := d.Schema(); !schemaEqual(got, sampleSchema) {
		t.Errorf("decoded schema %+v, want %+v", got, sampleSchema)
	}
	again, err := d.MarshalArrow()
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("re-encoding a decoded batch changed it (err %v)", err)
	}
	if &again[0] != &data[0] {
		t.Error("re-encoding an unchanged decoded batch copied it")
	}
}

func schemaEqual(a, b Schema) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i] != b.Fields[i] {
			return false
		}
	}
	return true
}

// Every type goes through the Arrow encoding and back, with a value and
// with a null.
func TestEveryTypeRoundTrips(t *testing.T) {
	u := [16]byte{0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00}
	ts := time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.UTC)
	cases := []struct {
		typ    Type
		scale  int
		arrow  string
		append func(b *Batch)
		read   func(b *Batch, row int) any
		want   any
	}{
		{String, 0, "utf8", func(b *Batch) { b.AppendString("héllo") }, func(b *Batch, r int) any { return b.Text(r, 0) }, "héllo"},
		{Int64, 0, "int64", func(b *Batch) { b.AppendInt64(math.MinInt64) }, func(b *Batch, r int) any { return b.Int64(r, 0) }, int64(math.MinInt64)},
		{Float64, 0, "float64", func(b *Batch) { b.AppendFloat64(-2.5e-300) }, func(b *Batch, r int) any { return b.Float64(r, 0) }, -2.5e-300},
		{Bool, 0, "bool", func(b *Batch) { b.AppendBool(true) }, func(b *Batch, r int) any { return b.Bool(r, 0) }, true},
		{Timestamp, 0, "timestamp[us, tz=UTC]", func(b *Batch) { b.AppendTimestamp(ts) }, func(b *Batch, r int) any { return b.Timestamp(r, 0) }, ts},
		{Decimal, 3, "decimal(18, 3)", func(b *Batch) { b.AppendDecimal(-999999999999999999) }, func(b *Batch, r int) any { return b.Decimal(r, 0) }, int64(-999999999999999999)},
		{Int16, 0, "int16", func(b *Batch) { b.AppendInt16(math.MinInt16) }, func(b *Batch, r int) any { return b.Int16(r, 0) }, int16(math.MinInt16)},
		{Int32, 0, "int32", func(b *Batch) { b.AppendInt32(math.MaxInt32) }, func(b *Batch, r int) any { return b.Int32(r, 0) }, int32(math.MaxInt32)},
		{Date, 0, "date32", func(b *Batch) { b.AppendDate(-719162) }, func(b *Batch, r int) any { return b.Date(r, 0) }, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{UUID, 0, "fixed_size_binary[16]", func(b *Batch) { b.AppendUUID(u) }, func(b *Batch, r int) any { return b.UUID(r, 0) }, u},
		{JSON, 0, "utf8", func(b *Batch) { b.AppendBytes([]byte(`{"a":[1,2]}`)) }, func(b *Batch, r int) any { return b.Text(r, 0) }, `{"a":[1,2]}`},
		{Bytes, 0, "binary", func(b *Batch) { b.AppendBytes([]byte{0, 0xff, 0x80}) }, func(b *Batch, r int) any { return string(b.Bytes(r, 0)) }, "\x00\xff\x80"},
	}
	for _, c := range cases {
		t.Run(c.typ.String(), func(t *testing.T) {
			schema := Schema{Fields: []Field{{Name: "v", Type: c.typ, Scale: c.scale, Nullable: true}}}
			b := NewBatch(schema)
			b.StartRow(Origin{Source: "in", Line: 1}, []byte("one"))
			c.append(b)
			b.StartRow(Origin{Source: "in", Line: 2}, []byte("two"))
			b.AppendNull()
			b.StartRow(Origin{Source: "in", Line: 3}, []byte("three"))
			c.append(b)
			d := roundTrip(t, b)
			if !schemaEqual(d.Schema(), schema) {
				t.Errorf("schema %+v, want %+v", d.Schema(), schema)
			}
			if got := d.Column(0).DataType().String(); got != c.arrow {
				t.Errorf("Arrow type %s, want %s", got, c.arrow)
			}
			for _, r := range []int{0, 2} {
				if got := c.read(d, r); got != c.want || d.IsNull(r, 0) {
					t.Errorf("row %d: %v (null %v), want %v", r, got, d.IsNull(r, 0), c.want)
				}
			}
			if !d.IsNull(1, 0) || d.Bytes(1, 0) != nil {
				t.Errorf("row 1: not null")
			}
			if d.Origin(2) != (Origin{Source: "in", Line: 3}) || string(d.Raw(1)) != "two" {
				t.Errorf("origin %v, raw %q", d.Origin(2), d.Raw(1))
			}
		})
	}
}

// The Arrow schema records each field's etl type in its metadata, and ends
// with the reserved columns.
func TestArrowSchemaDescribesItself(t *testing.T) {
	s := ArrowSchema(Schema{Fields: []Field{{Name: "price", Type: Decimal, Scale: 2}, {Name: "doc", Type: JSON, Nullable: true}}})
	want := []struct {
		name, typ string
		nullable  bool
		meta      map[string]string
	}{
		{"price", "decimal(18, 2)", false, map[string]string{TypeKey: "decimal", ScaleKey: "2"}},
		{"doc", "utf8", true, map[string]string{TypeKey: "json"}},
		{SourceColumn, "dictionary<values=utf8, indices=int32, ordered=false>", false, nil},
		{LineColumn, "int64", false, nil},
		{RawColumn, "binary", false, nil},
	}
	if len(s.Fields()) != len(want) {
		t.Fatalf("%d fields, want %d", len(s.Fields()), len(want))
	}
	for i, w := range want {
		f := s.Field(i)
		if f.Name != w.name || f.Type.String() != w.typ || f.Nullable != w.nullable {
			t.Errorf("field %d: %s %s nullable %v; want %s %s %v", i, f.Name, f.Type, f.Nullable, w.name, w.typ, w.nullable)
		}
		for k, v := range w.meta {
			if got, _ := f.Metadata.GetValue(k); got != v {
				t.Errorf("field %s: metadata %s = %q, want %q", f.Name, k, got, v)
			}
		}
	}
}

func TestCopyRowAndAppendCell(t *testing.T) {
	src := sampleBatch()
	d := roundTrip(t, src)
	for _, from := range []*Batch{src, d} {
		out := NewBatch(sampleSchema)
		out.StartRow(Origin{Source: "z"}, []byte("first"))
		for c := 0; c < 5; c++ {
			out.AppendNull()
		}
		for i := 0; i < from.Len(); i++ {
			out.CopyRow(from, i)
		}
		// drop the first row again by copying cell by cell
		again := NewBatch(sampleSchema)
		for i := 1; i < out.Len(); i++ {
			again.StartRow(out.Origin(i), out.Raw(i))
			for c := 0; c < 5; c++ {
				again.AppendCell(out, i, c)
			}
		}
		checkSample(t, again)
		checkSample(t, roundTrip(t, again))
	}
}

// Rows appended to a decoded batch are encoded with the decoded ones.
func TestAppendToDecodedBatch(t *testing.T) {
	d := roundTrip(t, sampleBatch())
	d.CopyRow(d, 0)
	d2 := roundTrip(t, d)
	if d2.Len() != 4 || d2.Text(3, 0) != "VIEW" || d2.Origin(3) != (Origin{Source: "a.csv", Line: 2}) || !d2.IsNull(3, 4) || d2.IsNull(3, 0) {
		t.Errorf("appended row: %d rows, %q %v null %v", d2.Len(), d2.Text(3, 0), d2.Origin(3), d2.IsNull(3, 4))
	}
	checkSample(t, sliceRows(d2, 3))
}

func sliceRows(b *Batch, n int) *Batch {
	out := NewBatch(b.Schema())
	for i := 0; i < n; i++ {
		out.CopyRow(b, i)
	}
	return out
}

func TestAppendOfTheWrongTypePanics(t *testing.T) {
	b := NewBatch(Schema{Fields: []Field{{Name: "n", Type: Int64}}})
	b.StartRow(Origin{}, nil)
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "column 0 (n) of type int64") {
			t.Errorf("panic %v, want one naming the column and its type", r)
		}
	}()
	b.AppendString("x")
}

// A batch that another language writes with its Arrow library, here with
// arrow-go's builders and without etl's field metadata, is read by Arrow
// type; its origin column may be plain utf8.
func TestReadsBatchWrittenByAnArrowLibrary(t *testing.T) {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "qty", Type: arrow.PrimitiveTypes.Int32},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
		{Name: "doc", Type: arrow.BinaryTypes.String, Metadata: arrow.NewMetadata([]string{TypeKey}, []string{"json"})},
		{Name: SourceColumn, Type: arrow.BinaryTypes.String},
		{Name: LineColumn, Type: arrow.PrimitiveTypes.Int64},
		{Name: RawColumn, Type: arrow.BinaryTypes.String},
	}, nil)
	rb := array.NewRecordBuilder(mem, schema)
	defer rb.Release()
	rb.Field(0).(*array.StringBuilder).AppendValues([]string{"a", ""}, []bool{true, false})
	rb.Field(1).(*array.Int32Builder).AppendValues([]int32{7, -1}, nil)
	rb.Field(2).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(1999), decimal128.FromI64(-5)}, nil)
	rb.Field(3).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, 1_000_000}, nil)
	rb.Field(4).(*array.StringBuilder).AppendValues([]string{`[1]`, `{}`}, nil)
	rb.Field(5).(*array.StringBuilder).AppendValues([]string{"topic/0", "topic/1"}, nil)
	rb.Field(6).(*array.Int64Builder).AppendValues([]int64{10, 11}, nil)
	rb.Field(7).(*array.StringBuilder).AppendValues([]string{"a,7", ",-1"}, nil)
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := UnmarshalArrow(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	wantSchema := Schema{Fields: []Field{{Name: "name", Type: String, Nullable: true}, {Name: "qty", Type: Int32},
		{Name: "price", Type: Decimal, Scale: 2}, {Name: "at", Type: Timestamp}, {Name: "doc", Type: JSON}}}
	if !schemaEqual(b.Schema(), wantSchema) {
		t.Errorf("schema %+v, want %+v", b.Schema(), wantSchema)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"text", b.Text(0, 0), "a"},
		{"null text", b.IsNull(1, 0), true},
		{"int32", b.Int32(1, 1), int32(-1)},
		{"decimal", b.Decimal(0, 2), int64(1999)},
		{"negative decimal", b.Decimal(1, 2), int64(-5)},
		{"timestamp", b.Micros(1, 3), int64(1_000_000)},
		{"json", b.Text(0, 4), "[1]"},
		{"origin", b.Origin(1), Origin{Source: "topic/1", Line: 11}},
		{"raw", string(b.Raw(0)), "a,7"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// and it goes on in etl's own form
	if d := roundTrip(t, sliceRows(b, 2)); d.Origin(0) != (Origin{Source: "topic/0", Line: 10}) || d.Text(1, 4) != "{}" {
		t.Errorf("re-encoded: %v %q", d.Origin(0), d.Text(1, 4))
	}
}

// A batch without the reserved columns reads as rows without origin or
// raw text.
func TestBatchWithoutReservedColumns(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer rb.Release()
	rb.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, err := UnmarshalArrow(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 2 || b.Int64(1, 0) != 2 || b.Origin(1) != (Origin{}) || len(b.Raw(1)) != 0 {
		t.Errorf("got %d rows, %d, %v, %q", b.Len(), b.Int64(1, 0), b.Origin(1), b.Raw(1))
	}
	if b.HasRaw() {
		t.Error("HasRaw: true for a batch without an _etl_raw column")
	}
	if n := b.Record().NumCols(); n != 3 {
		t.Errorf("Record has %d columns, want the field, _etl_source and _etl_line (no raw text to carry)", n)
	}
}

// A batch built after LeaveOutRaw keeps each row's origin, not its raw
// text, and crosses without the _etl_raw column; Reset brings the raw text
// back.
func TestLeaveOutRaw(t *testing.T) {
	schema := Schema{Fields: []Field{{Name: "n", Type: Int64}}}
	b := NewBatch(schema)
	b.LeaveOutRaw()
	for i := range 3 {
		b.StartRow(Origin{Source: "in/a.csv", Line: int64(i + 2)}, []byte("raw text"))
		b.AppendInt64(int64(i))
	}
	d := roundTrip(t, b)
	if d.HasRaw() || d.Len() != 3 || d.Origin(2) != (Origin{Source: "in/a.csv", Line: 4}) || d.Int64(2, 0) != 2 || len(d.Raw(2)) != 0 {
		t.Fatalf("decoded: HasRaw %v, %d rows, %v, %d, raw %q", d.HasRaw(), d.Len(), d.Origin(2), d.Int64(2, 0), d.Raw(2))
	}
	if f := d.Record().Schema().Fields(); len(f) != 3 || f[2].Name != LineColumn {
		t.Errorf("decoded record's fields: %v, want n, _etl_source, _etl_line", f)
	}
	if r := d.Reject(1, "X", "why"); r.Raw != "" || r.Origin.Line != 3 {
		t.Errorf("Reject of a row without raw text: %+v", r)
	}
	full := NewBatch(schema)
	for i := range 3 {
		full.StartRow(Origin{Source: "in/a.csv", Line: int64(i + 2)}, []byte("raw text"))
		full.AppendInt64(int64(i))
	}
	without, _ := b.MarshalArrow()
	with, _ := full.MarshalArrow()
	if len(without) >= len(with) {
		t.Errorf("encoded without raw text %d bytes, not fewer than the %d with it", len(without), len(with))
	}
	b.Reset()
	b.StartRow(Origin{Source: "in/b.csv", Line: 9}, []byte("kept"))
	b.AppendInt64(7)
	if d := roundTrip(t, b); !d.HasRaw() || string(d.Raw(0)) != "kept" {
		t.Errorf("after Reset: HasRaw %v, raw %q, want the raw text back", d.HasRaw(), d.Raw(0))
	}
}

func TestDecodeMalformedBatch(t *testing.T) {
	data, _ := sampleBatch().MarshalArrow()
	schemaOnly := func() []byte {
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(ArrowSchema(sampleSchema)))
		w.Close()
		return buf.Bytes()
	}()
	twice := func() []byte {
		b := sampleBatch()
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(ArrowSchema(sampleSchema)))
		w.Write(b.Record())
		w.Write(b.Record())
		w.Close()
		return buf.Bytes()
	}()
	seconds := func() []byte {
		schema := arrow.NewSchema([]arrow.Field{{Name: "at", Type: arrow.FixedWidthTypes.Timestamp_s}}, nil)
		rb := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
		rb.Field(0).(*array.TimestampBuilder).Append(1)
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
		w.Write(rb.NewRecordBatch())
		w.Close()
		return buf.Bytes()
	}()
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no schema"},
		{"not Arrow", []byte("this is not an Arrow stream at all"), "decode batch"},
		{"truncated", data[:len(data)-100], "decode batch"},
		{"schema only", schemaOnly, "no record batch"},
		{"two record batches", twice, "more than one record batch"},
		{"timestamp in seconds", seconds, "timestamp in s, want us"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := UnmarshalArrow(c.in)
			if err == nil {
				err = b.Check()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
			if c.want != "" && !strings.Contains(err.Error(), c.want) && c.want != "no schema" {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// Check finds offsets that point outside the data, which decoding alone
// does not look at.
func TestCheckFindsBadOffsets(t *testing.T) {
	b := sampleBatch()
	data, _ := b.MarshalArrow()
	d, err := UnmarshalArrow(data)
	if err != nil {
		t.Fatal(err)
	}
	d.cols[0].offsets[3] = 1 << 20 // as a corrupt stream would have it
	if err := d.Check(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `column "text"`) {
		t.Errorf("Check = %v, want ErrCorrupt naming the column", err)
	}
}

func TestDecimal(t *testing.T) {
	cases := []struct {
		in        string
		prec, sc  int
		want      int64
		wantError bool
	}{
		{"19.99", 12, 2, 1999, false},
		{"19.9", 12, 2, 1990, false},
		{"19", 12, 2, 1900, false},
		{"-0.5", 12, 2, -50, false},
		{"+7.10", 12, 2, 710, false},
		{".5", 12, 2, 50, false},
		{"19.990", 12, 2, 1999, false},
		{"0000012.3", 12, 2, 1230, false},
		{"19.999", 12, 2, 0, true},
		{"1e3", 12, 2, 0, true},
		{"", 12, 2, 0, true},
		{"-", 12, 2, 0, true},
		{"1.2.3", 12, 2, 0, true},
		{"12,50", 12, 2, 0, true},
		{"9999999999.99", 12, 2, 999999999999, false},
		{"10000000000", 12, 2, 0, true},
		{"123", 0, 0, 123, false},
	}
	for _, c := range cases {
		got, err := ParseDecimal(c.in, c.prec, c.sc)
		if (err != nil) != c.wantError || got != c.want {
			t.Errorf("ParseDecimal(%q, %d, %d) = %d, %v; want %d, error %v", c.in, c.prec, c.sc, got, err, c.want, c.wantError)
		}
		gotB, errB := ParseDecimalBytes([]byte(c.in), c.prec, c.sc)
		if gotB != got || fmt.Sprint(errB) != fmt.Sprint(err) || errors.Is(errB, ErrDecimalRange) != errors.Is(err, ErrDecimalRange) {
			t.Errorf("ParseDecimalBytes(%q, %d, %d) = %d, %v; ParseDecimal gives %d, %v", c.in, c.prec, c.sc, gotB, errB, got, err)
		}
	}
	for _, c := range []struct {
		v     int64
		scale int
		want  string
	}{{1999, 2, "19.99"}, {5, 2, "0.05"}, {-5, 2, "-0.05"}, {-1990, 2, "-19.90"}, {0, 2, "0.00"}, {42, 0, "42"}} {
		if got := FormatDecimal(c.v, c.scale); got != c.want {
			t.Errorf("FormatDecimal(%d, %d) = %q, want %q", c.v, c.scale, got, c.want)
		}
	}
}

// Too many digits is a range error only when the text is a number at all:
// "19.999x" is not a number, whatever comes first.
func TestDecimalRangeOnlyForNumbers(t *testing.T) {
	for _, c := range []struct {
		in      string
		inRange bool
	}{{"19.999", true}, {"10000000000", true}, {"19.999x", false}, {"1.55.5", false}, {".1A", false}} {
		_, err := ParseDecimal(c.in, 12, 2)
		if err == nil || errors.Is(err, ErrDecimalRange) != c.inRange {
			t.Errorf("ParseDecimal(%q) = %v; want an error, a range error: %v", c.in, err, c.inRange)
		}
	}
}

// ArrowParts gives the stream of MarshalArrow in pieces, the columns not
// copied.
func TestArrowPartsAliasTheColumns(t *testing.T) {
	b := NewBatch(sampleSchema)
	long := bytes.Repeat([]byte("x"), 4000)
	b.StartRow(Origin{Source: "a.csv", Line: 1}, long)
	b.AppendString("v")
	b.AppendInt64(1)
	b.AppendDecimal(2)
	b.AppendMicros(3)
	b.AppendBool(true)
	parts, size, err := b.ArrowParts()
	if err != nil {
		t.Fatal(err)
	}
	var joined []byte
	aliased := false
	for _, p := range parts {
		joined = append(joined, p...)
		aliased = aliased || &p[0] == &b.Raw(0)[0]
	}
	if len(joined) != size || !aliased {
		t.Errorf("%d bytes, size %d; raw text aliased: %v", len(joined), size, aliased)
	}
	d, err := UnmarshalArrow(joined)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Raw(0), long) || d.Decimal(0, 2) != 2 {
		t.Errorf("decoded raw of %d bytes, decimal %d", len(d.Raw(0)), d.Decimal(0, 2))
	}
	if data, _ := b.MarshalArrow(); !bytes.Equal(data, joined) {
		t.Error("MarshalArrow differs from the joined parts")
	}
}

// WithoutRaw gives the rows, origins and cells of a batch without its raw
// text, and leaves the batch as it was.
func TestWithoutRaw(t *testing.T) {
	b := roundTrip(t, sampleBatch())
	w := b.WithoutRaw()
	d := roundTrip(t, w)
	if d.HasRaw() || !b.HasRaw() || d.Len() != b.Len() || d.Cols() != b.Cols() {
		t.Fatalf("HasRaw %v (the batch's %v), %d rows of %d columns; want no raw text and the batch's %d rows of %d", d.HasRaw(), b.HasRaw(), d.Len(), d.Cols(), b.Len(), b.Cols())
	}
	for r := range b.Len() {
		if d.Origin(r) != b.Origin(r) || len(d.Raw(r)) != 0 {
			t.Errorf("row %d: origin %v raw %q; want %v and no raw text (the batch's %q)", r, d.Origin(r), d.Raw(r), b.Origin(r), b.Raw(r))
		}
		for c := range b.Cols() {
			if d.IsNull(r, c) != b.IsNull(r, c) || string(d.Bytes(r, c)) != string(b.Bytes(r, c)) {
				t.Errorf("cell (%d, %d): %q, want %q", r, c, d.Bytes(r, c), b.Bytes(r, c))
			}
		}
	}
	full, _ := b.MarshalArrow()
	bare, _ := w.MarshalArrow()
	if len(bare) >= len(full) {
		t.Errorf("without raw text %d bytes, not fewer than %d", len(bare), len(full))
	}
}

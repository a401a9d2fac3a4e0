package record

import (
	"errors"
	"math"
	"testing"
	"time"
)

func sampleBatch() *Batch {
	b := NewBatch(5)
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
	b.AppendFloat64(2.5)
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
		{"empty not null", b.IsNull(1, 0), false},
		{"empty text", b.Text(1, 0), ""},
		{"max int", b.Int64(1, 1), int64(math.MaxInt64)},
		{"null decimal", b.IsNull(1, 2), true},
		{"bool", b.Bool(1, 4), true},
		{"utf8", b.Text(2, 0), "é"},
		{"float", b.Float64(2, 1), 2.5},
		{"negative decimal", b.Decimal(2, 2), int64(-5)},
		{"false", b.Bool(2, 4), false},
		{"raw", string(b.Raw(1)), "raw,two"},
		{"empty raw", string(b.Raw(2)), ""},
		{"origin", b.Origin(1), Origin{Source: "b.csv", Line: 7}},
		{"origin shared source", b.Origin(2), Origin{Source: "a.csv", Line: 3}},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestBatchCells(t *testing.T) { checkSample(t, sampleBatch()) }

func TestBatchRoundTrip(t *testing.T) {
	data, err := sampleBatch().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var d Batch
	if err := d.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	checkSample(t, &d)
	again, err := d.MarshalBinary()
	if err != nil || string(again) != string(data) {
		t.Fatalf("re-encoding a decoded batch changed it (err %v)", err)
	}
}

func TestCopyRowAndAppendCell(t *testing.T) {
	src := sampleBatch()
	var d Batch
	data, _ := src.MarshalBinary()
	if err := d.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	for _, from := range []*Batch{src, &d} {
		out := NewBatch(5)
		out.StartRow(Origin{Source: "z"}, []byte("first"))
		for c := 0; c < 5; c++ {
			out.AppendNull()
		}
		for i := 0; i < from.Len(); i++ {
			out.CopyRow(from, i)
		}
		// drop the first row again by copying cell by cell
		again := NewBatch(5)
		for i := 1; i < out.Len(); i++ {
			again.StartRow(out.Origin(i), out.Raw(i))
			for c := 0; c < 5; c++ {
				again.AppendCell(out, i, c)
			}
		}
		checkSample(t, again)
		enc, _ := again.MarshalBinary()
		var back Batch
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatal(err)
		}
		if err := back.Check(); err != nil {
			t.Fatal(err)
		}
		checkSample(t, &back)
	}
}

func TestDecodeCorruptBatch(t *testing.T) {
	data, _ := sampleBatch().MarshalBinary()
	cases := map[string][]byte{
		"empty":       {},
		"bad magic":   append([]byte("XX"), data[2:]...),
		"new version": append([]byte{'E', 'B', 9}, data[3:]...),
		"truncated":   data[:len(data)-3],
		"trailing":    append(append([]byte{}, data...), 0, 0),
	}
	for name, in := range cases {
		var b Batch
		err := b.UnmarshalBinary(in)
		if err == nil {
			err = b.Check()
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
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

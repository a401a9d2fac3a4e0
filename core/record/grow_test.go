package record

import (
	"fmt"
	"testing"
	"time"
)

var growSchema = Schema{Fields: []Field{
	{Name: "id", Type: Int64},
	{Name: "name", Type: String},
	{Name: "note", Type: String, Nullable: true},
	{Name: "at", Type: Timestamp},
}}

// growRows appends n rows to b: names of 6 bytes, notes of 20 or null.
func growRows(b *Batch, n int) {
	for i := 0; i < n; i++ {
		b.StartRow(Origin{Source: "f.csv", Line: int64(i + 1)}, []byte(fmt.Sprintf("%d,name%02d,%020d", i, i%100, i)))
		b.AppendInt64(int64(i))
		b.AppendString(fmt.Sprintf("name%02d", i%100))
		if i%4 == 0 {
			b.AppendNull()
		} else {
			b.AppendString(fmt.Sprintf("%020d", i))
		}
		b.AppendMicros(int64(i) * 1e6)
	}
}

func TestValueBytesCountsEachColumnsValues(t *testing.T) {
	b := NewBatch(growSchema)
	growRows(b, 100)
	decoded := growTrip(t, b)
	for _, tc := range []struct {
		name string
		col  int
		want int
	}{
		{"int64 column", 0, 800},
		{"text column", 1, 600},
		{"nullable text column without its nulls", 2, 75 * 20},
		{"timestamp column", 3, 800},
		{"raw text", 4 + 2, len(b.raw)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, bb := range []*Batch{b, decoded} {
				if got := bb.ValueBytes(tc.col); got != tc.want {
					t.Errorf("ValueBytes(%d) = %d, want %d", tc.col, got, tc.want)
				}
			}
		})
	}
}

func TestGrowBytesReservesWhatItIsTold(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes []int
		raw   int
		// wantData is the least capacity of each text column's data.
		wantData map[int]int
	}{
		{"each text column its own size", []int{0, 600, 2000, 0}, 5000, map[int]int{1: 600, 2: 2000}},
		{"missing entries reserve nothing", []int{0, 600}, 0, map[int]int{1: 600, 2: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBatch(growSchema)
			b.GrowBytes(100, tc.bytes, tc.raw)
			for col, want := range tc.wantData {
				if got := cap(b.cols[col].data); got < want {
					t.Errorf("column %d: data capacity %d, want at least %d", col, got, want)
				}
			}
			if cap(b.raw) < tc.raw {
				t.Errorf("raw capacity %d, want at least %d", cap(b.raw), tc.raw)
			}
			if cap(b.cols[0].i64) < 100 || cap(b.cols[3].i64) < 100 || cap(b.lines) < 100 {
				t.Errorf("fixed columns not grown for 100 rows: %d, %d, %d", cap(b.cols[0].i64), cap(b.cols[3].i64), cap(b.lines))
			}
			// What was reserved is used: the rows go in unchanged.
			growRows(b, 100)
			checkSame(t, b, growTrip(t, b))
		})
	}
}

func growTrip(t testing.TB, b *Batch) *Batch {
	t.Helper()
	data, err := b.MarshalArrow()
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	out, err := UnmarshalArrow(data)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return out
}

func checkSame(t *testing.T, a, b *Batch) {
	t.Helper()
	if a.Len() != b.Len() {
		t.Fatalf("%d rows, want %d", b.Len(), a.Len())
	}
	for r := 0; r < a.Len(); r++ {
		if a.Int64(r, 0) != b.Int64(r, 0) || a.Text(r, 1) != b.Text(r, 1) || a.IsNull(r, 2) != b.IsNull(r, 2) ||
			a.Text(r, 2) != b.Text(r, 2) || a.Micros(r, 3) != b.Micros(r, 3) || string(a.Raw(r)) != string(b.Raw(r)) {
			t.Fatalf("row %d differs after the round trip", r)
		}
	}
}

// BenchmarkMarshalArrow measures encoding a batch of 10,000 rows into its
// Arrow IPC stream (the batch changed since, as a stage that built it).
func BenchmarkMarshalArrow(b *testing.B) {
	src := NewBatch(growSchema)
	growRows(src, 10_000)
	b.SetBytes(int64(src.Size()))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		src.data, src.rec = nil, nil
		if _, err := src.MarshalArrow(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*10_000), "ns/row")
}

// BenchmarkUnmarshalArrow measures decoding the stream of a batch of
// 10,000 rows (a view of it: no cell is copied).
func BenchmarkUnmarshalArrow(b *testing.B) {
	src := NewBatch(growSchema)
	growRows(src, 10_000)
	data, err := src.MarshalArrow()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := UnmarshalArrow(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*10_000), "ns/row")
}

// TestSizesGrowTheNextBatchOnce: a batch grown by the Sizes of one like
// it takes the same rows without growing any column again, and reserves
// little more than they need; before Learn, Sizes grows as Grow does.
func TestSizesGrowTheNextBatchOnce(t *testing.T) {
	caps := func(b *Batch) []int {
		out := []int{cap(b.raw), cap(b.rawOff), cap(b.lines)}
		for _, c := range b.cols {
			out = append(out, cap(c.data), cap(c.offsets), cap(c.i64))
		}
		return out
	}
	last := NewBatch(growSchema)
	growRows(last, 1000)
	for _, tc := range []struct {
		name    string
		learned bool
		rows    int
	}{
		{"learned, same rows", true, 1000},
		{"learned, half the rows", true, 500},
		{"nothing learned", false, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Sizes
			if tc.learned {
				s.Learn(last)
			}
			b, plain := NewBatch(growSchema), NewBatch(growSchema)
			s.Grow(b, tc.rows, last.Size())
			plain.Grow(tc.rows, last.Size())
			if !tc.learned {
				if got, want := caps(b), caps(plain); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("capacities %v, want Grow's %v", got, want)
				}
				return
			}
			before := caps(b)
			growRows(b, tc.rows)
			if after := caps(b); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("capacities grew while appending: %v -> %v", before, after)
			}
			// A sixteenth to spare, then the allocator's size classes (up to
			// a quarter above a request of 32 KiB): Grow's even split leaves
			// a short column far more.
			for i, c := range b.cols {
				if spare := cap(c.data) - len(c.data); spare > len(c.data)/2+64 {
					t.Errorf("column %d: %d bytes to spare for %d used", i, spare, len(c.data))
				}
			}
			if spare := cap(b.raw) - len(b.raw); spare > len(b.raw)/2+64 {
				t.Errorf("raw text: %d bytes to spare for %d used", spare, len(b.raw))
			}
		})
	}
}

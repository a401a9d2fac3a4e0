package csvdir

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/plugintest"
)

// writeEventsFile writes a CSV file of the seed's shape to path: the
// header, then rows of e-commerce events of about 90 bytes each, e.g.
//
//	48213,view,1032,"Wireless Mouse, black",19.99,2024-03-01 14:05:09,sess-8f3a2b
//
// It streams, so that a file of any size costs no memory, and returns the
// file's size in bytes.
func writeEventsFile(tb testing.TB, path string, rows int, seed uint64) int64 {
	tb.Helper()
	fh, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	r := rand.New(rand.NewPCG(seed, 2))
	actions := []string{"view", "view", "view", "add_to_cart", "purchase", "remove_from_cart", "VIEW", "addToCart"}
	names := []string{
		`"Wireless Mouse, black"`, "USB-C Cable 2m", `"Desk Lamp, LED, warm white"`, "Notebook A5 ruled",
		`"The ""Good"" Chair"`, "Café Crème Beans 1kg", "Mechanical Keyboard", `"Monitor 27"", 4K"`,
	}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	w.WriteString("user_id,action,product_id,product_name,price,event_time,session_id\n")
	var line []byte
	for range rows {
		line = strconv.AppendInt(line[:0], int64(1+r.IntN(99999)), 10)
		line = append(line, ',')
		line = append(line, actions[r.IntN(len(actions))]...)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(1000+r.IntN(9000)), 10)
		line = append(line, ',')
		line = append(line, names[r.IntN(len(names))]...)
		line = append(line, ',')
		if r.IntN(20) != 0 { // some prices are missing
			line = fmt.Appendf(line, "%d.%02d", r.IntN(500), r.IntN(100))
		}
		line = append(line, ',')
		line = base.Add(time.Duration(r.IntN(86400*30))*time.Second).AppendFormat(line, time.DateTime)
		line = fmt.Appendf(line, ",sess-%06x-%04x\n", r.Uint32()&0xffffff, r.IntN(0x10000))
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	fi, err := fh.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkReadLargeFile reads a file of 1,000,000 events of the seed's
// shape through Read, in batches of 10,000 rows as the engine asks for them,
// from Configure to the file's end.
func BenchmarkReadLargeFile(b *testing.B) {
	const rows = 1_000_000
	dir := b.TempDir()
	size := writeEventsFile(b, filepath.Join(dir, "events.csv"), rows, 1)
	cfg := plugin.Config{Raw: fmt.Appendf(nil, "path: %q", dir)}
	req := plugin.ReadRequest{MaxRows: 10000, MaxBytes: 4 << 20}
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	var read int
	cpu0, haveCPU := plugintest.CPUTime()
	for b.Loop() {
		src := New()
		if _, err := src.Configure(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		if err := src.Open(ctx, nil); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			res, err := src.Read(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			n += res.Batch.Len() + len(res.Rejects)
			if res.CaughtUp {
				break
			}
		}
		src.Close(ctx)
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
		read += n
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "rows/s")
	// rows/cpu-s and ns/row count the process's CPU time (GC included)
	// instead of the wall clock: meaningful on a busy machine too.
	if cpu1, ok := plugintest.CPUTime(); haveCPU && ok && cpu1 > cpu0 {
		cpu := cpu1 - cpu0
		b.ReportMetric(float64(read)/cpu.Seconds(), "rows/cpu-s")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(read), "cpu-ns/row")
	}
}

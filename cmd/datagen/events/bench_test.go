package events

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkGenerate measures Next alone: one op is one row.
func BenchmarkGenerate(b *testing.B) {
	cases := []struct {
		name  string
		rates map[string]float64
	}{
		{"defaults", nil},
		{"clean", map[string]float64{}},
		{"dirty 0.5", ScaleRates(0.5)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			g := New(Config{Seed: 1, Rates: tc.rates})
			buf := make([]byte, 0, 1<<20)
			now := testStart
			var bytes int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if len(buf) > 1<<20-4096 {
					bytes += int64(len(buf))
					buf = buf[:0]
				}
				buf, _ = g.Next(buf, now)
				now = now.Add(time.Millisecond)
			}
			bytes += int64(len(buf))
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/secs, "rows/s")
			b.ReportMetric(float64(bytes)/secs/1e6, "MB/s")
		})
	}
}

// BenchmarkRun measures Run writing files as fast as it can (interval 0),
// files synced and renamed, manifest rewritten after each: one op is one
// row.
func BenchmarkRun(b *testing.B) {
	for _, rows := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("rows-per-file=%d", rows), func(b *testing.B) {
			dir := b.TempDir()
			files := max(1, (b.N+rows-1)/rows)
			o := Options{
				Config:       Config{Seed: 1, Start: testStart},
				Dir:          filepath.Join(dir, "events"),
				RowsPerFile:  rows,
				Files:        files,
				ManifestPath: filepath.Join(dir, "manifest.json"),
				LogEvery:     -1,
			}
			b.ResetTimer()
			m, err := Run(context.Background(), o, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			var size int64
			for _, f := range m.Files {
				if fi, err := os.Stat(filepath.Join(o.Dir, f)); err == nil {
					size += fi.Size()
				}
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(m.Rows)/secs, "rows/s")
			b.ReportMetric(float64(size)/secs/1e6, "MB/s")
			b.ReportMetric(float64(len(m.Files))/secs, "files/s")
		})
	}
}

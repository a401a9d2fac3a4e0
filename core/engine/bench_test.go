package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/spec"
)

// BenchmarkPipeline moves rows of the e-commerce shape (7 fields) through
// a source, a transform and a sink, each its own plugin process over gRPC,
// with the engine in this process. One op is one row.
func BenchmarkPipeline(b *testing.B) {
	for _, rows := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", rows), func(b *testing.B) {
			yaml := fmt.Sprintf(`version: 1
name: bench
engine:
  batch: {max_rows: %d, max_bytes: 64MiB, max_wait: 1s}
  queue_depth: 4
source:
  plugin: gen
  config: {partitions: 4, rows: %d}
transforms:
  - plugin: copy
sink:
  plugin: count
`, rows, (b.N+3)/4)
			s, err := spec.Parse("bench.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
			if err != nil {
				b.Fatal(err)
			}
			in, err := engine.Open(context.Background(), s, testHost(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer in.Kill()
			opts := engine.OptionsOf(s)
			opts.Once = true
			stats := &engine.Stats{}
			b.ResetTimer()
			start := time.Now()
			if err := engine.Run(context.Background(), in.Pipeline, opts, nil, stats); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start).Seconds()
			b.StopTimer()
			st := stats.Snapshot()
			if st.RowsWritten != int64((b.N+3)/4*4) {
				b.Fatalf("wrote %d rows, want %d", st.RowsWritten, (b.N+3)/4*4)
			}
			b.ReportMetric(float64(st.RowsWritten)/elapsed, "rows/s")
			b.ReportMetric(float64(st.BytesRead)/elapsed/1e6, "MB/s")
		})
	}
}

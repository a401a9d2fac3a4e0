package engine_test

import (
	"context"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// BenchmarkStages measures each test plugin and the batch encoding in
// this process, to tell the cost of the plugins from that of gRPC.
func BenchmarkStages(b *testing.B) {
	ctx := context.Background()
	g := &genSource{}
	if _, err := g.Configure(ctx, plugin.Config{Raw: []byte("partitions: 4\nrows: 1000000000\n")}); err != nil {
		b.Fatal(err)
	}
	if err := g.Open(ctx, nil); err != nil {
		b.Fatal(err)
	}
	req := plugin.ReadRequest{MaxRows: 10000, MaxBytes: 64 << 20}
	res, _ := g.Read(ctx, req)
	batch := res.Batch
	wire, _ := batch.MarshalArrow()
	b.Run("gen.Read", func(b *testing.B) {
		for i := 0; i < b.N; i += 10000 {
			g.Read(ctx, req)
		}
	})
	b.Run("copy.Process", func(b *testing.B) {
		t := &copyTransform{}
		for i := 0; i < b.N; i += 10000 {
			t.Process(ctx, batch)
		}
	})
	b.Run("decode+check", func(b *testing.B) {
		for i := 0; i < b.N; i += 10000 {
			d, _ := record.UnmarshalArrow(wire)
			d.Check()
		}
	})
	b.Run("count.Write", func(b *testing.B) {
		s := &countSink{}
		for i := 0; i < b.N; i += 10000 {
			s.Write(ctx, plugin.WriteRequest{Batch: batch})
		}
	})
	b.ReportMetric(float64(len(wire))/10000, "bytes/row")
}

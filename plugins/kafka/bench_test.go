package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// BenchmarkAddRecords measures making rows of polled messages (no
// broker): rows/s of an e-commerce-like value, csv and json, with the key
// and offset as metadata fields.
func BenchmarkAddRecords(b *testing.B) {
	for _, tc := range []struct {
		format, value string
	}{
		{"csv", `1042,77,3318,view,2026-12-01 10:00:00,19.99,"Blue mug, large",s-8812`},
		{"json", `{"event_id":1042,"user_id":77,"product_id":3318,"action":"view","event_time":"2026-12-01 10:00:00","price":19.99,"product_name":"Blue mug, large","session_id":"s-8812"}`},
	} {
		b.Run(tc.format, func(b *testing.B) {
			s := New()
			cfg := "brokers: [h:1]\ntopics: [events]\nformat: " + tc.format +
				"\ncolumns: [event_id, user_id, product_id, action, event_time, price, product_name, session_id]\nmetadata: {key: k, offset: o}\n"
			if _, err := s.Configure(context.Background(), plugin.Config{Pipeline: "bench", Raw: []byte(cfg)}); err != nil {
				b.Fatal(err)
			}
			t := tp{"events", 0}
			s.parts[t] = &part{state: stateActive, hw: -1}
			const batch = 10000
			recs := make([]*kgo.Record, batch)
			for i := range recs {
				recs[i] = &kgo.Record{Topic: "events", Key: []byte(fmt.Sprint(i % 500)), Value: []byte(tc.value), Timestamp: time.Now()}
			}
			b.ResetTimer()
			start := time.Now()
			rows := 0
			for i := 0; i < b.N; i++ {
				for j, r := range recs {
					r.Offset = int64(i*batch + j)
				}
				bs := &batchState{b: record.NewBatch(s.schema), positions: map[tp]int64{}, maxRows: batch, maxBytes: 1 << 30}
				s.mu.Lock()
				s.addRecords(bs, recs)
				s.mu.Unlock()
				if bs.b.Len() != batch {
					b.Fatalf("%d rows, %d rejects", bs.b.Len(), len(bs.rejects))
				}
				rows += batch
			}
			b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
		})
	}
}

package cleanser

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin/plugintest"
	"github.com/seed-etl/etl/core/record"
)

// realisticBatch builds n e-commerce rows as a CSV source reads them:
// mostly clean, with the spellings, formats and padding of the data
// contract, and about one row in twenty dirty.
func realisticBatch(n int, seed uint64) *record.Batch {
	r := rand.New(rand.NewPCG(seed, 1))
	actions := []string{"view", "VIEW", "page view", "add_to_cart", "addToCart", "PURCHASE", "buy", "remove", "REMOVE_FROM_CART", "wishlist"}
	names := []string{"Blue Mug", "Wireless Mouse", `Desk Lamp, LED`, `The "Good" Chair`, "USB-C Cable 2m", "Notebook A5", "Café Crème Beans"}
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var schema record.Schema
	for _, name := range []string{"user_id", "action", "product_id", "product_name", "price", "event_time", "session_id"} {
		schema.Fields = append(schema.Fields, record.Field{Name: name, Type: record.String})
	}
	b := record.NewBatch(schema)
	for i := 0; i < n; i++ {
		t := base.Add(time.Duration(r.IntN(86400*30)) * time.Second)
		action := actions[r.IntN(len(actions))]
		price := fmt.Sprintf("%d.%02d", r.IntN(500), r.IntN(100))
		if action == "view" && r.IntN(2) == 0 {
			price = ""
		}
		var ts string
		switch k := r.IntN(100); {
		case k < 70:
			ts = t.Format(time.RFC3339)
		case k < 75:
			ts = t.Format("2006-01-02T15:04:05.000+02:00")
		case k < 80:
			ts = t.Format(time.DateTime)
		case k < 84:
			ts = t.Format("2006-01-02T15:04:05")
		case k < 88:
			ts = t.Format("2006/01/02 15:04:05")
		case k < 92:
			ts = t.Format("01/02/2006 15:04:05")
		case k < 94:
			ts = t.Format("02 Jan 2006 15:04:05")
		case k < 97:
			ts = fmt.Sprint(t.Unix())
		default:
			ts = fmt.Sprint(t.UnixMilli())
		}
		session := fmt.Sprintf("sess-%08x", r.Uint32())
		if r.IntN(10) == 0 {
			session = []string{"", "null", "NULL", "N/A", "none"}[r.IntN(5)]
		}
		row := []string{fmt.Sprint(1 + r.IntN(100000)), action, fmt.Sprint(1 + r.IntN(5000)), names[r.IntN(len(names))], price, ts, session}
		if r.IntN(10) == 0 {
			row[0] = " " + row[0] + " "
		}
		if r.IntN(20) == 0 { // dirty
			switch r.IntN(7) {
			case 0:
				row[4] = "-" + price + "1"
			case 1:
				row[4] = "abc"
			case 2:
				row[5] = "not a time"
			case 3:
				row[0] = ""
			case 4:
				row[3] = strings.Repeat("x", 120)
			case 5:
				row[2] = "p42"
			case 6:
				row[1], row[4] = "buy", ""
			}
		}
		b.StartRow(record.Origin{Source: "data/events/events_0001.csv", Line: int64(i + 2)}, []byte(strings.Join(row, ",")))
		for _, c := range row {
			b.AppendString(c)
		}
	}
	return b
}

// BenchmarkEcommerce cleans batches of 10,000 realistic rows with the
// configuration of configs/ecommerce.yaml (three rules).
func BenchmarkEcommerce(b *testing.B) {
	c := ecommerce(b)
	in := realisticBatch(10000, 1)
	ctx := context.Background()
	b.SetBytes(int64(in.Size()))
	b.ReportAllocs()
	var rows, rejects int
	cpu0, haveCPU := plugintest.CPUTime()
	for b.Loop() {
		out, rej, err := c.Process(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		rows += out.Len()
		rejects += len(rej)
	}
	b.ReportMetric(float64(rows+rejects)/b.Elapsed().Seconds(), "rows/s")
	// rows/cpu-s counts the process's CPU time instead of the wall clock
	// (GC included): the same as rows/s on an idle machine, and still
	// meaningful on a busy one.
	if cpu1, ok := plugintest.CPUTime(); haveCPU && ok && cpu1 > cpu0 {
		b.ReportMetric(float64(rows+rejects)/(cpu1-cpu0).Seconds(), "rows/cpu-s")
	}
	b.ReportMetric(100*float64(rejects)/float64(rows+rejects), "%rejected")
}

// BenchmarkTimestampParse parses one value per format kind: the numeric
// and RFC 3339 fast paths, a general layout, and layouts with a zone
// abbreviation.
func BenchmarkTimestampParse(b *testing.B) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		b.Fatal(err)
	}
	tests := []struct {
		name, format, value string
		loc                 *time.Location
	}{
		{"rfc3339", "rfc3339", "2024-03-01T14:05:09+02:00", time.UTC},
		{"numeric", "2006-01-02 15:04:05", "2024-03-01 14:05:09", time.UTC},
		{"numeric in Paris", "2006-01-02 15:04:05", "2024-03-01 14:05:09", paris},
		{"layout", "02 Jan 2006 15:04:05", "01 Mar 2024 14:05:09", time.UTC},
		{"layout with offset", "2006-01-02 15:04:05 -0700", "2024-03-01 14:05:09 -0800", time.UTC},
		{"abbreviation UTC", "2006-01-02 15:04:05 MST", "2024-03-01 14:05:09 UTC", time.UTC},
		{"abbreviation PST", "2006-01-02 15:04:05 MST", "2024-03-01 14:05:09 PST", time.UTC},
		{"abbreviation CET in Paris", "2006-01-02 15:04:05 MST", "2024-03-01 14:05:09 CET", paris},
		{"unix date", time.UnixDate, "Fri Mar  1 14:05:09 PST 2024", time.UTC},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			f, err := compileFormat(tt.format)
			if err != nil {
				b.Fatal(err)
			}
			v := []byte(tt.value)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := f.parse(v, tt.loc); !ok {
					b.Fatalf("%q does not parse", tt.value)
				}
			}
		})
	}
}

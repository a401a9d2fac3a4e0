package events

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/cleanser"
	"github.com/seed-etl/etl/plugins/csvdir"
)

// testStart is the simulated clock of the tests: in the past, so that no
// event time is ever in the pipeline's future.
var testStart = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// allRates gives every kind the same rate, rate.
func allRates(rate float64) map[string]float64 {
	m := map[string]float64{}
	for _, k := range Kinds {
		m[k.Name] = rate
	}
	return m
}

// generated is what the tests wrote: the outcome of every line, by
// "file:line".
type generated struct {
	outcomes map[string]Outcome
	lines    map[string]string
	order    []string
}

// writeFiles writes files of rows lines each into dir with g, the clock
// starting at start and advancing step per row; it returns the outcomes.
func writeFiles(t testing.TB, g *Generator, dir string, files, rows int, start time.Time, step time.Duration) *generated {
	t.Helper()
	gen := &generated{outcomes: map[string]Outcome{}, lines: map[string]string{}}
	clock := start
	for f := range files {
		name := fmt.Sprintf("events-test-%04d.csv", f+1)
		err := WriteFile(dir, name, func(w io.Writer) error {
			var buf []byte
			for i := range rows {
				var o Outcome
				n := len(buf)
				now := clock
				if start.IsZero() {
					now = time.Now()
				}
				buf, o = g.Next(buf, now)
				clock = clock.Add(step)
				key := fmt.Sprintf("%s:%d", name, i+2)
				gen.outcomes[key] = o
				gen.lines[key] = string(buf[n : len(buf)-1])
				gen.order = append(gen.order, key)
			}
			_, err := w.Write(buf)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return gen
}

// pipelineResult is what the real csvdir source and cleanser made of a
// folder, by "file:line".
type pipelineResult struct {
	accepted map[string]Event
	rejected map[string]record.Reject
}

func originKey(o record.Origin) string {
	return fmt.Sprintf("%s:%d", filepath.Base(o.Source), o.Line)
}

// ecommerceCleanserConfig returns the `config:` block of the clean
// transform of configs/ecommerce.yaml.
func ecommerceCleanserConfig(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("../../../configs/ecommerce.yaml")
	if err != nil {
		t.Fatalf("read pipeline: %v", err)
	}
	var doc struct {
		Transforms []struct {
			Name   string    `yaml:"name"`
			Plugin string    `yaml:"plugin"`
			Config yaml.Node `yaml:"config"`
		} `yaml:"transforms"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse pipeline: %v", err)
	}
	for _, tr := range doc.Transforms {
		if tr.Plugin == "cleanser" && tr.Name == "clean" {
			raw, err := yaml.Marshal(&tr.Config)
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}
	}
	t.Fatal("configs/ecommerce.yaml has no clean transform")
	return nil
}

// runPipeline reads every file of dir through the real csvdir source and
// the real cleanser, configured as in configs/ecommerce.yaml (files kept
// in place).
func runPipeline(t testing.TB, dir string) *pipelineResult {
	t.Helper()
	ctx := context.Background()
	src := csvdir.New()
	srcConf := fmt.Sprintf("path: %q\npattern: \"*.csv\"\nheader: true\ncolumns: [user_id, action, product_id, product_name, price, event_time, session_id]\npoll_interval: 10ms\n", dir)
	schema, err := src.Configure(ctx, plugin.Config{Pipeline: "datagen-test", Name: "source", Raw: []byte(srcConf)})
	if err != nil {
		t.Fatalf("csvdir Configure: %v", err)
	}
	defer src.Close(ctx)
	if err := src.Open(ctx, nil); err != nil {
		t.Fatalf("csvdir Open: %v", err)
	}
	cl := cleanser.New()
	out, err := cl.Configure(ctx, plugin.Config{Pipeline: "datagen-test", Name: "clean", Raw: ecommerceCleanserConfig(t)}, schema)
	if err != nil {
		t.Fatalf("cleanser Configure: %v", err)
	}
	wantCols := []string{"user_id", "action", "product_id", "product_name", "price", "event_time", "session_id"}
	var gotCols []string
	for _, f := range out.Fields {
		gotCols = append(gotCols, f.Name)
	}
	if !slices.Equal(gotCols, wantCols) {
		t.Fatalf("cleanser output columns %v, want %v", gotCols, wantCols)
	}
	res := &pipelineResult{accepted: map[string]Event{}, rejected: map[string]record.Reject{}}
	for range 100000 {
		rr, err := src.Read(ctx, plugin.ReadRequest{MaxRows: 4000, MaxBytes: 4 << 20})
		if err != nil {
			t.Fatalf("csvdir Read: %v", err)
		}
		for _, rj := range rr.Rejects {
			res.rejected[originKey(rj.Origin)] = rj
		}
		if rr.Batch != nil && rr.Batch.Len() > 0 {
			b, rejects, err := cl.Process(ctx, rr.Batch)
			if err != nil {
				t.Fatalf("cleanser Process: %v", err)
			}
			for _, rj := range rejects {
				res.rejected[originKey(rj.Origin)] = rj
			}
			for i := 0; i < b.Len(); i++ {
				res.accepted[originKey(b.Origin(i))] = eventOf(b, i)
			}
		}
		if rr.CaughtUp {
			return res
		}
	}
	t.Fatal("csvdir never caught up")
	return nil
}

// eventOf reads row i of a cleanser output batch.
func eventOf(b *record.Batch, i int) Event {
	ev := Event{
		UserID:    b.Int64(i, 0),
		Action:    b.Text(i, 1),
		ProductID: b.Int64(i, 2),
		EventTime: b.Timestamp(i, 5).UTC(),
	}
	if !b.IsNull(i, 3) {
		ev.ProductName = b.Text(i, 3)
	}
	if !b.IsNull(i, 4) {
		ev.Price = record.FormatDecimal(b.Decimal(i, 4), 2)
	}
	if !b.IsNull(i, 6) {
		ev.SessionID = b.Text(i, 6)
	}
	return ev
}

func sameEvent(a, b Event) bool {
	return a.UserID == b.UserID && a.Action == b.Action && a.ProductID == b.ProductID &&
		a.ProductName == b.ProductName && a.Price == b.Price && a.EventTime.Equal(b.EventTime) &&
		a.SessionID == b.SessionID
}

// csvFiles returns the *.csv files of dir, by name.
func csvFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// tempFiles returns the temporary files left in dir.
func tempFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), ".tmp") {
			out = append(out, e.Name())
		}
	}
	return out
}

// checkComplete reports why data is not a complete file of rows rows.
func checkComplete(data []byte, rows int) error {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return fmt.Errorf("does not end in a line end (%d bytes)", len(data))
	}
	lines := bytes.Split(data[:len(data)-1], []byte("\n"))
	if string(lines[0]) != Header {
		return fmt.Errorf("header %q", lines[0])
	}
	if len(lines)-1 != rows {
		return fmt.Errorf("%d rows, want %d", len(lines)-1, rows)
	}
	for i, l := range lines[1:] {
		if len(l) == 0 {
			return fmt.Errorf("line %d is empty", i+2)
		}
	}
	return nil
}

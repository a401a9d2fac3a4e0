package csvdir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// baseTime is the modification time of the first test file; later files
// get later times, so that their order is known.
var baseTime = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// writeFile writes a complete file as producers do: a temporary name, then
// a rename. It sets the modification time to mtime when not zero.
func writeFile(t testing.TB, dir, name, content string, mtime time.Time) string {
	t.Helper()
	tmp := filepath.Join(dir, name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(tmp, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// configure returns a source configured with the YAML config block yaml,
// through the plugin.Source interface, and its schema.
// Options change the source before it is configured.
func configure(t testing.TB, yaml string, opts ...func(*Source)) (plugin.Source, record.Schema) {
	t.Helper()
	src := New()
	src.log = slog.New(slog.DiscardHandler)
	for _, o := range opts {
		o(src)
	}
	schema, err := src.Configure(context.Background(), plugin.Config{Pipeline: "test", Name: "source", Raw: []byte(yaml)})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { src.Close(context.Background()) })
	return src, schema
}

// open configures and opens a source at positions.
func open(t testing.TB, yaml string, positions []record.Position, opts ...func(*Source)) plugin.Source {
	t.Helper()
	src, _ := configure(t, yaml, opts...)
	if err := src.Open(context.Background(), positions); err != nil {
		t.Fatalf("Open: %v", err)
	}
	return src
}

// row is one row of a batch as the tests compare it.
type row struct {
	Origin string // source:line
	Raw    string
	Fields []string
}

// got is what one or more Reads returned.
type got struct {
	Rows      []row
	Rejects   []record.Reject
	Positions []record.Position // merged, latest per partition, first-seen order
	Batches   int
}

func (g *got) add(res plugin.ReadResult) {
	g.Batches++
	b := res.Batch
	for i := 0; b != nil && i < b.Len(); i++ {
		r := row{Origin: b.Origin(i).String(), Raw: string(b.Raw(i))}
		for c := 0; c < b.Cols(); c++ {
			r.Fields = append(r.Fields, b.Text(i, c))
		}
		g.Rows = append(g.Rows, r)
	}
	g.Rejects = append(g.Rejects, res.Rejects...)
	g.Positions = mergePositions(g.Positions, res.Positions)
}

// mergePositions keeps the latest position of each partition, as a sink
// does.
func mergePositions(into, ps []record.Position) []record.Position {
next:
	for _, p := range ps {
		for i := range into {
			if into[i].Partition == p.Partition {
				into[i] = p
				continue next
			}
		}
		into = append(into, p)
	}
	return into
}

// fields returns the fields of the rows, joined by "|".
func (g *got) fields() []string {
	out := make([]string, len(g.Rows))
	for i, r := range g.Rows {
		out[i] = strings.Join(r.Fields, "|")
	}
	return out
}

// readUntilCaughtUp reads batches until one says CaughtUp, at most 1000.
func readUntilCaughtUp(t testing.TB, src plugin.Source, req plugin.ReadRequest) *got {
	t.Helper()
	g := &got{}
	for range 1000 {
		res, err := src.Read(context.Background(), req)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		checkBatch(t, res, req)
		g.add(res)
		if res.CaughtUp {
			return g
		}
	}
	t.Fatal("not caught up after 1000 batches")
	return nil
}

// checkBatch checks what every batch promises: within its limits, one
// position per partition.
func checkBatch(t testing.TB, res plugin.ReadResult, req plugin.ReadRequest) {
	t.Helper()
	n := len(res.Rejects)
	if res.Batch != nil {
		n += res.Batch.Len()
	}
	if req.MaxRows > 0 && n > req.MaxRows {
		t.Errorf("batch of %d rows and rejects, MaxRows %d", n, req.MaxRows)
	}
	seen := map[string]bool{}
	for _, p := range res.Positions {
		if seen[p.Partition] {
			t.Errorf("partition %q twice in one batch's positions", p.Partition)
		}
		seen[p.Partition] = true
	}
}

// quick is a request that does not wait.
var quick = plugin.ReadRequest{MaxRows: 1000, MaxBytes: 1 << 20, MaxWaitMillis: 0}

// csvLines returns a file of the given lines, each ended by "\n".
func csvLines(lines ...string) string {
	return strings.Join(lines, "\n") + "\n"
}

// eventLines returns n event lines numbered from first.
func eventLines(first, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("%d,VIEW,%d,\"Widget, Large\",19.99,2026-11-25T10:00:00Z,s-%08x", first+i, 600+i%50, first+i)
	}
	return lines
}

const eventHeader = "user_id,action,product_id,product_name,price,event_time,session_id"

// sha is the fingerprint of content as a partition key holds it.
func sha(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:fingerprintBytes])
}

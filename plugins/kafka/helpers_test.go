package kafka

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// testTimeout bounds how long a test waits for the group or for messages.
const testTimeout = 20 * time.Second

// newCluster starts an in-process Kafka (kfake, the real wire protocol)
// with the topic given its partitions, and returns its address.
func newCluster(t testing.TB, topic string, partitions int32) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// message is one message to produce.
type message struct {
	partition int32
	key       string
	value     string
	headers   map[string]string
	time      time.Time
}

// produce writes msgs to topic, each to its partition, synchronously.
func produce(t testing.TB, addr, topic string, msgs ...message) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		r := &kgo.Record{Topic: topic, Partition: m.partition, Value: []byte(m.value), Timestamp: m.time}
		if m.key != "" {
			r.Key = []byte(m.key)
		}
		for _, k := range slices.Sorted(mapKeys(m.headers)) {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: k, Value: []byte(m.headers[k])})
		}
		recs[i] = r
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// openSource configures and opens a source with the YAML cfg, closed at
// the end of the test.
func openSource(t testing.TB, cfg string) *Source {
	t.Helper()
	s := New()
	if _, err := s.Configure(context.Background(), plugin.Config{Pipeline: "test", Name: "in", Raw: []byte(cfg)}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	if err := s.Open(context.Background(), nil); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// read is one Read with a short wait.
func read(t testing.TB, s *Source, maxRows int) plugin.ReadResult {
	t.Helper()
	res, err := s.Read(context.Background(), plugin.ReadRequest{MaxRows: maxRows, MaxWaitMillis: 100})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return res
}

// waitAssigned reads until the group assigned want partitions in all and
// returns their names, sorted; the rows read meanwhile must be none.
func waitAssigned(t testing.TB, s *Source, want int) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(testTimeout)
	for len(got) < want {
		if time.Now().After(deadline) {
			t.Fatalf("assigned %v after %s, want %d partitions", got, testTimeout, want)
		}
		res := read(t, s, 100)
		if res.Batch.Len() > 0 || len(res.Rejects) > 0 {
			t.Fatalf("%d rows, %d rejects before any Assign", res.Batch.Len(), len(res.Rejects))
		}
		got = append(got, res.Assigned...)
	}
	slices.SortFunc(got, comparePartitions)
	return got
}

// item is a row or a reject as a test compares it.
type item struct {
	origin record.Origin
	raw    string
	// cells are the row's cells as text ("<null>" for null); empty for a
	// reject.
	cells     string
	errorType string
}

// items returns the rows of res, then its rejects.
func items(res plugin.ReadResult) []item {
	var out []item
	b := res.Batch
	for r := range b.Len() {
		var cells []string
		for c := range b.Cols() {
			cells = append(cells, cellText(b, r, c))
		}
		out = append(out, item{origin: b.Origin(r), raw: string(b.Raw(r)), cells: strings.Join(cells, "|")})
	}
	for _, rj := range res.Rejects {
		out = append(out, item{origin: rj.Origin, raw: rj.Raw, errorType: rj.ErrorType})
	}
	return out
}

// cellText is one cell as text.
func cellText(b *record.Batch, r, c int) string {
	if b.IsNull(r, c) {
		return "<null>"
	}
	switch b.Schema().Fields[c].Type {
	case record.Int32:
		return fmt.Sprint(b.Int32(r, c))
	case record.Int64:
		return fmt.Sprint(b.Int64(r, c))
	case record.Timestamp:
		return b.Timestamp(r, c).UTC().Format(time.RFC3339Nano)
	default:
		return b.Text(r, c)
	}
}

// readAll reads until n rows and rejects came (answering Assigned with
// Assign at positions) and returns them and the positions reached.
func readAll(t testing.TB, s *Source, n int, positions []record.Position) ([]item, map[string]int64) {
	t.Helper()
	var got []item
	reached := map[string]int64{}
	deadline := time.Now().Add(testTimeout)
	for len(got) < n {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d items after %s: %v", len(got), n, testTimeout, got)
		}
		res := read(t, s, 1000)
		if len(res.Assigned) > 0 {
			if err := s.Assign(context.Background(), res.Assigned, positions); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, items(res)...)
		for _, p := range res.Positions {
			reached[p.Partition] = p.Offset
		}
	}
	return got, reached
}

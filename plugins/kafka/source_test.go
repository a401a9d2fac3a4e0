package kafka

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Messages become rows of their value's fields and the metadata fields
// named; those that cannot be parsed become rejects keeping their value,
// with topic/partition and the offset as origin; positions are next
// offsets.
func TestReadMakesRowsAndRejects(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 123000000, time.UTC)
	meta := "metadata: {key: k, timestamp: ts, topic: tp, partition: p, offset: o, headers: h}\n"
	for _, tc := range []struct {
		name     string
		cfg      string
		messages []string
		want     []item
	}{
		{
			name:     "csv",
			cfg:      "format: csv\ncolumns: [id, name]\n" + meta,
			messages: []string{`1,"a, b"`, `2,two,extra`, `3,"x""y"`, `4,"open`, "5,\xff"},
			want: []item{
				{origin: record.Origin{Source: "events/0", Line: 0}, raw: `1,"a, b"`, cells: `1|a, b|key0|2026-12-01T10:00:00.123Z|events|0|0|{"h":"v0"}`},
				{origin: record.Origin{Source: "events/0", Line: 2}, raw: `3,"x""y"`, cells: `3|x"y|key2|2026-12-01T10:00:00.123Z|events|0|2|{"h":"v2"}`},
				{origin: record.Origin{Source: "events/0", Line: 1}, raw: `2,two,extra`, errorType: ErrorTypeCSV},
				{origin: record.Origin{Source: "events/0", Line: 3}, raw: `4,"open`, errorType: ErrorTypeCSV},
				{origin: record.Origin{Source: "events/0", Line: 4}, raw: "5,\xff", errorType: ErrorTypeCSV},
			},
		},
		{
			name:     "json",
			cfg:      "format: json\ncolumns: [id, name]\n" + meta,
			messages: []string{`{"id": 1, "name": "a", "other": true}`, `{"id": "2"}`, `[1, 2]`, `{"id": `, `{"name": {"x": [1]}, "id": null}`},
			want: []item{
				{origin: record.Origin{Source: "events/0", Line: 0}, raw: `{"id": 1, "name": "a", "other": true}`, cells: `1|a|key0|2026-12-01T10:00:00.123Z|events|0|0|{"h":"v0"}`},
				{origin: record.Origin{Source: "events/0", Line: 1}, raw: `{"id": "2"}`, cells: `2|<null>|key1|2026-12-01T10:00:00.123Z|events|0|1|{"h":"v1"}`},
				{origin: record.Origin{Source: "events/0", Line: 4}, raw: `{"name": {"x": [1]}, "id": null}`, cells: `<null>|{"x": [1]}|key4|2026-12-01T10:00:00.123Z|events|0|4|{"h":"v4"}`},
				{origin: record.Origin{Source: "events/0", Line: 2}, raw: `[1, 2]`, errorType: ErrorTypeJSON},
				{origin: record.Origin{Source: "events/0", Line: 3}, raw: `{"id": `, errorType: ErrorTypeJSON},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := newCluster(t, "events", 1)
			var msgs []message
			for i, v := range tc.messages {
				msgs = append(msgs, message{key: fmt.Sprintf("key%d", i), value: v, time: at, headers: map[string]string{"h": fmt.Sprintf("v%d", i)}})
			}
			produce(t, addr, "events", msgs...)
			s := openSource(t, fmt.Sprintf("brokers: [%s]\ntopics: [events]\n%s", addr, tc.cfg))
			got, reached := readAll(t, s, len(tc.want), nil)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%v\nwant\n%v", got, tc.want)
			}
			if want := map[string]int64{"events/0": int64(len(tc.messages))}; !reflect.DeepEqual(reached, want) {
				t.Errorf("positions %v, want %v (the next offset)", reached, want)
			}
		})
	}
}

// A message without a key has a null key field.
func TestReadKeylessMessageHasNullKey(t *testing.T) {
	addr := newCluster(t, "events", 1)
	produce(t, addr, "events", message{value: "1"})
	s := openSource(t, fmt.Sprintf("brokers: [%s]\ntopics: [events]\ncolumns: [id]\nmetadata: {key: k}\n", addr))
	got, _ := readAll(t, s, 1, nil)
	if got[0].cells != "1|<null>" {
		t.Errorf("cells %q, want 1|<null>", got[0].cells)
	}
}

// Assign starts each partition at its given position; one without a
// position starts where start says; nothing is read before Assign.
func TestAssignStartsAtPositions(t *testing.T) {
	for _, tc := range []struct {
		start string
		// want are the origins of the rows read, by partition.
		want map[string][]int64
	}{
		{start: "earliest", want: map[string][]int64{"events/0": {3, 4}, "events/1": {0, 1, 2, 3, 4, 5}}},
		{start: "latest", want: map[string][]int64{"events/0": {3, 4}, "events/1": {5}}},
	} {
		t.Run(tc.start, func(t *testing.T) {
			addr := newCluster(t, "events", 2)
			var msgs []message
			for i := range 5 {
				msgs = append(msgs, message{partition: 0, value: fmt.Sprintf("p0 %d", i)}, message{partition: 1, value: fmt.Sprintf("p1 %d", i)})
			}
			produce(t, addr, "events", msgs...)
			s := openSource(t, fmt.Sprintf("brokers: [%s]\ntopics: [events]\ncolumns: [v]\nstart: %s\n", addr, tc.start))
			assigned := waitAssigned(t, s, 2)
			if want := []string{"events/0", "events/1"}; !slices.Equal(assigned, want) {
				t.Fatalf("assigned %v, want %v", assigned, want)
			}
			// Not yet assigned by the engine: nothing comes.
			for range 3 {
				if res := read(t, s, 100); res.Batch.Len() > 0 {
					t.Fatalf("%d rows before Assign", res.Batch.Len())
				}
			}
			if err := s.Assign(context.Background(), assigned, []record.Position{{Partition: "events/0", Offset: 3}}); err != nil {
				t.Fatal(err)
			}
			produce(t, addr, "events", message{partition: 1, value: "p1 5"})
			n := 0
			for _, offs := range tc.want {
				n += len(offs)
			}
			got, reached := readAll(t, s, n, nil)
			byPart := map[string][]int64{}
			for _, it := range got {
				byPart[it.origin.Source] = append(byPart[it.origin.Source], it.origin.Line)
			}
			if !reflect.DeepEqual(byPart, tc.want) {
				t.Errorf("read offsets %v, want %v", byPart, tc.want)
			}
			if want := map[string]int64{"events/0": 5, "events/1": 6}; !reflect.DeepEqual(reached, want) {
				t.Errorf("positions %v, want %v", reached, want)
			}
		})
	}
}

// Each batch reports the lag of the partitions read: high watermark less
// next offset.
func TestReadReportsLagPerPartition(t *testing.T) {
	addr := newCluster(t, "events", 2)
	var msgs []message
	for i := range 10 {
		msgs = append(msgs, message{partition: 0, value: fmt.Sprint(i)})
	}
	msgs = append(msgs, message{partition: 1, value: "x"})
	produce(t, addr, "events", msgs...)
	s := openSource(t, fmt.Sprintf("brokers: [%s]\ntopics: [events]\ncolumns: [v]\n", addr))
	assigned := waitAssigned(t, s, 2)
	if err := s.Assign(context.Background(), assigned, []record.Position{{Partition: "events/1", Offset: 1}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testTimeout)
	var res plugin.ReadResult
	for res.Batch == nil || res.Batch.Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no rows")
		}
		res = read(t, s, 4)
	}
	if res.Batch.Len() != 4 || res.CaughtUp {
		t.Fatalf("%d rows, caught up %v; want 4, not caught up", res.Batch.Len(), res.CaughtUp)
	}
	want := []plugin.PartitionLag{{Partition: "events/0", Messages: 6}, {Partition: "events/1", Messages: 0}}
	// events/1 has no fetch answered yet when nothing of it was read:
	// its lag is then unknown and left out.
	lag := res.Backlog.Lag
	if len(lag) == 1 {
		want = want[:1]
	}
	if !reflect.DeepEqual(lag, want) || res.Backlog.Partitions != 1 {
		t.Errorf("lag %v (%d partitions behind), want %v (1)", lag, res.Backlog.Partitions, want)
	}
}

// A Read waiting for data returns as soon as the group revokes
// partitions, naming them; the revoke waits for Release before the group
// hands them to the member that joined, which gets them only then.
func TestRevokeWaitsForRelease(t *testing.T) {
	addr := newCluster(t, "events", 4)
	cfg := fmt.Sprintf("brokers: [%s]\ntopics: [events]\ncolumns: [v]\ngroup: g\nsession_timeout: 6s\n", addr)
	a := openSource(t, cfg)
	all := waitAssigned(t, a, 4)
	if err := a.Assign(context.Background(), all, nil); err != nil {
		t.Fatal(err)
	}
	produce(t, addr, "events", message{partition: 0, value: "a0"}, message{partition: 1, value: "a1"}, message{partition: 2, value: "a2"}, message{partition: 3, value: "a3"})
	readAll(t, a, 4, nil)

	b := openSource(t, cfg)
	// a's Read, waiting up to a minute for data, returns with what the
	// rebalance revoked.
	var revoked []string
	deadline := time.Now().Add(testTimeout)
	for len(revoked) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing revoked from the first member")
		}
		start := time.Now()
		res, err := a.Read(context.Background(), plugin.ReadRequest{MaxRows: 100, MaxWaitMillis: 60000})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Revoked) > 0 && time.Since(start) >= time.Minute {
			t.Fatalf("Read returned the revoke after its whole wait")
		}
		revoked = res.Revoked
	}
	if len(revoked) != 2 {
		t.Fatalf("revoked %v, want 2 of 4 partitions", revoked)
	}
	// Until a releases them, b gets none of them.
	var bGot []string
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		res := read(t, b, 100)
		bGot = append(bGot, res.Assigned...)
	}
	if len(bGot) > 0 {
		t.Fatalf("second member assigned %v before the first released %v", bGot, revoked)
	}
	// Records of revoked partitions are no longer returned.
	var msgs []message
	for _, name := range revoked {
		p, _ := parseTP(name)
		msgs = append(msgs, message{partition: p.partition, value: "after revoke " + name})
	}
	produce(t, addr, "events", msgs...)
	if res := read(t, a, 100); res.Batch.Len() > 0 {
		t.Fatalf("first member read %d rows of revoked partitions: %v", res.Batch.Len(), items(res))
	}
	if err := a.Release(context.Background(), revoked); err != nil {
		t.Fatal(err)
	}
	bGot = waitAssigned(t, b, 2)
	if !slices.Equal(bGot, revoked) {
		t.Errorf("second member assigned %v, want %v", bGot, revoked)
	}
}

// After Ack, the group's offsets in Kafka are the acknowledged positions.
func TestAckCommitsGroupOffsets(t *testing.T) {
	addr := newCluster(t, "events", 2)
	produce(t, addr, "events", message{partition: 0, value: "a"}, message{partition: 0, value: "b"}, message{partition: 1, value: "c"})
	s := openSource(t, fmt.Sprintf("brokers: [%s]\ntopics: [events]\ncolumns: [v]\ngroup: acked\n", addr))
	_, reached := readAll(t, s, 3, nil)
	var positions []record.Position
	for p, o := range reached {
		positions = append(positions, record.Position{Partition: p, Offset: o})
	}
	if err := s.Ack(context.Background(), positions); err != nil {
		t.Fatal(err)
	}
	s.waitCommits(testTimeout)
	got := groupOffsets(t, addr, "acked")
	if want := map[string]int64{"events/0": 2, "events/1": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("group offsets %v, want %v", got, want)
	}
}

// Partitions lost without a rebalance are reported as revoked, without
// waiting for Release, and none of their records is returned after.
func TestLostPartitionsAreRevokedWithoutWaiting(t *testing.T) {
	addr := newCluster(t, "events", 2)
	s := openSource(t, fmt.Sprintf("brokers: [%s]\ntopics: [events]\ncolumns: [v]\n", addr))
	all := waitAssigned(t, s, 2)
	if err := s.Assign(context.Background(), all, nil); err != nil {
		t.Fatal(err)
	}
	s.onLost(context.Background(), s.cl, map[string][]int32{"events": {1}}) // returns: nothing to wait for
	produce(t, addr, "events", message{partition: 0, value: "kept"}, message{partition: 1, value: "lost"})
	res := read(t, s, 100)
	if !slices.Equal(res.Revoked, []string{"events/1"}) {
		t.Fatalf("revoked %v, want [events/1]", res.Revoked)
	}
	got, _ := readAll(t, s, 1, nil)
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		got = append(got, items(read(t, s, 100))...)
	}
	if len(got) != 1 || got[0].raw != "kept" {
		t.Errorf("read %v, want only the message of events/0", got)
	}
}

// A session timeout the brokers refuse would have the client retry its
// join forever: Read ends with an error naming the setting instead.
func TestReadFailsOnARefusedSessionTimeout(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "events")) // allows 6s to 5m
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := openSource(t, fmt.Sprintf("brokers: [%s]\ntopics: [events]\ncolumns: [v]\nsession_timeout: 5s\n", c.ListenAddrs()[0]))
	deadline := time.Now().Add(testTimeout)
	for {
		_, err := s.Read(context.Background(), plugin.ReadRequest{MaxRows: 10, MaxWaitMillis: 200})
		if err != nil {
			if !strings.Contains(err.Error(), "refuse session_timeout 5s") || !errors.Is(err, kerr.InvalidSessionTimeout) {
				t.Fatalf("error %v, want one naming session_timeout 5s", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("Read kept returning without an error while the group refuses the session timeout")
		}
	}
}

// Revoked partitions that the engine does not release within most of
// rebalance_timeout are let go, so that the group is not held up, and the
// next Read ends the run; the member that joined gets them.
func TestRevokeNotReleasedInTimeEndsTheRun(t *testing.T) {
	addr := newCluster(t, "events", 4)
	cfg := fmt.Sprintf("brokers: [%s]\ntopics: [events]\ncolumns: [v]\ngroup: g\nsession_timeout: 6s\nrebalance_timeout: 2s\n", addr)
	a := openSource(t, cfg)
	all := waitAssigned(t, a, 4)
	if err := a.Assign(context.Background(), all, nil); err != nil {
		t.Fatal(err)
	}
	b := openSource(t, cfg)
	start := time.Now()
	var readErr error
	for readErr == nil && time.Since(start) < testTimeout {
		_, readErr = a.Read(context.Background(), plugin.ReadRequest{MaxRows: 100, MaxWaitMillis: 500})
	}
	if readErr == nil || !strings.Contains(readErr.Error(), "not committed within 1.6s (most of rebalance_timeout 2s)") {
		t.Fatalf("first member's Read: %v; want the run ended naming rebalance_timeout", readErr)
	}
	if got := waitAssigned(t, b, 2); len(got) != 2 {
		t.Errorf("second member assigned %v, want 2 partitions", got)
	}
}

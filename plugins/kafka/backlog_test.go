package kafka

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// groupOffsets reads a group's committed offsets with kadm.
func groupOffsets(t testing.TB, addr, group string) map[string]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets of group %s: %v", group, err)
	}
	out := map[string]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		out[tp{o.Topic, o.Partition}.String()] = o.At
	})
	return out
}

// configured returns a configured, unopened source.
func configured(t testing.TB, cfg string) *Source {
	t.Helper()
	s := New()
	if _, err := s.Configure(context.Background(), plugin.Config{Pipeline: "test", Raw: []byte(cfg)}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	return s
}

// Backlog (etl status) is each partition's end offset less its committed
// position; without one, less its earliest offset, or nothing with start
// latest.
func TestBacklogIsLagAfterCommittedPositions(t *testing.T) {
	addr := newCluster(t, "events", 3)
	var msgs []message
	for i := range 5 {
		msgs = append(msgs, message{partition: 0, value: fmt.Sprint(i)}, message{partition: 1, value: fmt.Sprint(i)})
	}
	produce(t, addr, "events", msgs...)
	committed := []record.Position{{Partition: "events/0", Offset: 2}}
	for _, tc := range []struct {
		start string
		want  []plugin.PartitionLag
	}{
		{"earliest", []plugin.PartitionLag{{Partition: "events/0", Messages: 3}, {Partition: "events/1", Messages: 5}, {Partition: "events/2", Messages: 0}}},
		{"latest", []plugin.PartitionLag{{Partition: "events/0", Messages: 3}, {Partition: "events/1", Messages: 0}, {Partition: "events/2", Messages: 0}}},
	} {
		t.Run(tc.start, func(t *testing.T) {
			s := configured(t, fmt.Sprintf("brokers: [%s]\ntopic_regex: 'ev.*'\ncolumns: [v]\nstart: %s\n", addr, tc.start))
			b, err := s.Backlog(context.Background(), committed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b.Lag, tc.want) {
				t.Errorf("lag %v, want %v", b.Lag, tc.want)
			}
		})
	}
}

// Brokers that do not answer make Backlog fail naming them.
func TestBacklogNamesUnreachableBrokers(t *testing.T) {
	s := configured(t, "brokers: [127.0.0.1:1]\ntopics: [events]\ncolumns: [v]\n")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := s.Backlog(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("error %v, want one naming the broker 127.0.0.1:1", err)
	}
	// etl status then shows the committed offsets with the lag unknown.
	if !errors.Is(err, plugin.ErrUnavailable) {
		t.Errorf("error %v does not wrap plugin.ErrUnavailable", err)
	}
}

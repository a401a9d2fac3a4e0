package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seed-etl/etl/cmd/datagen/events"
)

func TestKafkaPublishesEveryRowKeyedByUserIDWithItsManifest(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	manifest := filepath.Join(t.TempDir(), "manifest.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--kafka", broker, "--topic", "events", "--seed", "7", "--files", "4",
		"--rows-per-file", "500", "--interval", "0", "--dirty", "0.3", "--manifest", manifest}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("datagen exited %d: %s", code, stderr.String())
	}
	m, err := events.ReadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 2000 || m.Accepted+m.Rejected != m.Rows || m.Topic != "events" || len(m.Rejects) == 0 {
		t.Fatalf("manifest: rows %d, accepted %d, rejected %d, topic %q, rejects %v", m.Rows, m.Accepted, m.Rejected, m.Topic, m.Rejects)
	}

	// The same rows as file mode with the same flags: one generator.
	fileDir := filepath.Join(t.TempDir(), "events")
	fm, err := events.Run(context.Background(), events.Options{Dir: fileDir, Files: 4, RowsPerFile: 500,
		ManifestPath: filepath.Join(t.TempDir(), "m.json"), LogEvery: -1,
		Config: events.Config{Seed: 7, Rates: events.ScaleRates(0.3)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fm.Accepted != m.Accepted || fm.Rejected != m.Rejected || len(fm.Rejects) != len(m.Rejects) {
		t.Errorf("kafka mode %d/%d %v, file mode %d/%d %v", m.Accepted, m.Rejected, m.Rejects, fm.Accepted, fm.Rejected, fm.Rejects)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int64
	partitionsOfKey := map[string]map[int32]bool{}
	for n < m.Rows && ctx.Err() == nil {
		f := cl.PollFetches(ctx)
		f.EachRecord(func(r *kgo.Record) {
			n++
			line := string(r.Value)
			if strings.ContainsAny(line, "\n") {
				t.Errorf("message %d holds a line end: %q", r.Offset, line)
			}
			if want, _, _ := strings.Cut(line, ","); string(r.Key) != want {
				t.Errorf("message %q has key %q, want the user_id text %q", line, r.Key, want)
			}
			if partitionsOfKey[string(r.Key)] == nil {
				partitionsOfKey[string(r.Key)] = map[int32]bool{}
			}
			partitionsOfKey[string(r.Key)][r.Partition] = true
		})
	}
	if n != m.Rows {
		t.Errorf("consumed %d messages, the manifest says %d rows", n, m.Rows)
	}
	for k, ps := range partitionsOfKey {
		if len(ps) > 1 {
			t.Errorf("key %q is in %d partitions, want one", k, len(ps))
		}
	}
}

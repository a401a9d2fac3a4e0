package main

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// buildDevkafka builds the command into a temporary folder.
func buildDevkafka(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "devkafka")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var listeningRE = regexp.MustCompile(`^devkafka: listening on (\S+) \(topics (\S+)\)$`)

// startDevkafka starts bin with args and returns the address of its
// "listening" line; the process gets SIGTERM at the end of the test and
// must exit 0.
func startDevkafka(t *testing.T, bin string, args ...string) (addr, topics string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("devkafka after SIGTERM: %v, want exit 0\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("devkafka did not stop within 10s of SIGTERM")
		}
	})
	select {
	case line := <-lines:
		m := listeningRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("first line %q is not %q", line, listeningRE)
		}
		return m[1], m[2]
	case err := <-done:
		t.Fatalf("devkafka exited before listening: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("devkafka printed no line within 20s")
	}
	return "", ""
}

func TestDevkafkaServesProduceFetchAndConsumerGroups(t *testing.T) {
	bin := buildDevkafka(t)
	addr, topics := startDevkafka(t, bin, "--addr", "127.0.0.1:0", "--topic", "events", "--topic", "other:3", "--partitions", "12")
	if topics != "events:12,other:3" {
		t.Errorf("topics %q, want events:12,other:3", topics)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	details, err := kadm.NewClient(adm).ListTopics(ctx, "events", "other")
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	for name, want := range map[string]int{"events": 12, "other": 3} {
		if got := len(details[name].Partitions); got != want {
			t.Errorf("topic %s has %d partitions, want %d", name, got, want)
		}
	}

	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	sent := map[string]string{"u1": "hello", "u2": "world", "u3": "again"}
	for k, v := range sent {
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "events", Key: []byte(k), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}

	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("devkafka-test"), kgo.ConsumeTopics("events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	got := map[string]string{}
	for len(got) < len(sent) && ctx.Err() == nil {
		fetches := cons.PollFetches(ctx)
		if errs := fetches.Errors(); len(errs) > 0 && ctx.Err() == nil {
			t.Fatalf("fetch: %v", errs)
		}
		fetches.EachRecord(func(r *kgo.Record) { got[string(r.Key)] = string(r.Value) })
	}
	for k, v := range sent {
		if got[k] != v {
			t.Errorf("key %s: consumed %q, want %q", k, got[k], v)
		}
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit to the group: %v", err)
	}

	// The group coordinator: the consumer joined, it owns all 12
	// partitions and its commits are there.
	groups, err := kadm.NewClient(adm).DescribeGroups(ctx, "devkafka-test")
	if err != nil {
		t.Fatalf("describe group: %v", err)
	}
	g := groups["devkafka-test"]
	if g.State != "Stable" || len(g.Members) != 1 {
		t.Fatalf("group state %q with %d members, want Stable with 1", g.State, len(g.Members))
	}
	if n := len(g.AssignedPartitions()["events"]); n != 12 {
		t.Errorf("the member is assigned %d partitions of events, want 12", n)
	}
	offs, err := kadm.NewClient(adm).FetchOffsets(ctx, "devkafka-test")
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) { committed += o.At })
	if committed != int64(len(sent)) {
		t.Errorf("committed offsets add up to %d, want %d", committed, len(sent))
	}
}

func TestDevkafkaRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"non-loopback address", []string{"--addr", "0.0.0.0:9092"}, "not a loopback address"},
		{"address without port", []string{"--addr", "127.0.0.1"}, "not host:port"},
		{"bad partition count", []string{"--topic", "events:0"}, "not a partition count"},
		{"topic twice", []string{"--topic", "a,a"}, "given twice"},
		{"no partitions", []string{"--partitions", "0"}, "--partitions 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tt.want)
			}
		})
	}
}

func TestDevkafkaHelpSaysDevelopmentOnly(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	if !strings.Contains(stdout.String(), "FOR DEVELOPMENT AND TESTS ONLY, not for production") {
		t.Errorf("--help does not say it is for development and tests only:\n%s", stdout.String())
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seed-etl/etl/cmd/datagen/events"
)

// kafkaLatencyOpts are the settings of the Kafka latency run (issue 17:
// latency from produce to commit at 20,000 events/s).
type kafkaLatencyOpts struct {
	config     string
	rate       float64
	interval   time.Duration
	duration   time.Duration
	partitions int
}

// flags registers the --kafka-latency-* flags (and --kafka-config).
func (o *kafkaLatencyOpts) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.config, "kafka-config", "configs/ecommerce-kafka.yaml", "the Kafka pipeline file of the Kafka latency run")
	fs.Float64Var(&o.rate, "kafka-latency-rate", 20_000, "events per second datagen --kafka publishes in the Kafka latency run")
	fs.DurationVar(&o.interval, "kafka-latency-interval", 250*time.Millisecond, "datagen --interval of the Kafka latency run: rate*interval messages are produced, then flushed, each interval")
	fs.DurationVar(&o.duration, "kafka-latency-duration", 0, "length of the Kafka latency run: bin/devkafka, one etl run of --kafka-config, datagen --kafka (0 skips it)")
	fs.IntVar(&o.partitions, "kafka-latency-partitions", 12, "partitions of the topic of the Kafka latency run")
}

// kafkaLatencyResult is how long a message takes from its produce (the
// record's timestamp, stamped by the producer's client when datagen hands
// it the record) to the first poll of etl_offsets that shows its
// partition's committed next offset beyond it, while datagen publishes at
// a steady rate and one etl worker consumes.
type kafkaLatencyResult struct {
	Config     string  `json:"config"`
	Rate       float64 `json:"events_per_s"`
	Interval   string  `json:"produce_interval"`
	Duration   string  `json:"duration"`
	Partitions int     `json:"partitions"`
	Workers    int     `json:"workers"`
	Messages   int     `json:"messages"`
	PollMS     float64 `json:"poll_ms"`
	// JoinMS is from etl's start to its first partitions assigned.
	JoinMS float64 `json:"join_ms"`
	// DrainMS is from datagen's end (its last message acknowledged) to
	// the poll that saw the last one committed: how far etl was behind.
	DrainMS float64 `json:"drain_ms"`
	P50MS   float64 `json:"p50_ms"`
	P95MS   float64 `json:"p95_ms"`
	P99MS   float64 `json:"p99_ms"`
	MaxMS   float64 `json:"max_ms"`
}

// label and value are the result's row in the bench table.
func (r *kafkaLatencyResult) label() string {
	return fmt.Sprintf("kafka latency p50/p95/p99 (%s ev/s)", thousands(int64(r.Rate)))
}

func (r *kafkaLatencyResult) value() string {
	return fmt.Sprintf("%.0f / %.0f / %.0f ms, max %.0f, %s msgs, drain %.0f ms",
		r.P50MS, r.P95MS, r.P99MS, r.MaxMS, thousands(int64(r.Messages)), r.DrainMS)
}

// kafkaLatencyMeasure runs the Kafka latency measure when
// --kafka-latency-duration is set, in a fresh database it drops
// afterwards; nil when it is not.
func kafkaLatencyMeasure(ctx context.Context, b *bench, srv *server, dir string, logf func(string, ...any)) (*kafkaLatencyResult, error) {
	o := b.kafka
	if o.duration <= 0 {
		return nil, nil
	}
	if o.rate <= 0 || o.interval <= 0 || o.partitions < 1 {
		return nil, errors.New("--kafka-latency-rate, --kafka-latency-interval and --kafka-latency-partitions must be > 0")
	}
	dsn, drop, err := srv.createDB(ctx)
	if err != nil {
		return nil, err
	}
	defer drop()
	logf("kafka latency: devkafka (%d partitions), etl run %s, datagen --kafka at %.0f events/s every %v, for %v",
		o.partitions, o.config, o.rate, o.interval, o.duration)
	return kafkaLatency(ctx, b, filepath.Join(dir, "kafka-latency"), dsn)
}

// kafkaLatency starts bin/devkafka on a free loopback port, one `etl run
// KAFKA-CONFIG` writing to the fresh database dsn, and once etl has its
// partitions, bin/datagen --kafka for the run's duration. Meanwhile it
// polls etl_offsets every b.latencyPoll, recording when each committed
// next offset of each partition was first seen. After the run it reads the
// topic back from its start for each message's timestamp, checks the
// database against datagen's manifest, stops etl (SIGTERM, which must exit
// 0) and devkafka.
func kafkaLatency(ctx context.Context, b *bench, dir, dsn string) (*kafkaLatencyResult, error) {
	o := b.kafka
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bin := filepath.Dir(b.etl)
	const topic = "events"

	dk, err := startDevKafka(ctx, filepath.Join(bin, "devkafka"), topic, o.partitions)
	if err != nil {
		return nil, err
	}
	defer dk.stop()

	// etl takes its brokers and topic from the environment (see the
	// config).
	began := time.Now()
	p, err := startETL(ctx, b.etl, o.config, nil, dsn, filepath.Join(dir, "inbox"), filepath.Join(dir, "archive"), false,
		"KAFKA_BROKERS="+dk.addr, "KAFKA_TOPIC="+topic)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped { // an error on the way: stop etl all the same
			p.interrupt()
			p.wait()
		}
	}()
	if err := p.waitLog(ctx, "partitions assigned", time.Minute); err != nil {
		stopped = true
		p.interrupt()
		if werr := p.wait(); werr != nil {
			return nil, fmt.Errorf("%v: %w", err, werr)
		}
		return nil, err
	}
	joined := time.Since(began)

	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	poll := pollOffsets(pollCtx, dsn, topic, b.latencyPoll)

	manifestPath := filepath.Join(dir, events.ManifestName)
	files := max(1, int(o.duration/o.interval))
	if err := runDatagen(ctx, filepath.Join(bin, "datagen"), "--kafka", dk.addr, "--topic", topic,
		"--rate", fmt.Sprint(o.rate), "--interval", o.interval.String(), "--files", strconv.Itoa(files),
		"--seed", strconv.FormatInt(b.seed, 10), "--dirty", fmt.Sprint(b.dirty),
		"--manifest", manifestPath, "--log-every", "-1"); err != nil {
		return nil, err
	}
	produceEnd := time.Now()
	m, err := events.ReadManifest(manifestPath)
	if err != nil {
		return nil, err
	}
	if m.Stopped {
		return nil, fmt.Errorf("datagen stopped before its %d chunks", files)
	}

	// Wait for the last messages to be committed: on a fresh topic the
	// next offsets add up to the messages published.
	deadline := time.Now().Add(time.Minute)
	var commits map[int32][]commitSeen
	for {
		commits = poll.snapshot()
		if committedSum(commits) >= m.Rows || time.Now().After(deadline) {
			break
		}
		time.Sleep(b.latencyPoll)
	}
	stopPoll()
	if err := poll.wait(); err != nil {
		return nil, err
	}
	if n := committedSum(commits); n != m.Rows {
		return nil, fmt.Errorf("etl_offsets reached %d of the %d messages a minute after datagen ended", n, m.Rows)
	}
	var lastCommit time.Time
	for _, cs := range commits {
		if len(cs) > 0 && cs[len(cs)-1].at.After(lastCommit) {
			lastCommit = cs[len(cs)-1].at
		}
	}

	stopped = true
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(); err != nil {
		return nil, fmt.Errorf("after SIGTERM: %w", err)
	}

	produced, err := readProduced(ctx, dk.addr, topic, m.Rows)
	if err != nil {
		return nil, err
	}
	lat, uncommitted := kafkaLatencies(produced, commits)
	if uncommitted > 0 {
		return nil, fmt.Errorf("%d of %d messages read back have no commit seen", uncommitted, len(produced))
	}
	if _, _, err := checkCounts(ctx, dsn, m, "the Kafka latency run"); err != nil {
		return nil, err
	}
	return &kafkaLatencyResult{
		Config: o.config, Rate: o.rate, Interval: o.interval.String(), Duration: o.duration.String(),
		Partitions: o.partitions, Workers: 1, Messages: len(lat),
		PollMS: float64(b.latencyPoll) / float64(time.Millisecond), JoinMS: float64(joined) / float64(time.Millisecond),
		DrainMS: max(0, float64(lastCommit.Sub(produceEnd))/float64(time.Millisecond)),
		P50MS:   percentile(lat, 50), P95MS: percentile(lat, 95), P99MS: percentile(lat, 99), MaxMS: percentile(lat, 100),
	}, nil
}

// producedMsg is one message read back from the topic.
type producedMsg struct {
	partition int32
	offset    int64
	at        time.Time // the record's timestamp (CreateTime, ms precision)
}

// commitSeen is a partition's committed next offset and the poll time it
// was first seen at.
type commitSeen struct {
	next int64
	at   time.Time
}

// kafkaLatencies returns each message's latency in ms: from its timestamp
// to the first commit seen of its partition whose next offset is beyond
// it. commits holds per partition the commits seen, next offsets rising.
// Messages with no such commit are counted, not measured.
func kafkaLatencies(produced []producedMsg, commits map[int32][]commitSeen) (lat []float64, uncommitted int) {
	lat = make([]float64, 0, len(produced))
	for _, m := range produced {
		cs := commits[m.partition]
		i, _ := slices.BinarySearchFunc(cs, m.offset, func(c commitSeen, off int64) int {
			if c.next > off {
				return 1
			}
			return -1
		})
		if i == len(cs) {
			uncommitted++
			continue
		}
		lat = append(lat, float64(cs[i].at.Sub(m.at))/float64(time.Millisecond))
	}
	return lat, uncommitted
}

// committedSum adds the last committed next offset of every partition.
func committedSum(commits map[int32][]commitSeen) int64 {
	var n int64
	for _, cs := range commits {
		if len(cs) > 0 {
			n += cs[len(cs)-1].next
		}
	}
	return n
}

// offsetPoller polls etl_offsets for the committed offsets of a topic.
type offsetPoller struct {
	done chan struct{}
	err  error

	mu   sync.Mutex
	seen map[int32][]commitSeen
}

// pollOffsets queries etl_offsets every interval until ctx ends, recording
// for each partition "topic/N" every new next offset and when it was
// first seen.
func pollOffsets(ctx context.Context, dsn, topic string, interval time.Duration) *offsetPoller {
	p := &offsetPoller{done: make(chan struct{}), seen: map[int32][]commitSeen{}}
	type row struct {
		part string
		off  int64
	}
	var got []row
	go pollEvery(ctx, dsn, interval, p.done, &p.err, func(conn *pgx.Conn) (func(time.Time), error) {
		got = got[:0]
		rows, err := conn.Query(ctx, `SELECT partition, "offset" FROM etl_offsets`)
		if err == nil {
			var r row
			_, err = pgx.ForEachRow(rows, []any{&r.part, &r.off}, func() error { got = append(got, r); return nil })
		}
		return func(now time.Time) {
			p.mu.Lock()
			defer p.mu.Unlock()
			for _, r := range got {
				part, ok := kafkaPartition(r.part, topic)
				if !ok {
					continue
				}
				if cs := p.seen[part]; len(cs) == 0 || cs[len(cs)-1].next < r.off {
					p.seen[part] = append(cs, commitSeen{next: r.off, at: now})
				}
			}
		}, err
	})
	return p
}

// snapshot copies what was seen so far.
func (p *offsetPoller) snapshot() map[int32][]commitSeen {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[int32][]commitSeen, len(p.seen))
	for k, v := range p.seen {
		out[k] = slices.Clone(v)
	}
	return out
}

// wait waits for the poller to end (after its ctx) and returns its error.
func (p *offsetPoller) wait() error {
	<-p.done
	if p.err != nil && !errors.Is(p.err, context.Canceled) {
		return p.err
	}
	return nil
}

// kafkaPartition reads a Kafka partition name of plugins/kafka,
// "topic/N", of the given topic.
func kafkaPartition(name, topic string) (int32, bool) {
	t, n, ok := strings.Cut(name, "/")
	if !ok || t != topic {
		return 0, false
	}
	p, err := strconv.ParseInt(n, 10, 32)
	if err != nil || p < 0 {
		return 0, false
	}
	return int32(p), true
}

// readProduced reads topic from its start with a client of no group until
// it has want records, keeping each one's partition, offset and timestamp.
func readProduced(ctx context.Context, addr, topic string, want int64) ([]producedMsg, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("kafka client to read %s back: %w", topic, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out := make([]producedMsg, 0, want)
	for int64(len(out)) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read %s back: %d of %d records: %w", topic, len(out), want, ctx.Err())
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return nil, fmt.Errorf("read %s back: partition %d: %w", topic, errs[0].Partition, errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, producedMsg{partition: r.Partition, offset: r.Offset, at: r.Timestamp})
		})
	}
	return out, nil
}

// devKafka is a running bin/devkafka.
type devKafka struct {
	cmd    *exec.Cmd
	addr   string
	stderr bytes.Buffer
}

// startDevKafka starts devkafka on a free loopback port with topic of
// partitions partitions and waits for the line naming its address.
func startDevKafka(ctx context.Context, bin, topic string, partitions int) (*devKafka, error) {
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--topic", topic, "--partitions", strconv.Itoa(partitions))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d := &devKafka{cmd: cmd}
	cmd.Stderr = &d.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w (run make build)", bin, err)
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		for sc.Scan() { // drain
		}
	}()
	fail := func(err error) (*devKafka, error) {
		d.stop()
		return nil, fmt.Errorf("devkafka: %w; its stderr: %s", err, strings.TrimSpace(d.stderr.String()))
	}
	select {
	case l, ok := <-line:
		// "devkafka: listening on ADDR (topics ...)"
		rest, found := strings.CutPrefix(l, "devkafka: listening on ")
		if !ok || !found {
			return fail(fmt.Errorf("no address line, got %q", l))
		}
		d.addr, _, _ = strings.Cut(rest, " ")
		d.addr, _, _ = strings.Cut(d.addr, ",")
	case <-time.After(30 * time.Second):
		return fail(errors.New("did not listen within 30s"))
	case <-ctx.Done():
		d.stop()
		return nil, ctx.Err()
	}
	return d, nil
}

// stop sends devkafka a SIGTERM and waits for it (once).
func (d *devKafka) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.AfterFunc(10*time.Second, func() { d.cmd.Process.Kill() })
	d.cmd.Wait()
	timer.Stop()
}

// runDatagen runs bin/datagen with args to its end; a failure quotes its
// stderr.
func runDatagen(ctx context.Context, bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w (run make build)", bin, err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			cmd.Process.Signal(os.Interrupt)
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	if err != nil {
		return fmt.Errorf("datagen %s: %v; its stderr: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// waitLog waits until etl's JSON log has a line whose msg is msg; an exit
// of etl first, ctx or the timeout is an error.
func (p *etlProc) waitLog(ctx context.Context, msg string, timeout time.Duration) error {
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.hasLog(msg) {
			return nil
		}
		select {
		case <-p.logDone:
			if p.hasLog(msg) {
				return nil
			}
			return fmt.Errorf("etl ended before %q", msg)
		case <-deadline:
			return fmt.Errorf("no %q from etl within %v; its log ends:\n%s", msg, timeout, p.tail(20))
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// hasLog says etl's JSON log has a line whose msg is msg.
func (p *etlProc) hasLog(msg string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for line := range strings.SplitSeq(p.log.String(), "\n") {
		var l struct{ Msg string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == msg {
			return true
		}
	}
	return false
}

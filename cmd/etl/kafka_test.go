package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/seed-etl/etl/cmd/datagen/events"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/host/hosttest"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// kafkaWorker is one `etl run configs/ecommerce-kafka.yaml` process.
type kafkaWorker struct {
	n    int
	cmd  *exec.Cmd
	done chan error
	log  string
}

// kafkaChaos is the state of TestKafkaWorkersUnderChaos.
type kafkaChaos struct {
	t       *testing.T
	dir     string
	dsn     string
	broker  string
	marker  string
	started int
	live    []*kafkaWorker
	logs    []string
}

// newKafkaChaos starts a kfake broker with a topic "events" of partitions
// partitions (sessions from 1s allowed) and makes a fresh database with
// the schema, for workers to be started.
func newKafkaChaos(t *testing.T, partitions int32) (*kafkaChaos, *kfake.Cluster) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "events"), kfake.GroupMinSessionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	k := &kafkaChaos{t: t, dir: t.TempDir(), broker: cluster.ListenAddrs()[0],
		marker: fmt.Sprintf("ETL_FAULT_MARKER=%d", time.Now().UnixNano())}
	k.dsn = pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, k.dsn)
	return k, cluster
}

// start starts a new worker.
func (k *kafkaChaos) start() *kafkaWorker {
	k.t.Helper()
	k.started++
	w := &kafkaWorker{n: k.started, done: make(chan error, 1), log: filepath.Join(k.dir, fmt.Sprintf("worker-%d.log", k.started))}
	log, err := os.Create(w.log)
	if err != nil {
		k.t.Fatal(err)
	}
	defer log.Close()
	w.cmd = exec.Command(os.Args[0], "run", "../../configs/ecommerce-kafka.yaml", "--metrics-addr", "127.0.0.1:0", "--log-format", "text")
	w.cmd.Env = append(os.Environ(), runAsEtl+"=1", k.marker, host.ExtraEnv+"="+strings.SplitN(k.marker, "=", 2)[0],
		"DATABASE_URL="+k.dsn, "KAFKA_BROKERS="+k.broker, "KAFKA_TOPIC=events", "KAFKA_SESSION_TIMEOUT=3s",
		// A member that does not rejoin holds a rebalance up this long.
		"KAFKA_REBALANCE_TIMEOUT=10s")
	w.cmd.Stdout, w.cmd.Stderr = log, log
	if err := w.cmd.Start(); err != nil {
		k.t.Fatalf("start worker %d: %v", w.n, err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	k.live = append(k.live, w)
	k.logs = append(k.logs, w.log)
	return w
}

// remove takes w out of the live workers.
func (k *kafkaChaos) remove(w *kafkaWorker) {
	for i, x := range k.live {
		if x == w {
			k.live = append(k.live[:i], k.live[i+1:]...)
			return
		}
	}
}

// stop sends SIGTERM to w and waits for it to exit 0.
func (k *kafkaChaos) stop(w *kafkaWorker) {
	k.t.Helper()
	k.remove(w)
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.done:
		if err != nil {
			k.t.Errorf("worker %d after SIGTERM: %v, want exit 0\n%s", w.n, err, tailOf(w.log))
		}
	case <-time.After(60 * time.Second):
		w.cmd.Process.Kill()
		k.t.Errorf("worker %d did not stop within 60s of SIGTERM\n%s", w.n, tailOf(w.log))
	}
}

// kill sends SIGKILL to w and waits for it to be gone.
func (k *kafkaChaos) kill(w *kafkaWorker) {
	k.remove(w)
	w.cmd.Process.Kill()
	<-w.done
}

// allLogs is every worker's log, one after the other.
func (k *kafkaChaos) allLogs() string {
	var b strings.Builder
	for _, p := range k.logs {
		data, _ := os.ReadFile(p)
		b.Write(data)
	}
	return b.String()
}

func tailOf(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// caughtUp says whether the offsets committed in etl_offsets reach the
// end offsets of every partition of the topic.
func (k *kafkaChaos) caughtUp(ctx context.Context, adm *kadm.Client) (bool, string) {
	ends, err := adm.ListEndOffsets(ctx, "events")
	if err != nil {
		return false, err.Error()
	}
	conn, err := pgx.Connect(ctx, k.dsn)
	if err != nil {
		return false, err.Error()
	}
	defer conn.Close(ctx)
	committed := map[string]int64{}
	rows, err := conn.Query(ctx, `SELECT partition, "offset" FROM etl_offsets WHERE pipeline = 'ecommerce-kafka'`)
	if err != nil {
		return false, err.Error()
	}
	for rows.Next() {
		var p string
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return false, err.Error()
		}
		committed[p] = o
	}
	rows.Close()
	var behind []string
	ends.Each(func(o kadm.ListedOffset) {
		name := fmt.Sprintf("%s/%d", o.Topic, o.Partition)
		if committed[name] < o.Offset {
			behind = append(behind, fmt.Sprintf("%s at %d of %d", name, committed[name], o.Offset))
		}
	})
	return len(behind) == 0, strings.Join(behind, ", ")
}

// TestKafkaWorkersUnderChaos runs three `etl run configs/ecommerce-kafka.yaml`
// workers in one consumer group over a 12-partition topic of a kfake
// broker while datagen --kafka publishes, and at random moments (a seeded
// rand; the seed is logged) SIGKILLs a worker and starts another, adds a
// worker, or stops one with SIGTERM. Once everything is published and the
// offsets committed in etl_offsets reach the end of every partition, the
// workers are stopped: events and corrupt_records must equal datagen's
// manifest exactly, by error type too, with the sampled rows holding their
// cleaned values, and the workers' logs must show the rebalances with the
// partitions moved.
func TestKafkaWorkersUnderChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("a crash loop of several minutes: not under -short")
	}
	seed := time.Now().UnixNano()
	if s := os.Getenv("ETL_TEST_KAFKA_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("chaos seed %d (ETL_TEST_KAFKA_SEED=%d repeats it)", seed, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 17))

	k, cluster := newKafkaChaos(t, 12)
	defer cluster.Close()
	defer func() {
		for _, w := range append([]*kafkaWorker(nil), k.live...) {
			k.kill(w)
		}
		if t.Failed() {
			for _, p := range k.logs {
				t.Logf("end of %s:\n%s", filepath.Base(p), tailOf(p))
			}
		}
	}()

	// datagen --kafka, the command itself, publishing for about 40 s.
	datagen := filepath.Join(k.dir, "datagen")
	if out, err := exec.Command("go", "build", "-o", datagen, "../datagen").CombinedOutput(); err != nil {
		t.Fatalf("build datagen: %v\n%s", err, out)
	}
	manifest := filepath.Join(k.dir, "manifest.json")
	dg := exec.Command(datagen, "--kafka", k.broker, "--topic", "events", "--seed", "14", "--files", "80",
		"--rows-per-file", "500", "--interval", "500ms", "--manifest", manifest, "--log-every", "-1")
	dgOut, err := os.Create(filepath.Join(k.dir, "datagen.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer dgOut.Close()
	dg.Stdout, dg.Stderr = dgOut, dgOut
	if err := dg.Start(); err != nil {
		t.Fatal(err)
	}
	dgDone := make(chan error, 1)
	go func() { dgDone <- dg.Wait() }()

	for range 3 {
		k.start()
	}
	// At least 20 events at random moments over the publishing.
	var did []string
	for i := 0; i < 22; i++ {
		time.Sleep(time.Duration(500+rng.IntN(2500)) * time.Millisecond)
		switch e := rng.IntN(3); {
		case e == 1 && len(k.live) < 5 || len(k.live) < 2:
			w := k.start()
			did = append(did, fmt.Sprintf("add worker %d", w.n))
		case e == 0:
			w := k.live[rng.IntN(len(k.live))]
			k.kill(w)
			nw := k.start()
			did = append(did, fmt.Sprintf("SIGKILL worker %d, start %d", w.n, nw.n))
		default:
			w := k.live[rng.IntN(len(k.live))]
			k.stop(w)
			did = append(did, fmt.Sprintf("SIGTERM worker %d", w.n))
		}
	}
	t.Logf("%d events: %s", len(did), strings.Join(did, "; "))
	for len(k.live) < 3 {
		k.start()
	}

	select {
	case err := <-dgDone:
		if err != nil {
			t.Fatalf("datagen: %v", err)
		}
	case <-time.After(2 * time.Minute):
		dg.Process.Kill()
		t.Fatal("datagen did not finish within 2m")
	}
	m, err := events.ReadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(k.broker))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(4 * time.Minute)
	var behind string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ok, why := k.caughtUp(ctx, adm)
		cancel()
		if ok {
			break
		}
		behind = why
		if time.Now().After(deadline) {
			t.Fatalf("the workers did not catch up within 4m: %s", behind)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, w := range append([]*kafkaWorker(nil), k.live...) {
		k.stop(w)
	}
	if left := hosttest.WaitForNoProcess(k.marker, 5*time.Second); len(left) > 0 {
		t.Errorf("plugin processes %v outlived the workers", left)
	}

	checkAgainstManifest(t, k.dsn, m)

	logs := k.allLogs()
	moved := regexp.MustCompile(`partitions (assigned|revoked)[^\n]*events/\d+`)
	var assigned, revoked int
	for _, line := range moved.FindAllStringSubmatch(logs, -1) {
		if line[1] == "assigned" {
			assigned++
		} else {
			revoked++
		}
	}
	if assigned < 3 || revoked < 1 {
		t.Errorf("the logs show %d assignments and %d revocations naming partitions; want rebalances logged with the partitions moved", assigned, revoked)
	}
	t.Logf("%d rows (%d accepted, %d rejected) over %d workers started; %d assignments, %d revocations logged",
		m.Rows, m.Accepted, m.Rejected, k.started, assigned, revoked)
}

// TestKafkaStatusAndValidate: `etl validate` takes the Kafka pipeline, and
// `etl status` prints the committed next offset of every partition and,
// while the brokers answer, how many messages wait beyond it; with the
// brokers gone it still prints the offsets and says the lag is unknown.
func TestKafkaStatusAndValidate(t *testing.T) {
	k, cluster := newKafkaChaos(t, 3)
	defer cluster.Close()
	defer func() {
		for _, w := range append([]*kafkaWorker(nil), k.live...) {
			k.kill(w)
		}
	}()
	etl := func(args ...string) (string, error) {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), runAsEtl+"=1", "DATABASE_URL="+k.dsn, "KAFKA_BROKERS="+k.broker, "KAFKA_TOPIC=events")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	const config = "../../configs/ecommerce-kafka.yaml"
	if out, err := etl("validate", config); err != nil {
		t.Fatalf("etl validate: %v\n%s", err, out)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(k.broker), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	produce := func(perPartition int) {
		t.Helper()
		var recs []*kgo.Record
		for p := int32(0); p < 3; p++ {
			for i := 0; i < perPartition; i++ {
				line := fmt.Sprintf("%d,view,%d,Widget,9.99,2025-06-01 12:00:00,s%d", 100+i, 7, p)
				recs = append(recs, &kgo.Record{Topic: "events", Partition: p, Value: []byte(line)})
			}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(100)
	w := k.start()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ok, why := k.caughtUp(cctx, adm)
		cancel()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not catch up within 1m: %s\n%s", why, tailOf(w.log))
		}
		time.Sleep(100 * time.Millisecond)
	}
	k.stop(w)
	// 10 messages more on each partition, not read by anyone.
	produce(10)

	out, err := etl("status", config)
	if err != nil {
		t.Fatalf("etl status: %v\n%s", err, out)
	}
	wants := []string{`partitions:\s+3 committed, 30 messages behind in all`}
	for p := 0; p < 3; p++ {
		wants = append(wants, fmt.Sprintf(`events/%d\s+next offset 100, 10 behind`, p))
	}
	for _, want := range wants {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("etl status with the broker up does not say %q:\n%s", want, out)
		}
	}

	cluster.Close()
	out, err = etl("status", config, "--timeout", "30s")
	if err != nil {
		t.Fatalf("etl status with the broker gone: %v\n%s", err, out)
	}
	wants = []string{`lag:\s+unknown`, `partitions:\s+3 committed\n`}
	for p := 0; p < 3; p++ {
		wants = append(wants, fmt.Sprintf(`events/%d\s+next offset 100\n`, p))
	}
	for _, want := range wants {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("etl status with the broker gone does not say %q:\n%s", want, out)
		}
	}
}

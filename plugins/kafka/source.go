package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Plugin is the kafka source as the etl engine loads it.
var Plugin = plugin.Plugin{Name: "kafka", Version: "0.1.0", Settings: plugin.MustSettingsOf(defaultConfig()), Source: func() plugin.Source { return New() }}

var (
	_ plugin.Rebalancer      = (*Source)(nil)
	_ plugin.BacklogReporter = (*Source)(nil)
)

// Defaults of a ReadRequest whose fields are not set.
const (
	defaultMaxRows  = 10000
	defaultMaxBytes = 4 << 20
	defaultMaxWait  = time.Second
)

// tp is a topic partition.
type tp struct {
	topic     string
	partition int32
}

// String is the partition's name: topic/partition.
func (t tp) String() string { return t.topic + "/" + strconv.Itoa(int(t.partition)) }

// parseTP reads a partition name.
func parseTP(name string) (tp, bool) {
	i := strings.LastIndexByte(name, '/')
	if i <= 0 {
		return tp{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 {
		return tp{}, false
	}
	return tp{name[:i], int32(p)}, true
}

// partState is where one partition stands.
type partState uint8

const (
	// statePending: assigned by the group, not yet reported to the engine.
	statePending partState = iota
	// stateReported: reported in ReadResult.Assigned, waiting for Assign.
	stateReported
	// stateActive: being read.
	stateActive
	// stateRevoking: being revoked, waiting for Release.
	stateRevoking
)

// part is one partition the group gave this member.
type part struct {
	state partState
	next  int64 // the next offset to read, once active
	hw    int64 // the high watermark last fetched, -1 when unknown
}

// Source is the kafka source. Create it with New; it implements
// plugin.Source, plugin.Rebalancer and plugin.BacklogReporter. Its methods
// are safe for concurrent use; the group's rebalance callbacks run
// alongside them.
type Source struct {
	log    *slog.Logger
	set    settings
	schema record.Schema

	cl  *kgo.Client
	adm *kadm.Client

	mu       sync.Mutex
	parts    map[tp]*part
	assigned []tp               // to report in the next ReadResult.Assigned
	revoked  []tp               // to report in the next ReadResult.Revoked
	released chan struct{}      // closed (and replaced) when a partition is released or the source closes
	wake     context.CancelFunc // cancels the poll of a Read waiting for data; nil when none
	closing  bool
	// stuck, when set, ends the next Read: revoked partitions were not
	// released in time (onRevoked).
	stuck    error
	leftover []*kgo.Record // polled, not yet in a batch

	commits sync.WaitGroup // group offset commits in flight

	sp  csvSplitter
	obj jsonObject
	hdr map[string]string
}

// New returns an unconfigured source.
func New() *Source {
	return &Source{
		log:      plugin.Logger("kafka"),
		parts:    map[tp]*part{},
		released: make(chan struct{}),
	}
}

// Configure checks the configuration and returns the schema: one String
// field per column, then the metadata fields. It reaches no broker.
func (s *Source) Configure(_ context.Context, cfg plugin.Config) (record.Schema, error) {
	set, errs := parseConfig(cfg.Raw, cfg.Pipeline)
	schema := set.schema()
	if err := errs.Err(); err != nil {
		return schema, err
	}
	s.set = set
	s.sp.delim = set.delim
	s.schema = schema
	return schema, nil
}

// Open starts the client, which joins the group. positions are not used:
// partitions are resumed from the positions the engine gives to Assign
// when the group assigns them.
func (s *Source) Open(_ context.Context, _ []record.Position) error {
	if s.set.brokers == nil {
		return errors.New("kafka: Open before Configure")
	}
	opts := slices.Concat(s.set.opts, s.set.groupOpts, []kgo.Opt{
		kgo.OnPartitionsAssigned(s.onAssigned),
		kgo.OnPartitionsRevoked(s.onRevoked),
		kgo.OnPartitionsLost(s.onLost),
		kgo.FetchMaxPartitionBytes(int32(max(s.set.maxBytes+(64<<10), 1<<20))),
		kgo.WithLogger(kgoLogger{s.log}),
	})
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka: starting the client of brokers %s: %w", strings.Join(s.set.brokers, ","), err)
	}
	s.cl = cl
	s.adm = kadm.NewClient(cl)
	s.log.Info("joining the consumer group", "group", s.set.group, "brokers", strings.Join(s.set.brokers, ","))
	return nil
}

// notify wakes a Read waiting for data, so that it returns what the
// group changed. Called with s.mu held.
func (s *Source) notify() {
	if s.wake != nil {
		s.wake()
	}
}

// onAssigned is the group's callback for partitions given to this member:
// they are paused (nothing of them is fetched) until the engine calls
// Assign with their positions.
func (s *Source) onAssigned(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	cl.PauseFetchPartitions(m)
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for topic, ps := range m {
		for _, p := range ps {
			t := tp{topic, p}
			if _, ok := s.parts[t]; ok {
				continue
			}
			s.parts[t] = &part{state: statePending, hw: -1}
			s.assigned = append(s.assigned, t)
			names = append(names, t.String())
		}
	}
	if len(names) > 0 {
		slices.SortFunc(names, comparePartitions)
		s.log.Info("partitions assigned by the group", "group", s.set.group, "partitions", strings.Join(names, ","))
	}
	s.notify()
}

// revoke takes the partitions of m away: none of their records is
// returned from now on. Those the engine knows of are reported as revoked;
// it returns them. Called with s.mu held.
func (s *Source) revoke(m map[string][]int32) []tp {
	var wait []tp
	gone := map[tp]bool{}
	for topic, ps := range m {
		for _, p := range ps {
			t := tp{topic, p}
			pt, ok := s.parts[t]
			if !ok {
				continue
			}
			gone[t] = true
			switch pt.state {
			case statePending:
				delete(s.parts, t)
				s.assigned = slices.DeleteFunc(s.assigned, func(x tp) bool { return x == t })
			case stateReported, stateActive:
				pt.state = stateRevoking
				s.revoked = append(s.revoked, t)
				wait = append(wait, t)
			case stateRevoking:
				wait = append(wait, t)
			}
		}
	}
	s.leftover = slices.DeleteFunc(s.leftover, func(r *kgo.Record) bool { return gone[tp{r.Topic, r.Partition}] })
	s.notify()
	return wait
}

// onRevoked is the group's callback for partitions taken from this member
// in a rebalance. It reports them and waits until the engine released
// them (every batch of theirs committed), or the source closes, so that
// the group hands them on only then. It waits at most most of
// rebalance_timeout: past it the group would drop this member and hand
// the partitions on anyway. Then it lets them go, and the next Read ends
// the run, so that no batch of theirs is committed late (releaseWait).
func (s *Source) onRevoked(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	wait := s.revoke(m)
	if len(wait) > 0 {
		s.log.Info("partitions revoked by the group; waiting for their batches to commit", "group", s.set.group, "partitions", names(wait))
	}
	bound := time.NewTimer(releaseWait(s.set.rebalanceTimeout))
	defer bound.Stop()
	for {
		pending := slices.ContainsFunc(wait, func(t tp) bool {
			pt, ok := s.parts[t]
			return ok && pt.state == stateRevoking
		})
		if !pending || s.closing {
			break
		}
		ch := s.released
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			for _, t := range wait {
				delete(s.parts, t)
			}
			s.mu.Unlock()
			return
		case <-bound.C:
			s.mu.Lock()
			for _, t := range wait {
				delete(s.parts, t)
			}
			s.stuck = fmt.Errorf("kafka: the group revoked partitions %s, but their batches were not committed within %s (most of rebalance_timeout %s): "+
				"ending the run so that the group can hand them on; what was not committed is read again by their next owner",
				names(wait), releaseWait(s.set.rebalanceTimeout), s.set.rebalanceTimeout)
			s.log.Error("revoked partitions not released in time; the run ends", "group", s.set.group, "partitions", names(wait))
			s.notify()
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
	}
	for _, t := range wait {
		delete(s.parts, t)
	}
	s.mu.Unlock()
	if len(wait) > 0 {
		s.log.Info("partitions released to the group", "group", s.set.group, "partitions", names(wait))
	}
}

// releaseWait is how long onRevoked waits for a release: four fifths of
// the rebalance timeout, so that this member still rejoins within it.
func releaseWait(rebalance time.Duration) time.Duration {
	return rebalance * 4 / 5
}

// onLost is the group's callback for partitions this member lost without
// a rebalance (e.g. its session expired): they are reported as revoked,
// with no one to wait for.
func (s *Source) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wait := s.revoke(m)
	for _, t := range wait {
		delete(s.parts, t)
	}
	if len(wait) > 0 {
		s.log.Warn("partitions lost by the group member", "group", s.set.group, "partitions", names(wait))
	}
}

// names lists partitions by name, sorted, comma-separated.
func names(ts []tp) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
	}
	slices.SortFunc(out, comparePartitions)
	return strings.Join(out, ",")
}

// Assign starts reading partitions at positions, or where start says for
// those without one.
func (s *Source) Assign(ctx context.Context, partitions []string, positions []record.Position) error {
	at := map[string]int64{}
	for _, p := range positions {
		at[p.Partition] = p.Offset
	}
	s.mu.Lock()
	var todo []tp
	var unset []tp
	for _, name := range partitions {
		t, ok := parseTP(name)
		if !ok {
			s.mu.Unlock()
			return fmt.Errorf("kafka: assign: %q is not a partition name (topic/partition)", name)
		}
		pt, ok := s.parts[t]
		if !ok || (pt.state != stateReported && pt.state != statePending) {
			continue // revoked meanwhile, or assigned already
		}
		todo = append(todo, t)
		if _, ok := at[name]; !ok {
			unset = append(unset, t)
		}
	}
	s.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}

	offsets := map[tp]int64{}
	for _, t := range todo {
		if o, ok := at[t.String()]; ok {
			offsets[t] = o
		}
	}
	if len(unset) > 0 {
		got, err := s.startOffsets(ctx, unset)
		if err != nil {
			return fmt.Errorf("kafka: assign %s: %w", names(unset), err)
		}
		for t, o := range got {
			offsets[t] = o
		}
	}

	set := map[string]map[int32]kgo.EpochOffset{}
	resume := map[string][]int32{}
	s.mu.Lock()
	for _, t := range todo {
		pt, ok := s.parts[t]
		if !ok || (pt.state != stateReported && pt.state != statePending) {
			continue
		}
		pt.state = stateActive
		pt.next = offsets[t]
		if set[t.topic] == nil {
			set[t.topic] = map[int32]kgo.EpochOffset{}
		}
		set[t.topic][t.partition] = kgo.EpochOffset{Epoch: -1, Offset: pt.next}
		resume[t.topic] = append(resume[t.topic], t.partition)
	}
	s.mu.Unlock()
	s.cl.SetOffsets(set)
	s.cl.ResumeFetchPartitions(resume)
	s.log.Info("partitions started", "partitions", names(todo), "from_sink", len(todo)-len(unset), "from_start_"+s.set.start, len(unset))
	return nil
}

// startOffsets lists where partitions without a position start: their
// earliest or their end offset, as start says.
func (s *Source) startOffsets(ctx context.Context, ts []tp) (map[tp]int64, error) {
	topics := map[string]bool{}
	for _, t := range ts {
		topics[t.topic] = true
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var listed kadm.ListedOffsets
	var err error
	if s.set.start == StartLatest {
		listed, err = s.adm.ListEndOffsets(ctx, slices.Collect(mapKeys(topics))...)
	} else {
		listed, err = s.adm.ListStartOffsets(ctx, slices.Collect(mapKeys(topics))...)
	}
	if err != nil {
		return nil, fmt.Errorf("listing the %s offsets from brokers %s: %w", s.set.start, strings.Join(s.set.brokers, ","), err)
	}
	out := map[tp]int64{}
	for _, t := range ts {
		o, ok := listed.Lookup(t.topic, t.partition)
		if !ok {
			return nil, fmt.Errorf("no %s offset listed for %s", s.set.start, t)
		}
		if o.Err != nil {
			return nil, fmt.Errorf("listing the %s offset of %s: %w", s.set.start, t, o.Err)
		}
		out[t] = o.Offset
	}
	return out, nil
}

// mapKeys iterates the keys of m.
func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Release lets revoked partitions go: the group's revoke callback
// waiting for them returns, after the group offset commits in flight.
func (s *Source) Release(_ context.Context, partitions []string) error {
	s.waitCommits(5 * time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	freed := false
	for _, name := range partitions {
		t, ok := parseTP(name)
		if !ok {
			continue
		}
		if pt, ok := s.parts[t]; ok && pt.state == stateRevoking {
			delete(s.parts, t)
			freed = true
		}
	}
	if freed {
		close(s.released)
		s.released = make(chan struct{})
	}
	return nil
}

// waitCommits waits up to d for the group offset commits in flight.
func (s *Source) waitCommits(d time.Duration) {
	done := make(chan struct{})
	go func() { s.commits.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// batchState is a batch being built.
type batchState struct {
	b         *record.Batch
	rejects   []record.Reject
	positions map[tp]int64
	items     int
	maxRows   int
	maxBytes  int
}

func (bs *batchState) full() bool {
	return bs.items >= bs.maxRows || bs.b.Size() >= bs.maxBytes
}

// Read returns the records polled within req.MaxWaitMillis, up to its
// bounds, of the partitions being read; and the partitions assigned and
// revoked since the last Read, at once when there are any.
func (s *Source) Read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResult, error) {
	if s.cl == nil {
		return plugin.ReadResult{}, errors.New("kafka: Read before Open")
	}
	bs := &batchState{b: record.NewBatch(s.schema), positions: map[tp]int64{}, maxRows: req.MaxRows, maxBytes: req.MaxBytes}
	if bs.maxRows <= 0 {
		bs.maxRows = defaultMaxRows
	}
	if bs.maxBytes <= 0 {
		bs.maxBytes = defaultMaxBytes
	}
	wait := time.Duration(req.MaxWaitMillis) * time.Millisecond
	if wait <= 0 {
		wait = defaultMaxWait
	}
	deadline := time.Now().Add(wait)

	for {
		s.mu.Lock()
		if err := s.stuck; err != nil {
			s.mu.Unlock()
			return plugin.ReadResult{}, err
		}
		recs := s.leftover
		s.leftover = nil
		rest := s.addRecords(bs, recs)
		s.leftover = append(rest, s.leftover...)
		changed := len(s.assigned) > 0 || len(s.revoked) > 0
		s.mu.Unlock()
		if changed || bs.full() || ctx.Err() != nil || !time.Now().Before(deadline) {
			break
		}
		pctx, cancel := context.WithDeadline(ctx, deadline)
		s.mu.Lock()
		s.wake = cancel
		if len(s.assigned) > 0 || len(s.revoked) > 0 || s.closing {
			cancel()
		}
		s.mu.Unlock()
		fetches := s.cl.PollRecords(pctx, bs.maxRows-bs.items)
		s.mu.Lock()
		s.wake = nil
		s.mu.Unlock()
		cancel()
		if fetches.IsClientClosed() {
			break
		}
		if err := s.takeFetches(fetches); err != nil {
			return plugin.ReadResult{}, err
		}
	}
	return s.finish(bs), nil
}

// takeFetches keeps the high watermarks and queues the records of
// fetches; errors are logged (the client retries by itself), but one
// that only other settings or rights mend ends the run (fatalFetch).
func (s *Source) takeFetches(fetches kgo.Fetches) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fatal error
	fetches.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
			return
		}
		if f := s.fatalFetch(err); f != nil {
			fatal = f
			return
		}
		s.log.Warn("fetch failed; the client retries", "partition", tp{topic, p}.String(), "error", err)
	})
	if fatal != nil {
		return fatal
	}
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if pt, ok := s.parts[tp{fp.Topic, fp.Partition}]; ok && fp.Err == nil && fp.HighWatermark >= 0 {
			pt.hw = fp.HighWatermark
		}
		s.leftover = append(s.leftover, fp.Records...)
	})
	return nil
}

// fatalFetch returns the error that ends the run for err, a failure the
// client would retry forever although only other settings or rights mend
// it (the group refusing the session timeout, a denied group or topic, a
// failed login); nil for the others.
func (s *Source) fatalFetch(err error) error {
	switch {
	case errors.Is(err, kerr.InvalidSessionTimeout):
		return fmt.Errorf("kafka: the brokers refuse session_timeout %s for group %s: it is outside their group.min.session.timeout.ms and group.max.session.timeout.ms: %w",
			s.set.sessionTimeout, s.set.group, err)
	case errors.Is(err, kerr.GroupAuthorizationFailed), errors.Is(err, kerr.InvalidGroupID):
		return fmt.Errorf("kafka: group %s: %w", s.set.group, err)
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.SaslAuthenticationFailed):
		return fmt.Errorf("kafka: brokers %s: %w", strings.Join(s.set.brokers, ","), err)
	}
	return nil
}

// addRecords adds recs to the batch until it is full and returns those
// left over; records of partitions not being read, or before their next
// offset, are dropped. Called with s.mu held.
func (s *Source) addRecords(bs *batchState, recs []*kgo.Record) []*kgo.Record {
	for i, r := range recs {
		if bs.full() {
			return recs[i:]
		}
		t := tp{r.Topic, r.Partition}
		pt, ok := s.parts[t]
		if !ok || pt.state != stateActive || r.Offset < pt.next {
			continue
		}
		s.addRecord(bs, t, r)
		pt.next = r.Offset + 1
		bs.positions[t] = pt.next
		bs.items++
	}
	return nil
}

// addRecord makes r a row, or a reject when its value cannot be parsed.
func (s *Source) addRecord(bs *batchState, t tp, r *kgo.Record) {
	origin := record.Origin{Source: t.String(), Line: r.Offset}
	reject := func(errType, reason string, raw []byte) {
		bs.rejects = append(bs.rejects, record.Reject{Origin: origin, Raw: string(raw), ErrorType: errType,
			Reason: fmt.Sprintf("message %s offset %d: %s", t, r.Offset, reason)})
	}
	if len(r.Value) > s.set.maxBytes {
		reject(ErrorTypeTooLarge, fmt.Sprintf("value of %d bytes, larger than max_message_bytes %d", len(r.Value), s.set.maxBytes), r.Value[:s.set.maxBytes])
		return
	}
	b := bs.b
	ncols := len(s.set.columns)
	switch s.set.format {
	case FormatJSON:
		if problem := s.obj.parse(r.Value, s.set.columns); problem != "" {
			reject(ErrorTypeJSON, problem, r.Value)
			return
		}
		b.StartRow(origin, r.Value)
		for i, v := range s.obj.out {
			if s.obj.null[i] {
				b.AppendNull()
			} else {
				b.AppendBytes(v)
			}
		}
	default:
		fields, problem := s.sp.split(r.Value)
		if problem == "" && len(fields) != ncols {
			problem = fmt.Sprintf("field count %d, want %d", len(fields), ncols)
		}
		if problem != "" {
			reject(ErrorTypeCSV, problem, r.Value)
			return
		}
		b.StartRow(origin, r.Value)
		for _, f := range fields {
			b.AppendBytes(f)
		}
	}
	for _, m := range s.set.meta {
		switch m.kind {
		case metaKey:
			if r.Key == nil {
				b.AppendNull()
			} else {
				b.AppendString(strings.ToValidUTF8(string(r.Key), "\uFFFD"))
			}
		case metaTimestamp:
			b.AppendTimestamp(r.Timestamp)
		case metaTopic:
			b.AppendString(r.Topic)
		case metaPartition:
			b.AppendInt32(r.Partition)
		case metaOffset:
			b.AppendInt64(r.Offset)
		case metaHeaders:
			if s.hdr == nil {
				s.hdr = map[string]string{}
			}
			clear(s.hdr)
			for _, h := range r.Headers {
				s.hdr[h.Key] = strings.ToValidUTF8(string(h.Value), "\uFFFD")
			}
			js, _ := json.Marshal(s.hdr) // a map of strings always marshals
			b.AppendBytes(js)
		}
	}
}

// finish closes the batch: its positions, what the group changed, and the
// lag of every partition being read.
func (s *Source) finish(bs *batchState) plugin.ReadResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := plugin.ReadResult{Batch: bs.b, Rejects: bs.rejects}
	for t, next := range bs.positions {
		res.Positions = append(res.Positions, record.Position{Partition: t.String(), Offset: next})
	}
	slices.SortFunc(res.Positions, func(a, b record.Position) int { return comparePartitions(a.Partition, b.Partition) })
	for _, t := range s.assigned {
		s.parts[t].state = stateReported
		res.Assigned = append(res.Assigned, t.String())
	}
	for _, t := range s.revoked {
		res.Revoked = append(res.Revoked, t.String())
	}
	s.assigned, s.revoked = nil, nil
	slices.SortFunc(res.Assigned, comparePartitions)
	slices.SortFunc(res.Revoked, comparePartitions)

	backlog := &plugin.Backlog{}
	caughtUp := len(s.leftover) == 0
	for t, pt := range s.parts {
		if pt.state != stateActive {
			continue
		}
		if pt.hw < 0 {
			caughtUp = false
			continue
		}
		lag := max(pt.hw-pt.next, 0)
		if lag > 0 {
			backlog.Partitions++
			caughtUp = false
		}
		backlog.Lag = append(backlog.Lag, plugin.PartitionLag{Partition: t.String(), Messages: lag})
	}
	slices.SortFunc(backlog.Lag, func(a, b plugin.PartitionLag) int { return comparePartitions(a.Partition, b.Partition) })
	res.Backlog = backlog
	// An empty batch closed by its wait found nothing available, even for
	// partitions whose first fetch has not answered yet.
	res.CaughtUp = (caughtUp || bs.items == 0) && !bs.full()
	return res
}

// Ack commits positions to the group in Kafka, so that Kafka's tools show
// the group's lag. It does not wait; a failure is logged, not returned:
// positions are resumed only from the sink.
func (s *Source) Ack(_ context.Context, positions []record.Position) error {
	if s.cl == nil || len(positions) == 0 {
		return nil
	}
	offsets := map[string]map[int32]kgo.EpochOffset{}
	s.mu.Lock()
	for _, p := range positions {
		t, ok := parseTP(p.Partition)
		if !ok {
			continue
		}
		if _, owned := s.parts[t]; !owned {
			continue // handed on: its new owner commits it
		}
		if offsets[t.topic] == nil {
			offsets[t.topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[t.topic][t.partition] = kgo.EpochOffset{Epoch: -1, Offset: p.Offset}
	}
	closing := s.closing
	s.mu.Unlock()
	if len(offsets) == 0 || closing {
		return nil
	}
	s.commits.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.cl.CommitOffsets(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		defer s.commits.Done()
		defer cancel()
		if err == nil && resp != nil {
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if p.ErrorCode != 0 && err == nil {
						err = fmt.Errorf("%s: error code %d", tp{t.Topic, p.Partition}, p.ErrorCode)
					}
				}
			}
		}
		if err != nil {
			s.log.Warn("committing offsets to the group failed (they are resumed from the sink; only Kafka's view of the lag is behind)", "group", s.set.group, "error", err)
		}
	})
	return nil
}

// Close leaves the group, releasing a revoke waiting for Release first,
// and closes the client.
func (s *Source) Close(_ context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	close(s.released)
	s.released = make(chan struct{})
	s.notify()
	cl := s.cl
	s.mu.Unlock()
	if cl == nil {
		return nil
	}
	s.waitCommits(5 * time.Second)
	cl.Close() // leaves the group
	return nil
}

// kgoLogger passes the client's warnings and errors to the plugin's log.
type kgoLogger struct{ log *slog.Logger }

// Level is the client's log level: warnings and above.
func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

// Log writes one client message.
func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka client: "+msg, keyvals...)
}

package plugintest_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// The fakes: small plugins that keep their data in memory, each with
// switches that break one promise, so that the tests can show the suite
// reports it.

// stores holds the fakes' inputs and destinations by name, as a config
// block names them.
var stores = struct {
	sync.Mutex
	n   int
	log map[string]*lineLog
	dst map[string]*destination
}{log: map[string]*lineLog{}, dst: map[string]*destination{}}

// fakeConfig is the config block of every fake.
type fakeConfig struct {
	Store string `yaml:"store"`
}

// decodeFake decodes a fake's config block; store is required.
func decodeFake(raw []byte) (fakeConfig, error) {
	var cfg fakeConfig
	errs := plugin.AsConfigErrors(plugin.DecodeConfig(raw, &cfg))
	if cfg.Store == "" && len(errs) == 0 {
		errs.Add("store", "required")
	}
	return cfg, errs.Err()
}

// lineLog is a source's input: lines in partitions, one partition per
// Produce.
type lineLog struct {
	mu    sync.Mutex
	parts [][]string
}

// newLineLog returns a fresh input of the fake source.
func newLineLog(t testing.TB) (config string, produce func(t testing.TB, n int) []string) {
	stores.Lock()
	defer stores.Unlock()
	stores.n++
	name := "log" + strconv.Itoa(stores.n)
	l := &lineLog{}
	stores.log[name] = l
	produced := 0
	return "store: " + name, func(t testing.TB, n int) []string {
		l.mu.Lock()
		defer l.mu.Unlock()
		var part []string
		for i := 0; i < n; i++ {
			produced++
			text := fmt.Sprintf("%s line %d", name, produced)
			if produced%5 == 0 {
				text = "bad " + text
			}
			part = append(part, text)
		}
		l.parts = append(l.parts, part)
		return part
	}
}

// fakeSource reads a lineLog; partition i is "part-i" and its offset the
// number of lines read. Lines starting with "bad" are rejects.
type fakeSource struct {
	// The breakages.
	repeatOnReopen bool // opens one line before its position
	skipOnReopen   bool // opens one line after its position
	dropRaw        bool // rows without their raw text
	noPositions    bool // batches without positions
	ackSkips       bool // an Ack skips the rest of the partition read
	ignoreMaxRows  bool // batches as large as they come

	log  *lineLog
	next map[int]int // per partition, the next line
}

func (s *fakeSource) Configure(_ context.Context, cfg plugin.Config) (record.Schema, error) {
	c, err := decodeFake(cfg.Raw)
	if err != nil {
		return record.Schema{}, err
	}
	stores.Lock()
	s.log = stores.log[c.Store]
	stores.Unlock()
	if s.log == nil {
		return record.Schema{}, plugin.ConfigErrors{{Path: "store", Message: "no such store"}}
	}
	return record.Schema{Fields: []record.Field{{Name: "text", Type: record.String}}}, nil
}

func (s *fakeSource) Open(_ context.Context, positions []record.Position) error {
	s.next = map[int]int{}
	for _, p := range positions {
		i, err := strconv.Atoi(strings.TrimPrefix(p.Partition, "part-"))
		if err != nil {
			return fmt.Errorf("bad partition %q", p.Partition)
		}
		n := int(p.Offset)
		if s.repeatOnReopen && n > 0 {
			n--
		}
		if s.skipOnReopen {
			n++
		}
		s.next[i] = n
	}
	return nil
}

func (s *fakeSource) Read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResult, error) {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	res := plugin.ReadResult{Batch: record.NewBatch(transformSchema)}
	items := 0
	for i, part := range s.log.parts {
		for s.next[i] < len(part) && (items < req.MaxRows || s.ignoreMaxRows) {
			line := s.next[i]
			text := part[line]
			s.next[i]++
			items++
			o := record.Origin{Source: fmt.Sprintf("part-%d", i), Line: int64(line + 1)}
			if strings.HasPrefix(text, "bad") {
				res.Rejects = append(res.Rejects, record.Reject{Origin: o, Raw: text, ErrorType: "BAD_LINE", Reason: "the line says it is bad"})
			} else {
				raw := text
				if s.dropRaw {
					raw = ""
				}
				res.Batch.StartRow(o, []byte(raw))
				res.Batch.AppendString(text)
			}
			if !s.noPositions {
				setPosition(&res, record.Position{Partition: fmt.Sprintf("part-%d", i), Offset: int64(s.next[i])})
			}
		}
	}
	res.CaughtUp = items < req.MaxRows
	return res, nil
}

func setPosition(res *plugin.ReadResult, p record.Position) {
	for i, q := range res.Positions {
		if q.Partition == p.Partition {
			res.Positions[i] = p
			return
		}
	}
	res.Positions = append(res.Positions, p)
}

func (s *fakeSource) Ack(_ context.Context, positions []record.Position) error {
	if s.ackSkips {
		s.log.mu.Lock()
		defer s.log.mu.Unlock()
		for _, p := range positions {
			i, _ := strconv.Atoi(strings.TrimPrefix(p.Partition, "part-"))
			s.next[i] = len(s.log.parts[i])
		}
	}
	return nil
}

func (s *fakeSource) Close(context.Context) error { return nil }

// fakeTransform upper-cases its one String column and rejects rows whose
// text starts with "bad".
type fakeTransform struct {
	dropRaw      bool // output rows without their raw text
	heldNoRaw    bool // with plugin.RawHeld, rejects without their raw text too
	readsRaw     bool // rejects every row whose raw text is empty
	dropRejects  bool // rows to reject are dropped instead
	noReason     bool // rejects without a reason
	noisy        bool // each call numbers its output differently
	plainErrors  bool // config mistakes as a plain error
	emptyRejects bool // an empty batch gives a reject

	calls int
}

// transformSchema is the input and output schema of fakeTransform.
var transformSchema = record.Schema{Fields: []record.Field{{Name: "text", Type: record.String}}}

func (f *fakeTransform) Configure(_ context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	if _, err := decodeFake(cfg.Raw); err != nil {
		if f.plainErrors {
			return record.Schema{}, errors.New(err.Error())
		}
		return record.Schema{}, err
	}
	return in, nil
}

func (f *fakeTransform) Process(ctx context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	f.calls++
	out := record.NewBatch(transformSchema)
	held := plugin.RawHeld(ctx)
	if held {
		out.LeaveOutRaw()
	}
	var rejects []record.Reject
	if b.Len() == 0 && f.emptyRejects {
		rejects = append(rejects, record.Reject{Origin: record.Origin{Source: "nowhere"}, ErrorType: "EMPTY", Reason: "empty"})
	}
	for i := 0; i < b.Len(); i++ {
		text := b.Text(i, 0)
		if f.readsRaw && len(b.Raw(i)) == 0 {
			rejects = append(rejects, b.Reject(i, "NO_RAW", "the raw text is empty"))
			continue
		}
		if strings.HasPrefix(text, "bad") {
			if f.dropRejects {
				continue
			}
			r := b.Reject(i, "BAD_TEXT", "the text says it is bad")
			if f.noReason {
				r.Reason = ""
			}
			if held && f.heldNoRaw {
				r.Raw = ""
			}
			rejects = append(rejects, r)
			continue
		}
		raw := b.Raw(i)
		if f.dropRaw {
			raw = nil
		}
		out.StartRow(b.Origin(i), raw)
		up := strings.ToUpper(text)
		if f.noisy {
			up += fmt.Sprintf(" #%d", f.calls)
		}
		out.AppendString(up)
	}
	return out, rejects, nil
}

func (f *fakeTransform) Close(context.Context) error { return nil }

// destination is what a fake sink writes into.
type destination struct {
	mu        sync.Mutex
	rows      int
	rejects   int
	positions map[string]record.Position
	batchIDs  map[string]int64 // per partition, the last batch committed
	lastID    int64
}

// newDestination returns a fresh destination of the fake sink.
func newDestination(t testing.TB) (config string, count func() (rows, rejects int)) {
	stores.Lock()
	defer stores.Unlock()
	stores.n++
	name := "dst" + strconv.Itoa(stores.n)
	d := &destination{positions: map[string]record.Position{}, batchIDs: map[string]int64{}}
	stores.dst[name] = d
	return "store: " + name, func() (int, int) {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.rows, d.rejects
	}
}

// fakeSink writes into a destination, refusing rows whose first cell is
// "refuse".
type fakeSink struct {
	duplicateOnReplay bool // no batch id check
	partialOnCancel   bool // writes the rows before looking at ctx
	partialOnRefused  bool // writes the rows before the refused one
	forgetPartitions  bool // a batch's positions replace all others
	noBatchID         bool // Checkpoint answers batch id 0
	// asksForRaw stores a refused row as a reject, asking for its raw
	// text when it has none and the engine holds it; neverAsks does the
	// same without asking.
	asksForRaw, neverAsks bool

	dst *destination
}

// sinkSchema is the input schema of fakeSink.
var sinkSchema = record.Schema{Fields: []record.Field{{Name: "text", Type: record.String}, {Name: "n", Type: record.Int64, Nullable: true}}}

func (s *fakeSink) Configure(_ context.Context, cfg plugin.Config, _ record.Schema) error {
	c, err := decodeFake(cfg.Raw)
	if err != nil {
		return err
	}
	stores.Lock()
	s.dst = stores.dst[c.Store]
	stores.Unlock()
	if s.dst == nil {
		return plugin.ConfigErrors{{Path: "store", Message: "no such store"}}
	}
	return nil
}

func (s *fakeSink) Checkpoint(context.Context) (plugin.Checkpoint, error) {
	d := s.dst
	d.mu.Lock()
	defer d.mu.Unlock()
	cp := plugin.Checkpoint{BatchID: d.lastID}
	if s.noBatchID {
		cp.BatchID = 0
	}
	for _, p := range d.positions {
		cp.Positions = append(cp.Positions, p)
	}
	return cp, nil
}

func (s *fakeSink) Write(ctx context.Context, req plugin.WriteRequest) error {
	d := s.dst
	d.mu.Lock()
	defer d.mu.Unlock()
	if !s.duplicateOnReplay {
		for _, p := range req.Positions {
			if req.BatchID <= d.batchIDs[p.Partition] {
				return nil // a replay
			}
		}
	}
	rows := 0
	if req.Batch != nil {
		rows = req.Batch.Len()
	}
	if s.partialOnCancel {
		d.rows += rows
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	refused := 0
	for i := 0; i < rows; i++ {
		if req.Batch.Text(i, 0) == "refuse" && (s.asksForRaw || s.neverAsks) {
			_, given := req.Raw[req.Batch.Origin(i)]
			if len(req.Batch.Raw(i)) == 0 && !given && req.RawHeld && !s.neverAsks {
				return &plugin.NeedRaw{Origins: []record.Origin{req.Batch.Origin(i)}}
			}
			refused++
			continue
		}
		if req.Batch.Text(i, 0) == "refuse" {
			if s.partialOnRefused {
				d.rows += i
			}
			return fmt.Errorf("row %d refused", i)
		}
	}
	if !s.partialOnCancel {
		d.rows += rows - refused
	}
	d.rejects += len(req.Rejects) + refused
	if s.forgetPartitions {
		clear(d.positions)
	}
	for _, p := range req.Positions {
		d.positions[p.Partition] = p
		d.batchIDs[p.Partition] = req.BatchID
	}
	d.lastID = max(d.lastID, req.BatchID)
	return nil
}

func (s *fakeSink) Close(context.Context) error { return nil }

package engine_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// The plugins below run as real subprocesses in these tests: the test
// binary re-executes itself to serve them, as etl does with its bundled
// plugins.

var testPlugins = map[string]plugin.Plugin{
	"gen":      {Name: "gen", Version: "1.0.0", Source: func() plugin.Source { return &genSource{} }},
	"tag":      {Name: "tag", Version: "1.0.0", Transform: func() plugin.Transform { return &tagTransform{} }},
	"copy":     {Name: "copy", Version: "1.0.0", Transform: func() plugin.Transform { return &copyTransform{} }},
	"filesink": {Name: "filesink", Version: "1.0.0", Sink: func() plugin.Sink { return &fileSink{} }},
	"count":    {Name: "count", Version: "1.0.0", Sink: func() plugin.Sink { return &countSink{} }},
	"crash":    {Name: "crash", Version: "1.0.0", Transform: func() plugin.Transform { return &crashTransform{} }},
}

// genSource makes rows of the e-commerce shape (7 string fields) in
// several partitions, deterministically, so that a test knows every row
// that must arrive. Partition pN's row k has user_id N*1000000+k.
type genSource struct {
	cfg struct {
		Partitions int `yaml:"partitions"`
		Rows       int `yaml:"rows"`
		// RejectEvery makes every n-th row of a partition a source reject.
		RejectEvery int `yaml:"reject_every"`
		// Delay slows each Read, to give crash tests time to strike.
		Delay time.Duration `yaml:"delay"`
		// RowsFile, when set, names a file holding the number of rows per
		// partition, read again at each Read: a test raises it to make new
		// input arrive, as files do in a folder.
		RowsFile string `yaml:"rows_file"`
	}
	next  []int
	names []string
	turn  int
	buf   []byte
}

var ecommerceFields = []string{"user_id", "action", "product_id", "product_name", "price", "event_time", "session_id"}

// ecommerceSchema is the schema genSource reads: ecommerceFields as text.
func ecommerceSchema() record.Schema {
	var s record.Schema
	for _, f := range ecommerceFields {
		s.Fields = append(s.Fields, record.Field{Name: f, Type: record.String})
	}
	return s
}

func (g *genSource) Configure(_ context.Context, cfg plugin.Config) (record.Schema, error) {
	g.cfg.Partitions, g.cfg.Rows = 1, 1000
	// Keep going after decoding errors, so that every mistake is reported.
	es := plugin.AsConfigErrors(plugin.DecodeConfig(cfg.Raw, &g.cfg))
	if g.cfg.Partitions <= 0 {
		es.Add("partitions", "must be > 0")
	}
	if g.cfg.Rows < 0 {
		es.Add("rows", "must be >= 0")
	}
	return ecommerceSchema(), es.Err()
}

func (g *genSource) Open(_ context.Context, positions []record.Position) error {
	g.next = make([]int, g.cfg.Partitions)
	g.names = make([]string, g.cfg.Partitions)
	for i := range g.names {
		g.names[i] = fmt.Sprintf("p%d", i)
	}
	for _, p := range positions {
		var n int
		if _, err := fmt.Sscanf(p.Partition, "p%d", &n); err != nil || n >= len(g.next) {
			return fmt.Errorf("unknown partition %q", p.Partition)
		}
		g.next[n] = int(p.Offset)
	}
	return nil
}

func (g *genSource) Read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResult, error) {
	if g.cfg.RowsFile != "" {
		text, err := os.ReadFile(g.cfg.RowsFile)
		if err != nil {
			return plugin.ReadResult{}, err
		}
		if g.cfg.Rows, err = strconv.Atoi(strings.TrimSpace(string(text))); err != nil {
			return plugin.ReadResult{}, fmt.Errorf("%s: %w", g.cfg.RowsFile, err)
		}
		if !g.anyLeft() {
			// Nothing new: wait as a source does before it says it caught up.
			select {
			case <-time.After(time.Duration(req.MaxWaitMillis) * time.Millisecond):
			case <-ctx.Done():
				return plugin.ReadResult{}, ctx.Err()
			}
		}
	}
	if g.cfg.Delay > 0 {
		select {
		case <-time.After(g.cfg.Delay):
		case <-ctx.Done():
			return plugin.ReadResult{}, ctx.Err()
		}
	}
	b := record.NewBatch(ecommerceSchema())
	b.Grow(req.MaxRows, min(req.MaxBytes, req.MaxRows*150))
	var res plugin.ReadResult
	touched := map[int]bool{}
	for b.Len() < req.MaxRows && b.Size() < req.MaxBytes {
		// round-robin over partitions with rows left
		p := -1
		for i := 0; i < len(g.next); i++ {
			q := (g.turn + i) % len(g.next)
			if g.next[q] < g.cfg.Rows {
				p = q
				break
			}
		}
		if p < 0 {
			break
		}
		g.turn = (p + 1) % len(g.next)
		k := g.next[p]
		g.next[p]++
		touched[p] = true
		uid := strconv.Itoa(p*1000000 + k)
		g.buf = append(g.buf[:0], uid...)
		g.buf = append(g.buf, ",VIEW,4711,Widget,19.99,2026-11-25T10:00:00Z,s-0a1b2c3d"...)
		origin := record.Origin{Source: g.names[p], Line: int64(k + 1)}
		if g.cfg.RejectEvery > 0 && k%g.cfg.RejectEvery == 0 {
			res.Rejects = append(res.Rejects, record.Reject{Origin: origin, Raw: string(g.buf), ErrorType: "GEN_REJECT", Reason: "every n-th row"})
			continue
		}
		b.StartRow(origin, g.buf)
		b.AppendString(uid)
		b.AppendString("VIEW")
		b.AppendString("4711")
		b.AppendString("Widget")
		b.AppendString("19.99")
		b.AppendString("2026-11-25T10:00:00Z")
		b.AppendString("s-0a1b2c3d")
	}
	for p := range g.next {
		if touched[p] {
			res.Positions = append(res.Positions, record.Position{Partition: fmt.Sprintf("p%d", p), Offset: int64(g.next[p]), Done: g.next[p] >= g.cfg.Rows})
		}
	}
	res.Batch = b
	res.CaughtUp = true
	for _, n := range g.next {
		if n < g.cfg.Rows {
			res.CaughtUp = false
		}
	}
	backlog := g.backlog(g.next)
	res.Backlog = &backlog
	return res, nil
}

// anyLeft says some partition has rows not read yet.
func (g *genSource) anyLeft() bool {
	for _, n := range g.next {
		if n < g.cfg.Rows {
			return true
		}
	}
	return false
}

// genRowBytes is what one row of gen counts for in its backlog.
const genRowBytes = 100

// backlog is what waits after next: the partitions with rows left, each
// row genRowBytes.
func (g *genSource) backlog(next []int) plugin.Backlog {
	var b plugin.Backlog
	for _, n := range next {
		if n < g.cfg.Rows {
			b.Partitions++
			b.Bytes += int64(g.cfg.Rows-n) * genRowBytes
		}
	}
	return b
}

// Backlog makes gen a plugin.BacklogReporter.
func (g *genSource) Backlog(_ context.Context, positions []record.Position) (plugin.Backlog, error) {
	next := make([]int, g.cfg.Partitions)
	for _, p := range positions {
		var n int
		if _, err := fmt.Sscanf(p.Partition, "p%d", &n); err != nil || n >= len(next) {
			return plugin.Backlog{}, fmt.Errorf("unknown partition %q", p.Partition)
		}
		next[n] = int(p.Offset)
	}
	return g.backlog(next), nil
}

func (g *genSource) Ack(context.Context, []record.Position) error { return nil }
func (g *genSource) Close(context.Context) error                  { return nil }

// tagTransform upper-cases the action and rejects rows whose user_id is a
// multiple of 97, so that transform rejects travel with their batch.
type tagTransform struct{}

func (t *tagTransform) Configure(_ context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	var c struct{}
	if err := plugin.DecodeConfig(cfg.Raw, &c); err != nil {
		return record.Schema{}, err
	}
	if in.Index("user_id") != 0 {
		return record.Schema{}, plugin.ConfigErrors{{Message: "input needs user_id first"}}
	}
	return in, nil
}

func (t *tagTransform) Process(_ context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	out := record.NewBatch(b.Schema())
	var rejects []record.Reject
	for i := 0; i < b.Len(); i++ {
		uid, _ := strconv.Atoi(b.Text(i, 0))
		if uid%97 == 0 {
			rejects = append(rejects, b.Reject(i, "TAG_REJECT", fmt.Sprintf("user_id: %d is a multiple of 97", uid)))
			continue
		}
		out.CopyRow(b, i)
	}
	return out, rejects, nil
}

func (t *tagTransform) Close(context.Context) error { return nil }

// copyTransform copies every row into a new batch: the least a real
// transform does.
type copyTransform struct{}

func (t *copyTransform) Configure(_ context.Context, _ plugin.Config, in record.Schema) (record.Schema, error) {
	return in, nil
}

func (t *copyTransform) Process(_ context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	out := record.NewBatch(b.Schema())
	out.Grow(b.Len(), b.Size())
	for i := 0; i < b.Len(); i++ {
		out.CopyRow(b, i)
	}
	return out, nil, nil
}

func (t *copyTransform) Close(context.Context) error { return nil }

// crashTransform exits its process on the n-th batch, like a plugin with
// a fatal bug.
type crashTransform struct {
	cfg struct {
		After int `yaml:"after"`
		// DieConfiguringWhen names a file: when it is there, Configure
		// removes it and exits the process.
		DieConfiguringWhen string `yaml:"die_configuring_when"`
	}
	seen int
}

func (t *crashTransform) Configure(_ context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	if err := plugin.DecodeConfig(cfg.Raw, &t.cfg); err != nil {
		return in, err
	}
	if f := t.cfg.DieConfiguringWhen; f != "" {
		if err := os.Remove(f); err == nil {
			log.Print("crash: fatal: died configuring")
			os.Exit(7)
		}
	}
	return in, nil
}

func (t *crashTransform) Process(_ context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	t.seen++
	if t.seen > t.cfg.After {
		log.Print("crash: fatal: the flux capacitor melted")
		os.Exit(7)
	}
	return b, nil, nil
}

func (t *crashTransform) Close(context.Context) error { return nil }

// fileSink commits each batch as one JSON line appended to a file and
// fsynced: a line is either whole (committed) or torn (not committed, cut
// off at the next start). It is the durable sink of the crash tests.
type fileSink struct {
	cfg struct {
		Path string `yaml:"path"`
		// Column is the column whose values are recorded (default 0).
		Column int `yaml:"column"`
	}
	f    *os.File
	last int64
}

// commitLine is one committed batch in the file.
type commitLine struct {
	BatchID   int64             `json:"batch_id"`
	Users     []string          `json:"users"`
	Rejects   []string          `json:"rejects"`
	Positions []record.Position `json:"positions"`
}

func (s *fileSink) Configure(_ context.Context, cfg plugin.Config, in record.Schema) error {
	if err := plugin.DecodeConfig(cfg.Raw, &s.cfg); err != nil {
		return err
	}
	if s.cfg.Path == "" {
		return plugin.ConfigErrors{{Path: "path", Message: "required"}}
	}
	return nil
}

// readCommits reads a fileSink file; it returns the committed lines and
// the length of the file's whole lines.
func readCommits(path string) ([]commitLine, int64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var out []commitLine
	var good int64
	r := bufio.NewReader(bytes.NewReader(data))
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			break // a torn last line: not committed
		}
		var c commitLine
		if jerr := json.Unmarshal(line, &c); jerr != nil {
			return nil, 0, fmt.Errorf("%s: bad line after byte %d: %v", path, good, jerr)
		}
		out = append(out, c)
		good += int64(len(line))
	}
	return out, good, nil
}

func (s *fileSink) Checkpoint(context.Context) (plugin.Checkpoint, error) {
	commits, good, err := readCommits(s.cfg.Path)
	if err != nil {
		return plugin.Checkpoint{}, err
	}
	f, err := os.OpenFile(s.cfg.Path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return plugin.Checkpoint{}, err
	}
	if err := f.Truncate(good); err != nil {
		return plugin.Checkpoint{}, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		return plugin.Checkpoint{}, err
	}
	s.f = f
	var cp plugin.Checkpoint
	pos := map[string]record.Position{}
	for _, c := range commits {
		cp.BatchID = c.BatchID
		for _, p := range c.Positions {
			pos[p.Partition] = p
		}
	}
	for _, p := range pos {
		cp.Positions = append(cp.Positions, p)
	}
	s.last = cp.BatchID
	return cp, nil
}

func (s *fileSink) Write(_ context.Context, req plugin.WriteRequest) error {
	if req.BatchID <= s.last {
		return nil
	}
	if err := s.fence(req.From); err != nil {
		return fmt.Errorf("batch %d: %w", req.BatchID, err)
	}
	c := commitLine{BatchID: req.BatchID, Positions: req.Positions}
	if req.Batch != nil {
		for i := 0; i < req.Batch.Len(); i++ {
			c.Users = append(c.Users, req.Batch.Text(i, s.cfg.Column))
		}
	}
	for _, r := range req.Rejects {
		c.Rejects = append(c.Rejects, r.ErrorType+"@"+r.Origin.String())
	}
	line, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if _, err := s.f.Write(append(line, '\n')); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.last = req.BatchID
	return nil
}

// fence checks the engine's From against what the file holds (written by
// any instance of the sink): every test that commits through a fileSink
// checks that the engine says where each batch starts exactly.
func (s *fileSink) fence(from []record.Position) error {
	if len(from) == 0 {
		return nil
	}
	commits, _, err := readCommits(s.cfg.Path)
	if err != nil {
		return err
	}
	at := map[string]int64{}
	for _, c := range commits {
		for _, p := range c.Positions {
			at[p.Partition] = p.Offset
		}
	}
	for _, p := range from {
		off, ok := at[p.Partition]
		if !ok {
			off = plugin.NothingCommitted
		}
		if off != p.Offset {
			return fmt.Errorf("fence: partition %s is committed at %d, the batch starts from %d", p.Partition, off, p.Offset)
		}
	}
	return nil
}

func (s *fileSink) Close(context.Context) error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}

// countSink counts rows and looks at each row's first cell, for the
// throughput benchmark.
type countSink struct {
	mu   sync.Mutex
	rows int
}

func (s *countSink) Configure(context.Context, plugin.Config, record.Schema) error { return nil }
func (s *countSink) Checkpoint(context.Context) (plugin.Checkpoint, error) {
	return plugin.Checkpoint{}, nil
}

func (s *countSink) Write(_ context.Context, req plugin.WriteRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < req.Batch.Len(); i++ {
		if len(req.Batch.Bytes(i, 0)) == 0 {
			return fmt.Errorf("row %d: empty user_id", i)
		}
		s.rows++
	}
	return nil
}

func (s *countSink) Close(context.Context) error { return nil }

var _ = strings.TrimSpace

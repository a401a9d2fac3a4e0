package plugintest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// The acceptance suite: SourceSuite, TransformSuite and SinkSuite each
// describe one plugin implementation and check, with their Run method,
// what the engine relies on from every plugin of that kind. The suite calls
// the plugin's Go implementation directly, in the test's process, so that
// a failure points at the plugin's code rather than at the wire.

// DefaultTimeout bounds each call of the suite into a plugin, and the time
// a source is given to return what was produced, when a suite's Timeout is
// zero.
const DefaultTimeout = 10 * time.Second

// pipeline is the pipeline name the suite configures plugins with.
const pipeline = "acceptance"

// BadConfig is a `config:` block with mistakes, and the key paths that
// Configure must name for it.
type BadConfig struct {
	// Name names the case in failure messages.
	Name string
	// Config is the YAML config block.
	Config string
	// Paths are the key paths of the plugin.ConfigErrors Configure must
	// return, in any order, each once however many mistakes it holds
	// ("" for a mistake at no key, e.g. YAML that does not parse).
	Paths []string
}

// Row is one input row of a transform or a sink. Its cells follow the
// schema given beside it: nil is a null, and a value is of the Go type of
// its field's type: string for String and JSON (or []byte), []byte for
// Bytes (or string), int64 for Int64 (or int), int16, int32, float64,
// bool, time.Time for Timestamp and Date, int64 (the unscaled value) or a
// decimal string such as "19.99" for Decimal, int32 (days) also for Date,
// and [16]byte for UUID.
type Row struct {
	// Origin says where the row came from. When zero the suite uses
	// acceptance.csv and the row's 1-based index as its line.
	Origin record.Origin
	// Raw is the row's raw input text. When empty the suite makes one up
	// from the cells.
	Raw   string
	Cells []any
}

// withOrigins returns rows with every zero Origin and empty Raw filled in
// as Row documents, from line base+1 on.
func withOrigins(rows []Row, base int) []Row {
	out := make([]Row, len(rows))
	for i, r := range rows {
		if r.Origin == (record.Origin{}) {
			r.Origin = record.Origin{Source: "acceptance.csv", Line: int64(base + i + 1)}
		}
		if r.Raw == "" {
			parts := make([]string, len(r.Cells))
			for j, c := range r.Cells {
				parts[j] = fmt.Sprint(c)
			}
			r.Raw = strings.Join(parts, ",")
		}
		out[i] = r
	}
	return out
}

// newBatch builds a batch of rows with schema's columns. It is the only
// place the suite builds batches.
func newBatch(schema record.Schema, rows []Row) (*record.Batch, error) {
	b := record.NewBatch(schema)
	for i, r := range rows {
		if len(r.Cells) != len(schema.Fields) {
			return nil, fmt.Errorf("row %d has %d cells, the schema %d fields", i, len(r.Cells), len(schema.Fields))
		}
		b.StartRow(r.Origin, []byte(r.Raw))
		for j, f := range schema.Fields {
			if err := appendCell(b, f, r.Cells[j]); err != nil {
				return nil, fmt.Errorf("row %d, field %s: %w", i, f.Name, err)
			}
		}
	}
	return b, nil
}

// appendCell appends v as a cell of field f.
func appendCell(b *record.Batch, f record.Field, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch f.Type {
	case record.String, record.JSON, record.Bytes:
		switch x := v.(type) {
		case string:
			b.AppendString(x)
			return nil
		case []byte:
			b.AppendBytes(x)
			return nil
		}
	case record.Int64:
		switch x := v.(type) {
		case int64:
			b.AppendInt64(x)
			return nil
		case int:
			b.AppendInt64(int64(x))
			return nil
		}
	case record.Int16:
		switch x := v.(type) {
		case int16:
			b.AppendInt16(x)
			return nil
		case int:
			b.AppendInt16(int16(x))
			return nil
		}
	case record.Int32:
		switch x := v.(type) {
		case int32:
			b.AppendInt32(x)
			return nil
		case int:
			b.AppendInt32(int32(x))
			return nil
		}
	case record.Float64:
		if x, ok := v.(float64); ok {
			b.AppendFloat64(x)
			return nil
		}
	case record.Bool:
		if x, ok := v.(bool); ok {
			b.AppendBool(x)
			return nil
		}
	case record.Timestamp:
		if x, ok := v.(time.Time); ok {
			b.AppendTimestamp(x)
			return nil
		}
	case record.Decimal:
		switch x := v.(type) {
		case int64:
			b.AppendDecimal(x)
			return nil
		case string:
			u, err := record.ParseDecimal(x, 0, f.Scale)
			if err != nil {
				return err
			}
			b.AppendDecimal(u)
			return nil
		}
	case record.Date:
		switch x := v.(type) {
		case time.Time:
			b.AppendDate(record.DaysOf(x))
			return nil
		case int32:
			b.AppendDate(x)
			return nil
		}
	case record.UUID:
		if x, ok := v.([16]byte); ok {
			b.AppendUUID(x)
			return nil
		}
	}
	return fmt.Errorf("a %T cannot be a %s cell", v, f.Type)
}

// gotRow is one row of a batch as the suite compares rows.
type gotRow struct {
	Origin record.Origin
	Raw    string
	// Cells are the cells' encoded values, nil for a null.
	Cells []*string
}

func (r gotRow) String() string {
	return fmt.Sprintf("%v %q", r.Origin, r.Raw)
}

// rowsOf returns the rows of b (none when b is nil). It is the only place
// the suite reads the cells of a batch.
func rowsOf(b *record.Batch) []gotRow {
	if b == nil {
		return nil
	}
	rows := make([]gotRow, b.Len())
	for i := range rows {
		r := gotRow{Origin: b.Origin(i), Raw: string(b.Raw(i)), Cells: make([]*string, b.Cols())}
		for c := range r.Cells {
			if !b.IsNull(i, c) {
				s := string(b.Bytes(i, c))
				r.Cells[c] = &s
			}
		}
		rows[i] = r
	}
	return rows
}

// colsOf returns the number of columns of b, 0 when b is nil.
func colsOf(b *record.Batch) int {
	if b == nil {
		return 0
	}
	return b.Cols()
}

// check runs one check of a suite: as a subtest when t is a *testing.T,
// else in t, with name before each failure message. A check ends at its
// first Fatal either way.
func check(t testing.TB, name string, f func(t testing.TB)) {
	if tt, ok := t.(*testing.T); ok {
		tt.Run(name, func(t *testing.T) { f(t) })
		return
	}
	c := &named{TB: t, name: name}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(c)
	}()
	<-done
}

// named is a check run in a testing.TB that is not a *testing.T: its
// failures name the check, and FailNow ends only the check's goroutine.
type named struct {
	testing.TB
	name string
}

func (n *named) Name() string { return n.TB.Name() + "/" + n.name }

func (n *named) Error(args ...any) { n.TB.Errorf("%s: %s", n.name, fmt.Sprint(args...)) }

func (n *named) Errorf(format string, args ...any) {
	n.TB.Errorf("%s: %s", n.name, fmt.Sprintf(format, args...))
}

func (n *named) Fatal(args ...any) {
	n.Error(args...)
	runtime.Goexit()
}

func (n *named) Fatalf(format string, args ...any) {
	n.Errorf(format, args...)
	runtime.Goexit()
}

func (n *named) FailNow() {
	n.TB.Fail()
	runtime.Goexit()
}

func (n *named) Skip(args ...any) {
	n.TB.Logf("%s: skipped: %s", n.name, fmt.Sprint(args...))
	runtime.Goexit()
}

func (n *named) Skipf(format string, args ...any) {
	n.Skip(fmt.Sprintf(format, args...))
}

func (n *named) SkipNow() { n.Skip() }

// callCtx returns a context for one call into the plugin, ending after d.
func callCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// timeout returns d, or DefaultTimeout when d is zero.
func timeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultTimeout
	}
	return d
}

// config returns the plugin.Config the suite configures a plugin with.
func config(name, raw string) plugin.Config {
	return plugin.Config{Pipeline: pipeline, Name: name, Raw: []byte(raw)}
}

// checkBadConfigs checks that configure answers every case of bad with
// plugin.ConfigErrors naming exactly its paths.
func checkBadConfigs(t testing.TB, bad []BadConfig, configure func(raw string) error) {
	for i, bc := range bad {
		name := bc.Name
		if name == "" {
			name = fmt.Sprintf("case %d", i)
		}
		err := configure(bc.Config)
		if err == nil {
			t.Errorf("%s: Configure accepted the config; want mistakes at %q", name, bc.Paths)
			continue
		}
		var es plugin.ConfigErrors
		var e plugin.ConfigError
		if !errors.As(err, &es) && !errors.As(err, &e) {
			t.Errorf("%s: Configure answered %v, not plugin.ConfigErrors naming the keys %q", name, err, bc.Paths)
			continue
		}
		es = plugin.AsConfigErrors(err)
		var got []string
		for _, e := range es {
			if strings.TrimSpace(e.Message) == "" {
				t.Errorf("%s: the mistake at %q has no message", name, e.Path)
			}
			got = append(got, e.Path)
		}
		if want := uniqueSorted(bc.Paths); !slices.Equal(uniqueSorted(got), want) {
			t.Errorf("%s: Configure named the keys %q (%v), want %q", name, uniqueSorted(got), err, want)
		}
	}
}

func uniqueSorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return slices.Compact(s)
}

// checkSchema checks that a schema a plugin answered names its fields
// once each.
func checkSchema(t testing.TB, what string, s record.Schema) {
	if len(s.Fields) == 0 {
		t.Errorf("%s has no fields", what)
	}
	seen := map[string]bool{}
	for i, f := range s.Fields {
		if f.Name == "" {
			t.Errorf("%s: field %d has no name", what, i)
		}
		if seen[f.Name] {
			t.Errorf("%s: field %q appears twice", what, f.Name)
		}
		seen[f.Name] = true
	}
}

// checkNulls checks that the rows hold no null in a field that is not
// nullable.
func checkNulls(t testing.TB, what string, s record.Schema, rows []gotRow) {
	for _, r := range rows {
		for c, v := range r.Cells {
			if v == nil && c < len(s.Fields) && !s.Fields[c].Nullable {
				t.Errorf("%s: row %v holds a null in field %s, which is not nullable", what, r, s.Fields[c].Name)
			}
		}
	}
}

// checkReject checks that a reject says what it is and where it came from.
func checkReject(t testing.TB, what string, r record.Reject) {
	if r.ErrorType == "" {
		t.Errorf("%s: reject %v %q has no error type", what, r.Origin, r.Raw)
	}
	if r.Reason == "" {
		t.Errorf("%s: reject %v %q has no reason", what, r.Origin, r.Raw)
	}
	if r.Origin.Source == "" {
		t.Errorf("%s: reject %q has no origin", what, r.Raw)
	}
}

// positionSet returns positions as a map by partition, the last of each.
func positionSet(ps []record.Position) map[string]record.Position {
	m := map[string]record.Position{}
	for _, p := range ps {
		m[p.Partition] = p
	}
	return m
}

// positionList returns m sorted by partition.
func positionList(m map[string]record.Position) []record.Position {
	out := make([]record.Position, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

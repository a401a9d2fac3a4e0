package cleanser

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/record"
)

// A table is a configuration and a row that passes it. Each case puts one
// row through the configuration between two copies of the good row, so that
// every test also checks that the other rows of the batch pass untouched.
type table struct {
	config   string   // the cleanser's config block, as YAML
	cols     []string // the input columns, all text
	good     []string // a row that passes
	goodWant []string // what it becomes, as cellText gives it
}

// rowCase is one row put through a table's configuration.
type rowCase struct {
	name    string   // the subtest's name; the row's cells by default
	in      []string // the row's cells; null for a null cell
	want    []string // when the row passes: the output cells, as cellText gives them
	errType string   // when the row is rejected: the error type
	reason  []string // when the row is rejected: parts of the reason
}

// nullText is how cellText shows a null cell.
const nullText = "<null>"

// oneField is a table of a single text column v typed as fieldYAML says,
// e.g. `type: decimal, precision: 5, scale: 2`.
func oneField(fieldYAML, good, goodWant string) table {
	return table{
		config:   "fields:\n  - {name: v, " + fieldYAML + "}\n",
		cols:     []string{"v"},
		good:     []string{good},
		goodWant: []string{goodWant},
	}
}

// pass is a one-field case whose value in becomes want.
func pass(in, want string) rowCase {
	return rowCase{in: []string{in}, want: []string{want}}
}

// reject is a one-field case whose value in is refused with errType. The
// reason must name field v and the value (trimmed), and contain more.
func reject(in, errType string, more ...string) rowCase {
	return rejectAs(strings.TrimSpace(in), in, errType, more...)
}

// rejectAs is reject for a value that the reason shows as shown, e.g. not
// trimmed when the field does not trim.
func rejectAs(shown, in, errType string, more ...string) rowCase {
	return rowCase{in: []string{in}, errType: errType, reason: append([]string{"v: " + strconv.Quote(shown)}, more...)}
}

// missing is a one-field case refused as MISSING_REQUIRED with a reason
// naming v and how it is missing ("null", "empty" or the quoted value).
func missing(in, how string) rowCase {
	return rowCase{in: []string{in}, errType: ErrMissingRequired, reason: []string{"v: required but " + how}}
}

// run configures a cleanser with tb and puts each case through it.
func (tb table) run(t *testing.T, cases []rowCase) {
	t.Helper()
	c, schema := configure(t, tb.config, textSchema(tb.cols...))
	for _, tc := range cases {
		name := tc.name
		if name == "" {
			name = strings.Join(tc.in, "|")
		}
		t.Run(name, func(t *testing.T) {
			in := textBatch(tb.good, tc.in, tb.good)
			out, rejects := process(t, c, in)
			checkOutcome(t, schema, in, out, rejects, tc, tb.goodWant)
		})
	}
}

// checkOutcome checks the outcome of a batch of three rows, where row 1 is
// tc's and rows 0 and 2 must pass as goodWant.
func checkOutcome(t *testing.T, schema record.Schema, in, out *record.Batch, rejects []record.Reject, tc rowCase, goodWant []string) {
	t.Helper()
	passed := []int{0, 1, 2}
	if tc.errType != "" {
		passed = []int{0, 2}
	}
	if out.Len() != len(passed) || len(rejects) != 3-len(passed) {
		t.Fatalf("got %d rows and rejects %+v, want %d rows", out.Len(), rejects, len(passed))
	}
	for i, src := range passed {
		if out.Origin(i) != in.Origin(src) || string(out.Raw(i)) != string(in.Raw(src)) {
			t.Errorf("output row %d is %v %q, want input row %d %v %q", i, out.Origin(i), out.Raw(i), src, in.Origin(src), in.Raw(src))
		}
		want := goodWant
		if src == 1 {
			want = tc.want
		}
		if got := rowText(schema, out, i); !slices.Equal(got, want) {
			t.Errorf("output row %d = %q, want %q", i, got, want)
		}
	}
	if tc.errType == "" {
		return
	}
	r := rejects[0]
	if r.ErrorType != tc.errType {
		t.Errorf("error type %s, want %s (reason %q)", r.ErrorType, tc.errType, r.Reason)
	}
	for _, part := range tc.reason {
		if !strings.Contains(r.Reason, part) {
			t.Errorf("reason %q does not contain %q", r.Reason, part)
		}
	}
	if r.Origin != in.Origin(1) || r.Raw != string(in.Raw(1)) {
		t.Errorf("reject from %v %q, want %v %q", r.Origin, r.Raw, in.Origin(1), in.Raw(1))
	}
}

// rowText returns the cells of row as cellText gives them.
func rowText(schema record.Schema, b *record.Batch, row int) []string {
	cells := make([]string, len(schema.Fields))
	for col, f := range schema.Fields {
		cells[col] = cellText(f, b, row, col)
	}
	return cells
}

// cellText shows a typed cell exactly: decimals at their scale, floats
// shortest, timestamps in RFC 3339 with the fraction that they have.
func cellText(f record.Field, b *record.Batch, row, col int) string {
	if b.IsNull(row, col) {
		return nullText
	}
	switch f.Type {
	case record.Int64:
		return strconv.FormatInt(b.Int64(row, col), 10)
	case record.Int16:
		return strconv.FormatInt(int64(b.Int16(row, col)), 10)
	case record.Int32:
		return strconv.FormatInt(int64(b.Int32(row, col)), 10)
	case record.Date:
		return b.Date(row, col).Format(time.DateOnly)
	case record.UUID:
		u := b.UUID(row, col)
		return string(record.AppendUUIDText(nil, u[:]))
	case record.Bytes:
		return hex.EncodeToString(b.Bytes(row, col))
	case record.Decimal:
		return record.FormatDecimal(b.Decimal(row, col), f.Scale)
	case record.Float64:
		return strconv.FormatFloat(b.Float64(row, col), 'g', -1, 64)
	case record.Bool:
		return strconv.FormatBool(b.Bool(row, col))
	case record.Timestamp:
		return b.Timestamp(row, col).Format(time.RFC3339Nano)
	}
	return b.Text(row, col)
}

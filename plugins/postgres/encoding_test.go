package postgres

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// createTable makes a table in the database of dsn.
func createTable(t testing.TB, dsn, ddl string) {
	t.Helper()
	if _, err := connectT(t, dsn).Exec(context.Background(), ddl); err != nil {
		t.Fatalf("%s: %v", ddl, err)
	}
}

func TestPostgresNumericEncodingMatchesPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	scales := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 17, 18}
	var fields []record.Field
	var cols []string
	for i, sc := range scales {
		fields = append(fields, record.Field{Name: fmt.Sprintf("d%d", i), Type: record.Decimal, Scale: sc})
		cols = append(cols, fmt.Sprintf("d%d numeric", i))
	}
	fields = append(fields, record.Field{Name: "k", Type: record.Int64})
	createTable(t, dsn, "CREATE TABLE nums (k bigint, "+strings.Join(cols, ", ")+")")

	values := []int64{0, 1, -1, 9, 10, 99, 100, 9999, 10000, 10001, -10000, 123456789, 100000000,
		1_000_000_000_000, 999_999_999_999_999_999, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, -5, 50000, 12345678901234}
	for p := int64(1); p < math.MaxInt64/10; p *= 10 {
		values = append(values, p, p-1, -p, p+1, p*7/3)
	}
	b := record.NewBatch(record.Schema{Fields: fields})
	for k, v := range values {
		b.StartRow(record.Origin{Source: "n", Line: int64(k + 1)}, nil)
		for range scales {
			b.AppendDecimal(v)
		}
		b.AppendInt64(int64(k))
	}
	s := New()
	raw := fmt.Sprintf("dsn: %q\ntable: nums", dsn)
	if err := s.Configure(ctx, plugin.Config{Pipeline: "n", Raw: []byte(raw)}, record.Schema{Fields: fields}); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.Write(ctx, plugin.WriteRequest{BatchID: 1, Batch: b, Positions: []record.Position{{Partition: "n", Offset: 1}}}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	conn := connectT(t, dsn)
	rows, err := conn.Query(ctx, "SELECT k, "+strings.Join(func() []string {
		var out []string
		for i := range scales {
			out = append(out, fmt.Sprintf("d%d::text", i))
		}
		return out
	}(), ", ")+" FROM nums ORDER BY k")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		got := make([]string, len(scales))
		dest := []any{new(int64)}
		for i := range got {
			dest = append(dest, &got[i])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		k := *dest[0].(*int64)
		for i, sc := range scales {
			if want := record.FormatDecimal(values[k], sc); got[i] != want {
				t.Errorf("numeric of unscaled %d, scale %d = %s, want %s", values[k], sc, got[i], want)
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(values) {
		t.Errorf("%d rows read back, want %d", n, len(values))
	}
}

func TestPostgresEveryEncodingMatchesPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	createTable(t, dsn, `CREATE TABLE kinds (k bigint, i8 bigint, i4 integer, i2 smallint, n numeric(20,0), f8i double precision,
		t_i text, f8 double precision, f4 real, t_f varchar(40), b boolean, t_b text, ts timestamp, tstz timestamptz, t_ts text,
		d numeric(12,3), f8d double precision, t_d char(12), s text, vc varchar(10), j json, jb jsonb, by bytea)`)
	fields := []record.Field{
		{Name: "k", Type: record.Int64},
		{Name: "i8", Type: record.Int64}, {Name: "i4", Type: record.Int64}, {Name: "i2", Type: record.Int64},
		{Name: "n", Type: record.Int64}, {Name: "f8i", Type: record.Int64}, {Name: "t_i", Type: record.Int64},
		{Name: "f8", Type: record.Float64}, {Name: "f4", Type: record.Float64}, {Name: "t_f", Type: record.Float64},
		{Name: "b", Type: record.Bool}, {Name: "t_b", Type: record.Bool},
		{Name: "ts", Type: record.Timestamp}, {Name: "tstz", Type: record.Timestamp}, {Name: "t_ts", Type: record.Timestamp},
		{Name: "d", Type: record.Decimal, Scale: 3}, {Name: "f8d", Type: record.Decimal, Scale: 3}, {Name: "t_d", Type: record.Decimal, Scale: 3},
		{Name: "s", Type: record.String}, {Name: "vc", Type: record.String}, {Name: "j", Type: record.String},
		{Name: "jb", Type: record.String}, {Name: "by", Type: record.String},
	}
	at := time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)
	old := time.Date(1969, 12, 31, 23, 59, 59, 1000, time.UTC)
	type row struct {
		i           int64
		f           float64
		b           bool
		ts          time.Time
		d           int64
		s, j        string
		wantRefused bool
	}
	rowsIn := []row{
		{i: 42, f: 1.5, b: true, ts: at, d: 12345, s: "héllo", j: `{"a": [1, 2]}`},
		{i: -7, f: -0.25, b: false, ts: old, d: -1, s: "", j: `[]`},
		{i: 40000, f: 3.4e38, b: true, ts: time.Unix(0, 0), d: 0, s: "x", j: `null`},
		{i: 1 << 40, f: 1, ts: at, s: "too big for int4", j: `1`, wantRefused: true},
		{i: 1, f: 1e300, ts: at, s: "too big for float4", j: `1`, wantRefused: true},
	}
	b := record.NewBatch(record.Schema{Fields: fields})
	for k, r := range rowsIn {
		b.StartRow(record.Origin{Source: "kinds", Line: int64(k + 1)}, []byte(fmt.Sprint(k)))
		b.AppendInt64(int64(k))
		i2 := r.i
		if k == 2 {
			i2 = 300 // 40000 does not fit a smallint
		}
		i4 := r.i
		if k == 4 {
			i4 = 1
		}
		b.AppendInt64(r.i)
		b.AppendInt64(i4)
		if k == 3 {
			b.AppendInt64(1)
		} else {
			b.AppendInt64(i2)
		}
		for range 3 {
			b.AppendInt64(r.i)
		}
		b.AppendFloat64(r.f)
		if k == 3 {
			b.AppendFloat64(1)
		} else {
			b.AppendFloat64(r.f)
		}
		b.AppendFloat64(r.f)
		b.AppendBool(r.b)
		b.AppendBool(r.b)
		for range 3 {
			b.AppendTimestamp(r.ts)
		}
		for range 3 {
			b.AppendDecimal(r.d)
		}
		b.AppendString(r.s)
		b.AppendString(truncateRunes(r.s, 10))
		b.AppendString(r.j)
		b.AppendString(r.j)
		b.AppendString(r.s)
	}
	s := New()
	if err := s.Configure(ctx, plugin.Config{Pipeline: "k", Raw: []byte(fmt.Sprintf("dsn: %q\ntable: kinds", dsn))}, record.Schema{Fields: fields}); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.Write(ctx, plugin.WriteRequest{BatchID: 1, Batch: b, Positions: []record.Position{{Partition: "kinds", Offset: 5}}}); err != nil {
		t.Fatalf("Write: %v", err)
	}

	conn := connectT(t, dsn)
	var got []string
	rows, err := conn.Query(ctx, `SELECT concat_ws('|', i8, i4, i2, n, f8i, t_i, f8, f4, t_f, b, t_b,
		to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US'), to_char(tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), t_ts,
		d, f8d, t_d, s, vc, j, jb, encode(by, 'escape')) FROM kinds ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`42|42|42|42|42|42|1.5|1.5|1.5|t|true|2031-05-06 07:08:09.123456|2031-05-06 07:08:09.123456|2031-05-06T07:08:09.123456Z|12.345|12.345|12.345      |héllo|héllo|{"a": [1, 2]}|{"a": [1, 2]}|h\303\251llo`,
		`-7|-7|-7|-7|-7|-7|-0.25|-0.25|-0.25|f|false|1969-12-31 23:59:59.000001|1969-12-31 23:59:59.000001|1969-12-31T23:59:59.000001Z|-0.001|-0.001|-0.001      |||[]|[]|`,
		`40000|40000|300|40000|40000|40000|3.4e+38|3.4e+38|3.4e+38|t|true|1970-01-01 00:00:00.000000|1970-01-01 00:00:00.000000|1970-01-01T00:00:00Z|0.000|0|0.000       |x|x|null|null|x`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("read back:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var reasons []string
	r2, err := conn.Query(ctx, `SELECT error_type || ': ' || reason FROM corrupt_records ORDER BY line`)
	if err != nil {
		t.Fatal(err)
	}
	for r2.Next() {
		var r string
		if err := r2.Scan(&r); err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, r)
	}
	wantReasons := []string{
		"DB_REJECTED: value 1099511627776 out of range for column i4 of type integer",
		"DB_REJECTED: value 1e+300 out of range for column f4 of type real",
	}
	if strings.Join(reasons, "\n") != strings.Join(wantReasons, "\n") {
		t.Errorf("rejects:\n%s\nwant:\n%s", strings.Join(reasons, "\n"), strings.Join(wantReasons, "\n"))
	}
}

func TestTimestampEncodingNeverMeansInfinity(t *testing.T) {
	c := colEnc{kind: encTimestamp, typ: record.Timestamp, column: "t", pgType: "timestamp with time zone"}
	for _, v := range []int64{math.MinInt64, math.MinInt64 + 1, math.MinInt64 + pgEpochMicros, math.MaxInt64} {
		b := record.NewBatch(record.Schema{Fields: []record.Field{{Name: "t", Type: record.Timestamp}}})
		b.StartRow(record.Origin{}, nil)
		b.AppendMicros(v)
		out, err := c.appendCell(nil, b, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for _, x := range out[4:] {
			got = got<<8 | int64(x)
		}
		if got == math.MinInt64 || got == math.MaxInt64 {
			t.Errorf("µs %d is sent as %d, which PostgreSQL reads as infinity", v, got)
		}
	}
}

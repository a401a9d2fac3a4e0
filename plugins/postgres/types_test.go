package postgres

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// cell appends one cell to a batch.
type cell func(b *record.Batch)

func i16(v int16) cell   { return func(b *record.Batch) { b.AppendInt16(v) } }
func i32(v int32) cell   { return func(b *record.Batch) { b.AppendInt32(v) } }
func i64(v int64) cell   { return func(b *record.Batch) { b.AppendInt64(v) } }
func f64(v float64) cell { return func(b *record.Batch) { b.AppendFloat64(v) } }
func str(v string) cell  { return func(b *record.Batch) { b.AppendString(v) } }
func raw(v []byte) cell  { return func(b *record.Batch) { b.AppendBytes(v) } }
func boolean(v bool) cell {
	return func(b *record.Batch) { b.AppendBool(v) }
}
func ts(v time.Time) cell { return func(b *record.Batch) { b.AppendTimestamp(v) } }
func null() cell          { return func(b *record.Batch) { b.AppendNull() } }

func day(s string) cell {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return func(b *record.Batch) { b.AppendDate(record.DaysOf(t)) }
}

func uuidCell(s string) cell {
	u, err := record.ParseUUID([]byte(s))
	if err != nil {
		panic(err)
	}
	return func(b *record.Batch) { b.AppendUUID(u) }
}

// readBack is what a row should read back as (v::text, or NULL), or the
// reason the sink refuses it with, after "refused: ".
type readBack = string

// TestPostgresEveryTypeIntoEveryColumnItMayGoTo writes cells of each field
// type into each column type that takes it, reads them back with pgx as
// PostgreSQL's text, and checks the rows the sink refuses.
func TestPostgresEveryTypeIntoEveryColumnItMayGoTo(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	createTable(t, dsn, "CREATE EXTENSION IF NOT EXISTS citext")
	createTable(t, dsn, "CREATE DOMAIN session_id AS uuid")
	const u = "123e4567-e89b-12d3-a456-426614174000"
	winter := time.Date(2024, 1, 15, 12, 30, 0, 250000, time.UTC)
	summer := time.Date(2024, 7, 15, 12, 30, 0, 0, time.UTC)
	cases := []struct {
		name   string
		field  record.Field
		column string
		zone   string
		cells  []cell
		want   []readBack
	}{
		{"uuid into uuid", record.Field{Type: record.UUID}, "uuid", "", []cell{uuidCell(u), uuidCell("FFFFFFFF-0000-0000-0000-000000000001"), null()},
			[]string{u, "ffffffff-0000-0000-0000-000000000001", "NULL"}},
		{"uuid into a domain over uuid", record.Field{Type: record.UUID}, "session_id", "", []cell{uuidCell(u)}, []string{u}},
		{"uuid into text", record.Field{Type: record.UUID}, "text", "", []cell{uuidCell(u)}, []string{u}},
		{"uuid into varchar(36)", record.Field{Type: record.UUID}, "varchar(36)", "", []cell{uuidCell(u)}, []string{u}},
		{"string into uuid", record.Field{Type: record.String}, "uuid", "", []cell{str(u), str("123E4567E89B12D3A456426614174000"), str("{" + u + "}"), str("nope")},
			[]string{u, u, `refused: value "{123e4567-e89b-12d3-a456-426614174000}" is not a UUID for column v of type uuid`, `refused: value "nope" is not a UUID for column v of type uuid`}},

		{"date into date", record.Field{Type: record.Date}, "date", "", []cell{day("2000-01-01"), day("1970-01-01"), day("1969-12-31"), day("2024-02-29"), day("0001-01-01"), day("9999-12-31")},
			[]string{"2000-01-01", "1970-01-01", "1969-12-31", "2024-02-29", "0001-01-01", "9999-12-31"}},
		{"date out of range", record.Field{Type: record.Date}, "date", "", []cell{func(b *record.Batch) { b.AppendDate(math.MaxInt32) }, func(b *record.Batch) { b.AppendDate(math.MinInt32) }},
			[]string{"refused: date out of range", "refused: date -2147483648 days after 1970-01-01 out of range for column v of type date"}},
		{"date into text", record.Field{Type: record.Date}, "text", "", []cell{day("2024-02-29")}, []string{"2024-02-29"}},
		{"string into date", record.Field{Type: record.String}, "date", "", []cell{str("2024-02-29"), str("2023-02-29")},
			[]string{"2024-02-29", `refused: value "2023-02-29" is not a date (2006-01-02) for column v of type date`}},

		{"timestamp into timestamptz", record.Field{Type: record.Timestamp}, "timestamptz", "Europe/Paris", []cell{ts(winter)}, []string{"2024-01-15 12:30:00.00025+00"}},
		{"timestamp into timestamp, UTC by default", record.Field{Type: record.Timestamp}, "timestamp", "", []cell{ts(winter), ts(summer)},
			[]string{"2024-01-15 12:30:00.00025", "2024-07-15 12:30:00"}},
		{"timestamp into timestamp in Europe/Paris", record.Field{Type: record.Timestamp}, "timestamp", "Europe/Paris", []cell{ts(winter), ts(summer)},
			[]string{"2024-01-15 13:30:00.00025", "2024-07-15 14:30:00"}},
		{"timestamp into timestamp in America/New_York", record.Field{Type: record.Timestamp}, "timestamp without time zone", "America/New_York", []cell{ts(winter), ts(summer)},
			[]string{"2024-01-15 07:30:00.00025", "2024-07-15 08:30:00"}},

		{"int16 into smallint", record.Field{Type: record.Int16}, "smallint", "", []cell{i16(math.MinInt16), i16(math.MaxInt16), i16(0)}, []string{"-32768", "32767", "0"}},
		{"int16 into integer", record.Field{Type: record.Int16}, "integer", "", []cell{i16(-5)}, []string{"-5"}},
		{"int16 into bigint", record.Field{Type: record.Int16}, "bigint", "", []cell{i16(math.MinInt16)}, []string{"-32768"}},
		{"int16 into numeric", record.Field{Type: record.Int16}, "numeric", "", []cell{i16(-12345)}, []string{"-12345"}},
		{"int16 into double", record.Field{Type: record.Int16}, "double precision", "", []cell{i16(-3)}, []string{"-3"}},
		{"int16 into text", record.Field{Type: record.Int16}, "text", "", []cell{i16(-7)}, []string{"-7"}},
		{"int32 into integer", record.Field{Type: record.Int32}, "integer", "", []cell{i32(math.MinInt32), i32(math.MaxInt32)}, []string{"-2147483648", "2147483647"}},
		{"int32 into smallint, range checked", record.Field{Type: record.Int32}, "smallint", "", []cell{i32(32767), i32(32768), i32(-32769)},
			[]string{"32767", "refused: value 32768 out of range for column v of type smallint", "refused: value -32769 out of range for column v of type smallint"}},
		{"int32 into bigint", record.Field{Type: record.Int32}, "bigint", "", []cell{i32(math.MaxInt32)}, []string{"2147483647"}},
		{"int32 into numeric(12,2)", record.Field{Type: record.Int32}, "numeric(12,2)", "", []cell{i32(1234567)}, []string{"1234567.00"}},
		{"int64 into smallint, range checked", record.Field{Type: record.Int64}, "smallint", "", []cell{i64(-32768), i64(40000)},
			[]string{"-32768", "refused: value 40000 out of range for column v of type smallint"}},
		{"int64 into integer, range checked", record.Field{Type: record.Int64}, "integer", "", []cell{i64(1 << 31)},
			[]string{"refused: value 2147483648 out of range for column v of type integer"}},

		{"float64 into double", record.Field{Type: record.Float64}, "double precision", "", []cell{f64(0.1), f64(-1e300)}, []string{"0.1", "-1e+300"}},
		{"float64 into real", record.Field{Type: record.Float64}, "real", "", []cell{f64(1.5), f64(1e39)},
			[]string{"1.5", "refused: value 1e+39 out of range for column v of type real"}},
		{"bool into boolean", record.Field{Type: record.Bool}, "boolean", "", []cell{boolean(true), boolean(false)}, []string{"true", "false"}},

		{"json into json", record.Field{Type: record.JSON}, "json", "", []cell{raw([]byte(`{"b": 1, "a": [1,2]}`)), raw([]byte(`"é"`))}, []string{`{"b": 1, "a": [1,2]}`, `"é"`}},
		{"json into jsonb", record.Field{Type: record.JSON}, "jsonb", "", []cell{raw([]byte(`{"b": 1, "a": [1,2]}`)), raw([]byte(`null`)), raw([]byte(`"\u0000"`))},
			[]string{`{"a": [1, 2], "b": 1}`, "null", "refused: unsupported Unicode escape sequence"}},
		{"json into text", record.Field{Type: record.JSON}, "text", "", []cell{raw([]byte(`[1, 2]`))}, []string{"[1, 2]"}},
		{"string into jsonb", record.Field{Type: record.String}, "jsonb", "", []cell{str(`{"k": true}`)}, []string{`{"k": true}`}},
		{"string into json", record.Field{Type: record.String}, "json", "", []cell{str(`[ 1 ]`)}, []string{`[ 1 ]`}},

		{"bytes into bytea", record.Field{Type: record.Bytes}, "bytea", "", []cell{raw([]byte{0, 0xff, 'a'}), raw(nil)}, []string{`\x00ff61`, `\x`}},
		{"string into bytea", record.Field{Type: record.String}, "bytea", "", []cell{str("hi")}, []string{`\x6869`}},

		{"string into text", record.Field{Type: record.String}, "text", "", []cell{str("héllo"), str("")}, []string{"héllo", ""}},
		{"string into varchar(5)", record.Field{Type: record.String}, "varchar(5)", "", []cell{str("héllo"), str("too long")},
			[]string{"héllo", "refused: value too long for type character varying(5)"}},
		{"string into char(5)", record.Field{Type: record.String}, "char(5)", "", []cell{str("ab")}, []string{"ab"}}, // v::text drops the padding
		{"string into citext", record.Field{Type: record.String}, "citext", "", []cell{str("MiXeD")}, []string{"MiXeD"}},
	}
	ctx := ctxT(t)
	conn := connectT(t, dsn)
	if _, err := conn.Exec(ctx, "SET TIME ZONE 'UTC'"); err != nil {
		t.Fatal(err)
	}
	for n, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			table := fmt.Sprintf("types_%d", n)
			createTable(t, dsn, fmt.Sprintf("CREATE TABLE %s (k int, v %s)", table, c.column))
			c.field.Name = "v"
			fields := []record.Field{{Name: "k", Type: record.Int64}, c.field}
			b := record.NewBatch(record.Schema{Fields: fields})
			for i, add := range c.cells {
				b.StartRow(record.Origin{Source: table, Line: int64(i + 1)}, []byte(fmt.Sprint(i)))
				b.AppendInt64(int64(i))
				add(b)
			}
			cfg := fmt.Sprintf("dsn: %q\ntable: %s", dsn, table)
			if c.zone != "" {
				cfg += "\ntimestamp_zone: " + c.zone
			}
			s := New()
			if err := s.Configure(ctx, plugin.Config{Pipeline: table, Raw: []byte(cfg)}, record.Schema{Fields: fields}); err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx)
			if err := s.Write(ctx, plugin.WriteRequest{BatchID: 1, Batch: b, Positions: []record.Position{{Partition: table, Offset: 1}}}); err != nil {
				t.Fatalf("Write: %v", err)
			}
			got := make([]string, len(c.cells))
			rows, err := conn.Query(ctx, fmt.Sprintf("SELECT k, coalesce(v::text, 'NULL') FROM %s", table))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k int
				var v string
				if err := rows.Scan(&k, &v); err != nil {
					t.Fatal(err)
				}
				got[k] = v
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rej, err := conn.Query(ctx, `SELECT line, error_type, reason FROM corrupt_records WHERE pipeline = $1`, table)
			if err != nil {
				t.Fatal(err)
			}
			for rej.Next() {
				var line int
				var errType, reason string
				if err := rej.Scan(&line, &errType, &reason); err != nil {
					t.Fatal(err)
				}
				if errType != ErrorTypeDBRejected {
					t.Errorf("row %d refused as %s, want %s", line-1, errType, ErrorTypeDBRejected)
				}
				got[line-1] = "refused: " + reason
			}
			if err := rej.Err(); err != nil {
				t.Fatal(err)
			}
			for i := range c.want {
				// The database's reasons go on with their SQLSTATE.
				if got[i] != c.want[i] && !(strings.HasPrefix(c.want[i], "refused: ") && strings.HasPrefix(got[i], c.want[i])) {
					t.Errorf("row %d: %q, want %q", i, got[i], c.want[i])
				}
			}
		})
	}
}

// TestMismatchNamesBothTypesAndWhatTheColumnTakes checks the message of a
// field that a column cannot take, without a database.
func TestMismatchNamesBothTypesAndWhatTheColumnTakes(t *testing.T) {
	cases := []struct {
		typ     record.Type
		oid     uint32
		pgType  string
		typName string
		want    string
	}{
		{record.Int64, oidUUID, "uuid", "uuid", `field "x" is int64 but column "y" of t is uuid, which the sink cannot write it into (it takes string or uuid)`},
		{record.UUID, oidInt4, "integer", "int4", `field "x" is uuid but column "y" of t is integer, which the sink cannot write it into (it takes int64, int16 or int32)`},
		{record.Bytes, oidText, "text", "text", `(it takes string, int64, float64, bool, timestamp, decimal, int16, int32, date, uuid or json)`},
		{record.Bool, oidInt8, "bigint", "int8", `(it takes int64, decimal of scale 0, int16 or int32)`},
		{record.String, 99999, "citext", "citext", ""}, // text's, known by name
		{record.JSON, 600, "point", "point", `is point, which the sink cannot write it into (it takes no field type)`},
	}
	for _, c := range cases {
		t.Run(c.typ.String()+" into "+c.pgType, func(t *testing.T) {
			cols := map[string]pgColumn{"y": {name: "y", baseType: c.oid, typ: c.pgType, typeName: c.typName}}
			_, err := planColumns([]field{{name: "x", column: "y", typ: c.typ, mapped: true}}, "t", cols)
			if c.want == "" {
				if err != nil {
					t.Fatalf("planColumns: %v", err)
				}
				return
			}
			es := plugin.AsConfigErrors(err)
			if len(es) != 1 || es[0].Path != "columns.x" || !strings.Contains(es[0].Message, c.want) {
				t.Errorf("mistakes %v, want one at columns.x containing %q", es, c.want)
			}
		})
	}
}

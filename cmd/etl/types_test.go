package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// typesPipeline loads a CSV of sessions into uuid, date, jsonb, smallint
// and timestamp (without time zone, as Paris wall-clock time) columns.
const typesPipeline = `version: 1
name: types
source:
  plugin: csvdir
  config:
    path: "${TYPES_DIR}"
    pattern: "*.csv"
    header: true
    columns: [id, session, day, attrs, qty, seen_at]
transforms:
  - name: clean
    plugin: cleanser
    config:
      fields:
        - {name: id, type: int64, required: true}
        - {name: session, type: uuid, required: true}
        - {name: day, type: date, formats: ["2006-01-02", "02/01/2006"]}
        - {name: attrs, type: json, null_values: [""]}
        - {name: qty, type: int16}
        - {name: seen_at, type: timestamp, formats: [rfc3339, "2006-01-02 15:04:05"], time_zone: Europe/Paris}
      rules:
        - {name: qty_not_negative, expr: "qty == nil || qty >= 0"}
        - {name: this_century, expr: "day == nil || day >= date('2000-01-01')"}
sink:
  plugin: postgres
  config:
    dsn: "${DATABASE_URL}"
    table: sessions
    timestamp_zone: Europe/Paris
`

const typesSample = `id,session,day,attrs,qty,seen_at
1,123e4567-e89b-12d3-a456-426614174000,2024-02-29,"{""plan"": ""pro"", ""seats"": [1, 2]}",3,2024-01-15T12:30:00Z
2,FFFFFFFF0000000000000000000000AB,31/12/2023,[],32767,2024-07-15 14:30:00.5
3,00000000-0000-4000-8000-000000000003,,null,,2024-03-31T01:30:00+01:00
4,{123e4567-e89b-12d3-a456-426614174000},2024-01-01,{},1,2024-01-01T00:00:00Z
5,123e4567-e89b-12d3-a456-426614174005,2024-13-01,{},1,2024-01-01T00:00:00Z
6,123e4567-e89b-12d3-a456-426614174006,2024-01-01,{oops},1,2024-01-01T00:00:00Z
7,123e4567-e89b-12d3-a456-426614174007,2024-01-01,{},32768,2024-01-01T00:00:00Z
8,123e4567-e89b-12d3-a456-426614174008,2024-01-01,{},-1,2024-01-01T00:00:00Z
9,123e4567-e89b-12d3-a456-426614174009,1999-12-31,{},1,2024-01-01T00:00:00Z
`

// A pipeline writing uuid, date, jsonb, smallint and timestamp columns
// loads a sample exactly, through the real etl run path: each field of
// each row is read back and compared, and each refused row has its
// error type.
func TestTypesPipelineLoadsUUIDDateJSONBSmallintAndTimestamp(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE sessions (id bigint PRIMARY KEY, session uuid NOT NULL, day date,
		attrs jsonb, qty smallint, seen_at timestamp without time zone)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inbox := filepath.Join(dir, "in")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inbox, "sessions.csv"), []byte(typesSample), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "types.yaml")
	if err := os.WriteFile(cfg, []byte(typesPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("TYPES_DIR", inbox)
	var out, errb bytes.Buffer
	if code := run([]string{"run", cfg, "--once", "--metrics-addr", "", "--log-format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("etl run exited %d:\n%s", code, errb.String())
	}

	type row struct {
		session string
		day     *time.Time
		attrs   *string
		qty     *int16
		seenAt  time.Time
	}
	date := func(y int, m time.Month, d int) *time.Time {
		t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return &t
	}
	json := func(s string) *string { return &s }
	qty := func(n int16) *int16 { return &n }
	want := map[int64]row{
		// 12:30 UTC is 13:30 in Paris in winter, 14:30 in summer; a time
		// read without a zone is Paris time, written as it is.
		1: {"123e4567-e89b-12d3-a456-426614174000", date(2024, 2, 29), json(`{"plan": "pro", "seats": [1, 2]}`), qty(3), time.Date(2024, 1, 15, 13, 30, 0, 0, time.UTC)},
		2: {"ffffffff-0000-0000-0000-0000000000ab", date(2023, 12, 31), json(`[]`), qty(32767), time.Date(2024, 7, 15, 14, 30, 0, 500000000, time.UTC)},
		// 01:30+01:00 is 00:30 UTC, 01:30 in Paris, half an hour before
		// the clocks go forward; with null_values [""] the JSON null is a
		// value, not SQL NULL.
		3: {"00000000-0000-4000-8000-000000000003", nil, json("null"), nil, time.Date(2024, 3, 31, 1, 30, 0, 0, time.UTC)},
	}
	rows, err := conn.Query(ctx, `SELECT id, session::text, day, attrs::text, qty, seen_at FROM sessions ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]row{}
	for rows.Next() {
		var id int64
		var r row
		if err := rows.Scan(&id, &r.session, &r.day, &r.attrs, &r.qty, &r.seenAt); err != nil {
			t.Fatal(err)
		}
		got[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d rows loaded, want %d", len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("row %d not loaded", id)
			continue
		}
		if g.session != w.session {
			t.Errorf("row %d session = %s, want %s", id, g.session, w.session)
		}
		if (g.day == nil) != (w.day == nil) || g.day != nil && !g.day.Equal(*w.day) {
			t.Errorf("row %d day = %v, want %v", id, show(g.day), show(w.day))
		}
		if (g.attrs == nil) != (w.attrs == nil) || g.attrs != nil && *g.attrs != *w.attrs {
			t.Errorf("row %d attrs = %v, want %v", id, show(g.attrs), show(w.attrs))
		}
		if (g.qty == nil) != (w.qty == nil) || g.qty != nil && *g.qty != *w.qty {
			t.Errorf("row %d qty = %v, want %v", id, show(g.qty), show(w.qty))
		}
		if !g.seenAt.Equal(w.seenAt) {
			t.Errorf("row %d seen_at = %v, want %v", id, g.seenAt, w.seenAt)
		}
	}

	wantRejects := map[int64]string{4: "INVALID_UUID", 5: "INVALID_DATE", 6: "INVALID_JSON", 7: "INVALID_NUMBER", 8: "RULE_VIOLATION", 9: "RULE_VIOLATION"}
	rej, err := conn.Query(ctx, `SELECT line, error_type FROM corrupt_records ORDER BY line`)
	if err != nil {
		t.Fatal(err)
	}
	gotRejects := map[int64]string{}
	for rej.Next() {
		var line int64
		var errType string
		if err := rej.Scan(&line, &errType); err != nil {
			t.Fatal(err)
		}
		gotRejects[line-1] = errType // line 1 is the header
	}
	if err := rej.Err(); err != nil {
		t.Fatal(err)
	}
	if len(gotRejects) != len(wantRejects) {
		t.Errorf("rejects %v, want %v", gotRejects, wantRejects)
	}
	for id, w := range wantRejects {
		if gotRejects[id] != w {
			t.Errorf("row %d refused as %q, want %s", id, gotRejects[id], w)
		}
	}
}

// show formats a pointer's value, or NULL.
func show[T any](p *T) any {
	if p == nil {
		return "NULL"
	}
	return *p
}

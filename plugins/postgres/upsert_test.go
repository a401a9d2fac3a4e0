package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// latestSQL is a table of the latest event per (user_id, product_id).
const latestSQL = `CREATE TABLE latest (
	user_id bigint, action varchar(50), product_id bigint, product_name varchar(100),
	price numeric(12,2) CONSTRAINT latest_price_check CHECK (price >= 0), event_time timestamptz, session_id varchar(50),
	PRIMARY KEY (user_id, product_id))`

// ev is a row of the upsert tests: user, product, seconds after baseTime,
// price in cents and action.
type ev struct {
	user, product, sec, cents int64
	action                    string
}

func (e ev) event() event {
	s := fmt.Sprintf("s%d", e.user)
	action := e.action
	if action == "" {
		action = "VIEW"
	}
	return event{userID: e.user, action: action, productID: e.product, name: "p", price: e.cents,
		at: baseTime.Add(time.Duration(e.sec) * time.Second), session: &s}
}

// upsertRequest is batch id of rows evs from partition part.
func upsertRequest(id int64, part string, evs ...ev) plugin.WriteRequest {
	b := record.NewBatch(eventsSchema)
	for i, e := range evs {
		appendEvent(b, e.event(), part, int64(i+1))
	}
	return plugin.WriteRequest{BatchID: id, Batch: b, Positions: []record.Position{{Partition: part, Offset: int64(len(evs)) + id*1000}}}
}

// newUpsertSink configures a sink writing into table latest with the
// YAML lines extra.
func newUpsertSink(t testing.TB, dsn, extra string) (*Sink, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s := New()
	s.log = newTestLogger(logs)
	raw := fmt.Sprintf("dsn: %q\ntable: latest\nretry: {max_time: 20s, initial_backoff: 50ms, max_backoff: 500ms}\n%s", dsn, extra)
	if err := s.Configure(context.Background(), plugin.Config{Pipeline: "test", Name: "sink", Raw: []byte(raw)}, eventsSchema); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, logs
}

// readLatest returns table latest as "user/product action sec cents"
// lines, ordered by key.
func readLatest(t testing.TB, dsn string) []string {
	t.Helper()
	conn := connectT(t, dsn)
	rows, err := conn.Query(context.Background(), `SELECT user_id, product_id, action, event_time, coalesce(price::text, 'NULL') FROM latest ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u, p int64
		var a, price string
		var at time.Time
		if err := rows.Scan(&u, &p, &a, &at, &price); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d/%d %s %d %s", u, p, a, int64(at.Sub(baseTime)/time.Second), price))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUpsertAndMergeRules(t *testing.T) {
	batch1 := []ev{
		{1, 1, 10, 100, "VIEW"}, {1, 1, 30, 300, "ADD_TO_CART"}, {1, 1, 20, 200, "PURCHASE"}, // one key three times
		{2, 1, 5, 50, "VIEW"},
		{1, 2, 7, 70, "VIEW"}, {1, 2, 7, 71, "PURCHASE"}, // a tie on event_time
	}
	batch2 := []ev{
		{1, 1, 15, 150, "REMOVE_FROM_CART"}, // older than the stored 30 (or 20)
		{2, 1, 9, 90, "PURCHASE"},           // newer than the stored 5
		{3, 3, 1, 10, "VIEW"},
	}
	cases := []struct {
		name   string
		config string
		want   []string
		// rejects are the reasons of the rejects, in order.
		rejects []string
	}{
		{"upsert: the last row by source order wins", "mode: upsert\nkey: [user_id, product_id]",
			[]string{"1/1 REMOVE_FROM_CART 15 1.50", "1/2 PURCHASE 7 0.71", "2/1 PURCHASE 9 0.90", "3/3 VIEW 1 0.10"}, nil},
		{"upsert newer_by event_time: the greater event_time wins, a tie the later row", "mode: upsert\nkey: [user_id, product_id]\nnewer_by: event_time",
			[]string{"1/1 ADD_TO_CART 30 3.00", "1/2 PURCHASE 7 0.71", "2/1 PURCHASE 9 0.90", "3/3 VIEW 1 0.10"}, nil},
		{"merge keep_first action, keep_greater event_time, last row otherwise", "mode: merge\nkey: [user_id, product_id]\nkeep_first: [action]\nkeep_greater: [event_time]",
			[]string{"1/1 VIEW 30 1.50", "1/2 VIEW 7 0.71", "2/1 VIEW 9 0.90", "3/3 VIEW 1 0.10"}, nil},
		{"merge ignore: the first row of a key wins", "mode: merge\nkey: [user_id, product_id]\non_conflict: ignore",
			[]string{"1/1 VIEW 10 1.00", "1/2 VIEW 7 0.70", "2/1 VIEW 5 0.50", "3/3 VIEW 1 0.10"}, nil},
		{"merge error: a repeated key is rejected, in the batch and in the table", "mode: merge\nkey: [user_id, product_id]\non_conflict: error",
			[]string{"1/1 VIEW 10 1.00", "1/2 VIEW 7 0.70", "2/1 VIEW 5 0.50", "3/3 VIEW 1 0.10"},
			[]string{"duplicate key (user_id, product_id): an earlier row of its batch (b1.csv:1) has the same key, and on_conflict is error",
				"duplicate key (user_id, product_id): an earlier row of its batch (b1.csv:1) has the same key, and on_conflict is error",
				"duplicate key (user_id, product_id): an earlier row of its batch (b1.csv:5) has the same key, and on_conflict is error",
				`duplicate key value violates unique constraint "latest_pkey" (SQLSTATE 23505): Key (user_id, product_id)=(1, 1) already exists.`,
				`duplicate key value violates unique constraint "latest_pkey" (SQLSTATE 23505): Key (user_id, product_id)=(2, 1) already exists.`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			pgtest.ApplySetup(t, dsn)
			execT(t, dsn, latestSQL)
			ctx := ctxT(t)
			s, _ := newUpsertSink(t, dsn, c.config)
			for _, req := range []plugin.WriteRequest{upsertRequest(1, "b1.csv", batch1...), upsertRequest(2, "b2.csv", batch2...)} {
				if err := s.Write(ctx, req); err != nil {
					t.Fatalf("Write batch %d: %v", req.BatchID, err)
				}
			}
			if got := readLatest(t, dsn); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("latest holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			got := queryStrings(t, dsn, `SELECT reason FROM corrupt_records WHERE error_type = 'DB_REJECTED' ORDER BY batch_id, line, source`)
			if strings.Join(got, "\n") != strings.Join(c.rejects, "\n") {
				t.Errorf("rejects\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.rejects, "\n"))
			}
		})
	}
}

func TestUpsertReplayedBatchIsANoOp(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	execT(t, dsn, latestSQL)
	ctx := ctxT(t)
	s, logs := newUpsertSink(t, dsn, "mode: upsert\nkey: [user_id, product_id]")
	req1 := upsertRequest(1, "a.csv", ev{1, 1, 10, 100, "VIEW"})
	req2 := upsertRequest(2, "a.csv", ev{1, 1, 20, 200, "PURCHASE"})
	for _, req := range []plugin.WriteRequest{req1, req2, req1, req2} {
		if err := s.Write(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	// After a restart too.
	s2, _ := newUpsertSink(t, dsn, "mode: upsert\nkey: [user_id, product_id]")
	if err := s2.Write(ctx, req1); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(readLatest(t, dsn), "\n"), "1/1 PURCHASE 20 2.00"; got != want {
		t.Errorf("latest holds %q, want %q (a replay of batch 1 must not write its older row)", got, want)
	}
	if n := strings.Count(logs.String(), "batch already committed, skipped"); n != 2 {
		t.Errorf("%d replays logged as skipped, want 2", n)
	}
}

func TestUpsertNullKeyIsMissingKey(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	execT(t, dsn, `CREATE TABLE latest (user_id bigint, action text, product_id bigint, product_name text, price numeric(12,2),
		event_time timestamptz, session_id text, UNIQUE (user_id, session_id))`)
	ctx := ctxT(t)
	s, _ := newUpsertSink(t, dsn, "mode: upsert\nkey: [user_id, session_id]")
	req := genRequest(1, 0, 10, "a.csv") // rows 0 and 7 have no session_id
	if err := s.Write(ctx, req); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM latest`); n != 8 {
		t.Errorf("latest holds %d rows, want 8", n)
	}
	got := queryStrings(t, dsn, `SELECT line || ' ' || error_type || ' ' || reason || ' | ' || corrupt_record FROM corrupt_records ORDER BY line`)
	want := []string{
		"1 MISSING_KEY key column session_id is NULL; the key (user_id, session_id) identifies the row (mode upsert) | " + genEvent(0).csvLine(),
		"8 MISSING_KEY key column session_id is NULL; the key (user_id, session_id) identifies the row (mode upsert) | " + genEvent(7).csvLine(),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rejects\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUpsertRowTheDatabaseRefusesGoesToRejects(t *testing.T) {
	for _, mode := range []string{"line hints", "halving"} {
		t.Run(mode, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			pgtest.ApplySetup(t, dsn)
			execT(t, dsn, latestSQL+`; ALTER TABLE latest ADD CONSTRAINT latest_price_under_5 CHECK (price < 5)`)
			ctx := ctxT(t)
			s, _ := newUpsertSink(t, dsn, "mode: upsert\nkey: [user_id, product_id]")
			s.noLineHints = mode == "halving"
			long := ev{4, 4, 1, 1, strings.Repeat("A", 51)} // varchar(50): refused by the COPY into the staging table
			req := upsertRequest(1, "a.csv", ev{1, 1, 1, 100, ""}, ev{2, 2, 1, 900, ""}, ev{3, 3, 1, 200, ""}, long, ev{2, 2, 2, 300, ""}, ev{5, 5, 1, 700, ""})
			if err := s.Write(ctx, req); err != nil {
				t.Fatal(err)
			}
			want := []string{"1/1 VIEW 1 1.00", "2/2 VIEW 2 3.00", "3/3 VIEW 1 2.00"}
			if got := readLatest(t, dsn); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("latest holds %v, want %v", got, want)
			}
			got := queryStrings(t, dsn, `SELECT line || ' ' || error_type || ' ' || reason FROM corrupt_records ORDER BY line`)
			if len(got) != 2 || !strings.HasPrefix(got[0], "4 DB_REJECTED value too long for type character varying(50)") ||
				!strings.HasPrefix(got[1], `6 DB_REJECTED new row for relation "latest" violates check constraint "latest_price_under_5"`) {
				t.Errorf("rejects %q, want line 4 (too long) and line 6 (the check constraint) with the database's messages", got)
			}
		})
	}
}

func TestCreateTableOnAnEmptyDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := ctxT(t)
	extra := "mode: upsert\nkey: [user_id, product_id]\ncreate_table: true"
	// validate says what a run would do, and changes nothing.
	c, _ := newUpsertSink(t, dsn, extra)
	res, err := c.Check(ctx)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, n := range []string{`table "latest" does not exist; a run creates it (create_table: true)`, `table "corrupt_records" does not exist; a run creates it (create_table: true)`} {
		if !strings.Contains(notes, n) {
			t.Errorf("Check notes %q, want %q", notes, n)
		}
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM pg_tables WHERE tablename IN ('latest', 'corrupt_records')`); n != 0 {
		t.Fatalf("Check created %d tables", n)
	}

	s, logs := newUpsertSink(t, dsn, extra)
	if err := s.Write(ctx, upsertRequest(1, "a.csv", ev{1, 1, 1, 100, ""}, ev{1, 1, 2, 200, ""})); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(readLatest(t, dsn), "\n"), "1/1 VIEW 2 2.00"; got != want {
		t.Errorf("latest holds %q, want %q", got, want)
	}
	got := queryStrings(t, dsn, `SELECT column_name || ' ' || data_type || ' ' || coalesce(numeric_scale::text, '') FROM information_schema.columns WHERE table_name = 'latest' ORDER BY ordinal_position`)
	want := []string{"user_id bigint 0", "action text ", "product_id bigint 0", "product_name text ", "price numeric 2", "event_time timestamp with time zone ", "session_id text "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("columns %q, want %q", got, want)
	}
	if pk := queryStrings(t, dsn, `SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = 'latest'::regclass AND i.indisprimary ORDER BY 1`); strings.Join(pk, ",") != "product_id,user_id" {
		t.Errorf("primary key %v, want (user_id, product_id)", pk)
	}
	if !strings.Contains(logs.String(), "created the table from the pipeline's schema") || !strings.Contains(logs.String(), "created the rejects table") {
		t.Errorf("the creations are not logged:\n%s", logs)
	}
	// The rejects table works.
	if err := s.Write(ctx, plugin.WriteRequest{BatchID: 2, Rejects: []record.Reject{{Raw: "x", ErrorType: "CSV_PARSE_ERROR", Reason: "r"}}}); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM corrupt_records WHERE corrupt_record = 'x'`); n != 1 {
		t.Errorf("corrupt_records holds %d rows x, want 1", n)
	}
}

func TestEvolveAddsTheColumnsThePipelineGained(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	// The table of an earlier version of the pipeline, without price and session_id.
	execT(t, dsn, `CREATE TABLE latest (user_id bigint, action text, product_id bigint, product_name text, event_time timestamptz, PRIMARY KEY (user_id, product_id));
		INSERT INTO latest VALUES (9, 'VIEW', 9, 'old', '2024-01-01Z')`)
	ctx := ctxT(t)
	extra := "mode: upsert\nkey: [user_id, product_id]\nevolve: add_columns"
	c, _ := newUpsertSink(t, dsn, extra)
	res, err := c.Check(ctx)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, n := range []string{`table "latest" has no column "price"; a run adds it as numeric(38,2) (evolve: add_columns)`, `table "latest" has no column "session_id"; a run adds it as text (evolve: add_columns)`} {
		if !strings.Contains(notes, n) {
			t.Errorf("Check notes %q, want %q", notes, n)
		}
	}
	// Without evolve, the same table is a mistake.
	plain, _ := newUpsertSink(t, dsn, "mode: upsert\nkey: [user_id, product_id]")
	if _, err := plain.Check(ctx); err == nil || !strings.Contains(err.Error(), "no column for the input fields price, session_id") {
		t.Errorf("Check without evolve: %v, want the missing columns named", err)
	}

	s, logs := newUpsertSink(t, dsn, extra)
	if err := s.Write(ctx, upsertRequest(1, "a.csv", ev{1, 1, 1, 100, ""})); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(readLatest(t, dsn), "\n"), "1/1 VIEW 1 1.00\n9/9 VIEW 0 NULL"; got != want {
		t.Errorf("latest holds %q, want %q", got, want)
	}
	for _, col := range []string{"price", "session_id"} {
		if !strings.Contains(logs.String(), "added a column the pipeline gained (evolve: add_columns)") || !strings.Contains(logs.String(), "column="+col) {
			t.Errorf("adding %s is not logged at INFO:\n%s", col, logs)
		}
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'latest' AND is_nullable = 'YES' AND column_name IN ('price', 'session_id')`); n != 2 {
		t.Errorf("%d nullable added columns, want 2", n)
	}
}

func TestUpsertConfigMistakes(t *testing.T) {
	cases := []struct {
		extra string
		want  []string // path: message prefix
	}{
		{"key: [user_id]", []string{"key: only with mode: upsert or merge"}},
		{"mode: upsert", []string{"key: required with mode: upsert"}},
		{"mode: upsert\nkey: [user_id, product]", []string{`key[1]: no written column "product"`}},
		{"mode: upsert\nkey: [user_id]\non_conflict: ignore", []string{"on_conflict: only with mode: merge"}},
		{"mode: merge\nkey: [user_id]\nkeep_greater: [user_id]", []string{`keep_greater[0]: column "user_id" is in the key`}},
		{"mode: merge\nkey: [user_id]\nnewer_by: price", []string{`newer_by: field "price" is decimal`}},
		{"mode: merge\nkey: [user_id]\non_conflict: ignore\nkeep_first: [action]", []string{"keep_first: only with on_conflict: update"}},
		{"mode: merge\nkey: [user_id]\nkeep_first: [event_time]\nkeep_greater: [event_time, action]", []string{`keep_first[0]: column "event_time" already has the rule keep_greater`, `keep_greater[1]: field "action" is string`}},
		{"mode: insert", []string{"mode:"}},
		{"evolve: everything", []string{"evolve:"}},
	}
	for _, c := range cases {
		t.Run(c.extra, func(t *testing.T) {
			raw := "dsn: postgres://x@127.0.0.1/db\ntable: latest\n" + c.extra
			_, err := parseSettings([]byte(raw), eventsSchema)
			es := plugin.AsConfigErrors(err)
			var got []string
			for _, e := range es {
				got = append(got, e.Path+": "+e.Message)
			}
			for _, w := range c.want {
				found := false
				for _, g := range got {
					found = found || strings.HasPrefix(g, w)
				}
				if !found {
					t.Errorf("mistakes %q, want one starting %q", got, w)
				}
			}
		})
	}
}

func TestUpsertCheckNeedsAUniqueIndexOnTheKey(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	execT(t, dsn, latestSQL)
	c, _ := newUpsertSink(t, dsn, "mode: upsert\nkey: [user_id]")
	_, err := c.Check(ctxT(t))
	es := plugin.AsConfigErrors(err)
	if len(es) != 1 || es[0].Path != "key" || !strings.Contains(es[0].Message, "no primary key or unique index on exactly (user_id)") {
		t.Errorf("Check: %v, want one mistake at key naming the missing unique index", err)
	}
}

// queryStrings returns the one text column sql answers.
func queryStrings(t testing.TB, dsn, sql string) []string {
	t.Helper()
	rows, err := connectT(t, dsn).Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// BenchmarkPostgresAppendVsUpsert writes the same 200,000 e-commerce rows
// (batches of 10,000) through the sink twice, each into a fresh table:
// append (binary COPY into events, with the indexes of
// sql/postgres_setup.sql) and upsert (staging table, then INSERT ... ON
// CONFLICT into latest, primary key (user_id, product_id) and the same
// secondary indexes), and reports the best rows/s of each. Every key is
// new (inserts): run with -benchtime=1x or 2x.
func BenchmarkPostgresAppendVsUpsert(b *testing.B) {
	reqs := make([]plugin.WriteRequest, 0, benchRows/benchBatch)
	for i := 0; i < benchRows/benchBatch; i++ {
		reqs = append(reqs, genRequest(int64(i+1), int64(i*benchBatch), benchBatch, "bench.csv"))
	}
	ctx := context.Background()
	for _, way := range []struct{ name, table, extra string }{
		{"append", "events", ""},
		{"upsert", "latest", "mode: upsert\nkey: [user_id, product_id]"},
		{"upsert newer_by", "latest", "mode: upsert\nkey: [user_id, product_id]\nnewer_by: event_time"},
	} {
		b.Run(way.name, func(b *testing.B) {
			var best time.Duration
			for i := 0; i < b.N; i++ {
				dsn := pgtest.NewDatabase(b)
				pgtest.ApplySetup(b, dsn)
				execT(b, dsn, `CREATE TABLE latest (LIKE events INCLUDING DEFAULTS INCLUDING INDEXES);
					ALTER TABLE latest DROP CONSTRAINT latest_pkey, ADD PRIMARY KEY (user_id, product_id)`)
				s := New()
				s.log = newTestLogger(&logBuffer{})
				raw := fmt.Sprintf("dsn: %q\ntable: %s\ncolumns: {}\n%s", dsn, way.table, way.extra)
				if err := s.Configure(ctx, plugin.Config{Pipeline: "bench", Raw: []byte(raw)}, eventsSchema); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Checkpoint(ctx); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				for _, req := range reqs {
					if err := s.Write(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
				if d := time.Since(start); best == 0 || d < best {
					best = d
				}
				s.Close(ctx)
			}
			b.ReportMetric(float64(benchRows)/best.Seconds(), "rows/s")
		})
	}
}

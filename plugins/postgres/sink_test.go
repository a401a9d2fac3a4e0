package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

func TestPostgresWriteCheckpointAndReplay(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	s, _ := newSink(t, dsn, "")

	cp, err := s.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if cp.BatchID != 0 || len(cp.Positions) != 0 {
		t.Fatalf("Checkpoint of a new pipeline = %+v, want nothing", cp)
	}

	req1 := genRequest(1, 0, 1000, "a.csv")
	req2 := genRequest(2, 1000, 500, "a.csv")
	req2.Rejects = []record.Reject{{Origin: record.Origin{Source: "b.csv", Line: 2}, Raw: `1,"unterminated`, ErrorType: "CSV_PARSE_ERROR", Reason: "unterminated quote"}}
	req2.Positions = append(req2.Positions, record.Position{Partition: "b.csv", Offset: 40, Done: true})
	for _, req := range []plugin.WriteRequest{req1, req2} {
		if err := s.Write(ctx, req); err != nil {
			t.Fatalf("Write batch %d: %v", req.BatchID, err)
		}
	}
	// Replays of committed batches change nothing.
	for _, req := range []plugin.WriteRequest{req2, req1} {
		if err := s.Write(ctx, req); err != nil {
			t.Fatalf("replay of batch %d: %v", req.BatchID, err)
		}
	}
	checkEvents(t, dsn, wantEvents(0, 1500))
	if n := queryInt(t, dsn, `SELECT count(*) FROM corrupt_records WHERE batch_id = 2 AND error_type = 'CSV_PARSE_ERROR'
		AND source = 'b.csv' AND line = 2 AND reason = 'unterminated quote' AND pipeline = 'test' AND corrupt_record = '1,"unterminated'`); n != 1 {
		t.Errorf("corrupt_records holds %d copies of the reject, want 1", n)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM corrupt_records`); n != 1 {
		t.Errorf("corrupt_records holds %d rows, want 1", n)
	}

	// A new sink (a restart) reads the same checkpoint back.
	s2, _ := newSink(t, dsn, "")
	cp, err = s2.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	want := plugin.Checkpoint{BatchID: 2, Positions: []record.Position{{Partition: "a.csv", Offset: 1500}, {Partition: "b.csv", Offset: 40, Done: true}}}
	if !reflect.DeepEqual(cp, want) {
		t.Errorf("Checkpoint = %+v, want %+v", cp, want)
	}
	// Another pipeline in the same database has its own checkpoint.
	other := New()
	if err := other.Configure(ctx, plugin.Config{Pipeline: "other", Raw: []byte(fmt.Sprintf("dsn: %q\ntable: events", dsn))}, eventsSchema); err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if cp, err := other.Checkpoint(ctx); err != nil || cp.BatchID != 0 || len(cp.Positions) != 0 {
		t.Errorf("Checkpoint of another pipeline = %+v, %v; want nothing", cp, err)
	}
}

func TestPostgresBatchIDIsCheckedPerPartition(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	s, _ := newSink(t, dsn, "")
	// Two writers own a.csv and b.csv; b's writer commits batch 5 before
	// a's writer commits batch 4, which must not be taken for a replay.
	if err := s.Write(ctx, genRequest(5, 100, 10, "b.csv")); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, genRequest(4, 0, 10, "a.csv")); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, genRequest(4, 0, 10, "a.csv")); err != nil {
		t.Fatal(err)
	}
	want := append(wantEvents(0, 10), wantEvents(100, 110)...)
	checkEvents(t, dsn, want)
	cp, err := s.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.BatchID != 5 || len(cp.Positions) != 2 {
		t.Errorf("Checkpoint = %+v, want batch 5 and two positions", cp)
	}
}

func TestPostgresRowsTheDatabaseRefusesGoToRejects(t *testing.T) {
	for _, mode := range []string{"line hints", "halving"} {
		t.Run(mode, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			pgtest.ApplySetup(t, dsn)
			ctx := ctxT(t)
			s, _ := newSink(t, dsn, "")
			s.noLineHints = mode == "halving"

			type bad struct {
				k      int64
				mutate func(*event)
				reason string
			}
			long := strings.Repeat("s", 51)
			bads := []bad{
				{3, func(e *event) { e.action = "CLICK" }, `violates check constraint "events_action_check"`},
				{4, func(e *event) { e.price = -100 }, `violates check constraint "events_price_check"`},
				{50, func(e *event) { e.price = 1_000_000_000_000 }, "numeric field overflow"},
				{51, func(e *event) { e.session = &long }, "value too long for type character varying(50)"},
				{52, func(e *event) { e.name = "nul \x00 inside" }, "invalid byte sequence"},
				{199, func(e *event) { e.name = "bad \xff utf8" }, "invalid byte sequence"},
			}
			req := plugin.WriteRequest{BatchID: 1, Batch: record.NewBatch(eventsSchema),
				Positions: []record.Position{{Partition: "x.csv", Offset: 200}}}
			var want []string
			badAt := map[int64]bad{}
			for _, b := range bads {
				badAt[b.k] = b
			}
			for k := int64(0); k < 200; k++ {
				e := genEvent(k)
				if b, ok := badAt[k]; ok {
					b.mutate(&e)
				} else {
					want = append(want, e.String())
				}
				appendEvent(req.Batch, e, "x.csv", k+1)
			}
			// A timestamp before PostgreSQL's range (4713 BC), in the cell's
			// own encoding.
			req.Batch.StartRow(record.Origin{Source: "x.csv", Line: 201}, []byte("far future"))
			req.Batch.AppendInt64(1)
			req.Batch.AppendString("VIEW")
			req.Batch.AppendInt64(1)
			req.Batch.AppendString("p")
			req.Batch.AppendDecimal(100)
			req.Batch.AppendInt64(-300_000_000_000_000_000)
			req.Batch.AppendNull()

			if err := s.Write(ctx, req); err != nil {
				t.Fatalf("Write: %v", err)
			}
			checkEvents(t, dsn, want)

			conn := connectT(t, dsn)
			rows, err := conn.Query(ctx, `SELECT line, corrupt_record, error_type, reason, source, batch_id, pipeline FROM corrupt_records ORDER BY line`)
			if err != nil {
				t.Fatal(err)
			}
			got := map[int64]string{}
			for rows.Next() {
				var line, batch int64
				var raw, typ, reason, source, pipeline string
				if err := rows.Scan(&line, &raw, &typ, &reason, &source, &batch, &pipeline); err != nil {
					t.Fatal(err)
				}
				if typ != ErrorTypeDBRejected || source != "x.csv" || batch != 1 || pipeline != "test" {
					t.Errorf("reject of line %d: type %s, source %s, batch %d, pipeline %s", line, typ, source, batch, pipeline)
				}
				if raw == "" {
					t.Errorf("reject of line %d lost its raw text", line)
				}
				got[line] = reason
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			bads = append(bads, bad{k: 200, reason: "timestamp out of range"})
			for _, b := range bads {
				reason, ok := got[b.k+1]
				if !ok {
					t.Errorf("line %d is not in corrupt_records", b.k+1)
					continue
				}
				if !strings.Contains(reason, b.reason) {
					t.Errorf("reason of line %d = %q, want the database's message %q", b.k+1, reason, b.reason)
				}
			}
			if len(got) != len(bads) {
				t.Errorf("corrupt_records holds %d rows, want %d: %v", len(got), len(bads), got)
			}
		})
	}
}

func TestPostgresManyRefusedRowsInALargeBatch(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	s, logs := newSink(t, dsn, "")
	req := plugin.WriteRequest{BatchID: 1, Batch: record.NewBatch(eventsSchema),
		Positions: []record.Position{{Partition: "big.csv", Offset: 10000}}}
	var want []string
	for k := int64(0); k < 10000; k++ {
		e := genEvent(k)
		if k%97 == 13 {
			e.action = "BOGUS"
		} else {
			want = append(want, e.String())
		}
		appendEvent(req.Batch, e, "big.csv", k+1)
	}
	if err := s.Write(ctx, req); err != nil {
		t.Fatalf("Write: %v", err)
	}
	checkEvents(t, dsn, want)
	if got, want := queryInt(t, dsn, `SELECT count(*) FROM corrupt_records WHERE error_type = 'DB_REJECTED' AND line % 97 = 14`), int64(10000-len(want)); got != want {
		t.Errorf("corrupt_records holds %d refused rows, want %d", got, want)
	}
	if !strings.Contains(logs.String(), "the database refused rows") {
		t.Errorf("no log line about the refused rows:\n%s", logs)
	}
}

func TestPostgresRejectTextIsEscapedNotDropped(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	s, _ := newSink(t, dsn, "")
	req := plugin.WriteRequest{BatchID: 1, Rejects: []record.Reject{
		{Origin: record.Origin{Source: "f.csv", Line: 7}, Raw: "a\x00b,\xff\\z", ErrorType: "CSV_PARSE_ERROR", Reason: "bad"},
		{Origin: record.Origin{Source: "f.csv", Line: 8}, Raw: "fine \\ text", ErrorType: strings.Repeat("E", 150), Reason: "long type"},
	}, Positions: []record.Position{{Partition: "f.csv", Offset: 99}}}
	if err := s.Write(ctx, req); err != nil {
		t.Fatalf("Write: %v", err)
	}
	conn := connectT(t, dsn)
	var raw, reason, typ string
	if err := conn.QueryRow(ctx, `SELECT corrupt_record, reason FROM corrupt_records WHERE line = 7`).Scan(&raw, &reason); err != nil {
		t.Fatal(err)
	}
	if want := `a\x00b,\xff\\z`; raw != want {
		t.Errorf("corrupt_record = %q, want %q", raw, want)
	}
	if !strings.HasPrefix(reason, "bad [raw text escaped") {
		t.Errorf("reason = %q, want it to say the text is escaped", reason)
	}
	if err := conn.QueryRow(ctx, `SELECT corrupt_record, error_type FROM corrupt_records WHERE line = 8`).Scan(&raw, &typ); err != nil {
		t.Fatal(err)
	}
	if raw != "fine \\ text" || typ != strings.Repeat("E", 100) {
		t.Errorf("line 8: corrupt_record %q, error_type %q (%d characters)", raw, typ, len(typ))
	}
}

func TestPostgresFieldsWithoutColumnsAreConfigErrors(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	in := record.Schema{Fields: append(append([]record.Field(nil), eventsSchema.Fields...),
		record.Field{Name: "referrer", Type: record.String}, record.Field{Name: "score", Type: record.Float64})}
	tests := []struct {
		name  string
		extra string
		want  map[string]string
	}{
		{"unmapped fields", "", map[string]string{"table": "no column for the input fields referrer, score"}},
		{"mapped to a missing column", "columns: {referrer: ref, score: '-'}", map[string]string{"columns.referrer": `no column "ref"`}},
		{"wrong type", "columns: {referrer: '-', score: action}\n", map[string]string{"columns.score": `both go into column "action"`}},
		{"type the column cannot take", "columns: {referrer: '-', score: ingestion_time}\n", map[string]string{"columns.score": `field "score" is float64 but column "ingestion_time"`}},
		{"missing table", "columns: {referrer: '-', score: '-'}\nrejects_table: nope", map[string]string{"rejects_table": "does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			raw := fmt.Sprintf("dsn: %q\ntable: events\n%s", dsn, tt.extra)
			err := s.Configure(ctx, plugin.Config{Pipeline: "p", Raw: []byte(raw)}, in)
			if err == nil {
				_, err = s.Checkpoint(ctx)
			}
			defer s.Close(ctx)
			var es plugin.ConfigErrors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want ConfigErrors", err)
			}
			for path, part := range tt.want {
				found := false
				for _, e := range es {
					found = found || (e.Path == path && strings.Contains(e.Message, part))
				}
				if !found {
					t.Errorf("no error at %s mentioning %q; got %v", path, part, es)
				}
			}
		})
	}
}

func TestPostgresTableNamesAreQuotedAndSetupSQLRuns(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := ctxT(t)
	setup, err := pgtest.SetupFile()
	if err != nil {
		t.Fatal(err)
	}
	// setup_sql creates the tables in the fresh database; the table name
	// is schema-qualified.
	s := New()
	raw := fmt.Sprintf("dsn: %q\ntable: public.events\nrejects_table: public.corrupt_records\nsetup_sql: %q", dsn, setup)
	if err := s.Configure(ctx, plugin.Config{Pipeline: "p", Raw: []byte(raw)}, eventsSchema); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.Write(ctx, genRequest(1, 0, 10, "a.csv")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	checkEvents(t, dsn, wantEvents(0, 10))

	// A name crafted to break out of its quotes is only a name.
	evil := New()
	raw = fmt.Sprintf("dsn: %q\ntable: 'events\"; DROP TABLE corrupt_records; --'", dsn)
	if err := evil.Configure(ctx, plugin.Config{Pipeline: "p", Raw: []byte(raw)}, eventsSchema); err != nil {
		t.Fatal(err)
	}
	defer evil.Close(ctx)
	_, err = evil.Checkpoint(ctx)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Checkpoint with a crafted table name = %v, want a missing table", err)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM pg_tables WHERE tablename = 'corrupt_records'`); n != 1 {
		t.Errorf("corrupt_records is gone")
	}
}

func TestPostgresSetupFileRunsTwice(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	pgtest.ApplySetup(t, dsn)
	conn := connectT(t, dsn)
	var cols string
	if err := conn.QueryRow(context.Background(), `SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_name = 'corrupt_records'`).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	want := "id bigint, corrupt_record text, detected_at timestamp with time zone, batch_id bigint, error_type character varying, source text, line bigint, reason text, pipeline text"
	if cols != want {
		t.Errorf("corrupt_records columns = %s, want %s", cols, want)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM pg_indexes WHERE tablename IN ('events', 'corrupt_records')`); n != 8 {
		t.Errorf("%d indexes, want 8 (2 primary keys and the seed's 6)", n)
	}
}

func TestPostgresConnectionRefusedAtStart(t *testing.T) {
	port := freePort(t)
	s := New()
	logs := &logBuffer{}
	s.log = newTestLogger(logs)
	dsn := fmt.Sprintf("postgres://etl:Secret-pw-42@127.0.0.1:%d/db?sslmode=disable", port)
	raw := fmt.Sprintf("dsn: %q\ntable: events\nretry: {max_time: 1s, initial_backoff: 100ms, max_backoff: 300ms}\nconnect_timeout: 1s", dsn)
	if err := s.Configure(context.Background(), plugin.Config{Pipeline: "p", Raw: []byte(raw)}, eventsSchema); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := s.Checkpoint(ctxT(t))
	took := time.Since(start)
	if err == nil {
		t.Fatal("Checkpoint succeeded against a closed port")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q does not name %s and the refusal", err, addr)
	}
	for _, text := range []string{err.Error(), logs.String()} {
		if strings.Contains(text, "Secret-pw-42") {
			t.Errorf("the password shows in %q", text)
		}
	}
	if n := strings.Count(logs.String(), "failed, retrying"); n < 3 {
		t.Errorf("%d retry log lines, want at least 3:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "addr="+addr) {
		t.Errorf("the retry log lines do not name %s:\n%s", addr, logs)
	}
	if took < 500*time.Millisecond || took > 10*time.Second {
		t.Errorf("gave up after %s, want about retry.max_time (1s)", took)
	}
}

func TestPostgresSetupSQLErrorIsReported(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	bad := filepath.Join(t.TempDir(), "bad.sql")
	if err := os.WriteFile(bad, []byte("CREATE TABLE events (id BIGINT; -- broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New()
	raw := fmt.Sprintf("dsn: %q\ntable: events\nsetup_sql: %q", dsn, bad)
	if err := s.Configure(context.Background(), plugin.Config{Pipeline: "p", Raw: []byte(raw)}, eventsSchema); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	_, err := s.Checkpoint(ctxT(t))
	if err == nil || !strings.Contains(err.Error(), "bad.sql") || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("Checkpoint = %v, want the setup file's syntax error", err)
	}
}

func TestPostgresOtherErrorsFailAtOnce(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	createTable(t, dsn, `CREATE FUNCTION freeze() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events are frozen'; END $$;
		CREATE TRIGGER frozen BEFORE INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION freeze()`)
	ctx := ctxT(t)
	s, logs := newSink(t, dsn, "")
	start := time.Now()
	err := s.Write(ctx, genRequest(1, 0, 100, "a.csv"))
	if err == nil || !strings.Contains(err.Error(), "events are frozen") || !strings.Contains(err.Error(), "batch 1") {
		t.Fatalf("Write = %v, want the server's error naming the batch", err)
	}
	if took := time.Since(start); took > 5*time.Second || strings.Contains(logs.String(), "retrying") {
		t.Errorf("an error that a retry cannot mend was retried (%s):\n%s", took, logs)
	}
	cp, err := s.Checkpoint(ctx)
	if err != nil || cp.BatchID != 0 || len(cp.Positions) != 0 {
		t.Errorf("Checkpoint after a failed batch = %+v, %v; want nothing committed", cp, err)
	}
	if n := queryInt(t, dsn, "SELECT count(*) FROM corrupt_records"); n != 0 {
		t.Errorf("corrupt_records holds %d rows of a failed batch", n)
	}
}

// A batch whose From does not match what is committed for its partitions
// is refused, nothing of it written: another process wrote the partition
// since this one was given it (a zombie's late batch after its group
// session expired). A batch id at or below the committed one is still a
// replay, skipped before the fence; an empty From is not checked.
func TestPostgresFencesABatchThatDoesNotStartAtTheCommittedPosition(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	s, _ := newSink(t, dsn, "")
	// events/0 committed up to 110 by batch 7.
	first := genRequest(7, 100, 10, "events/0")
	first.From = []record.Position{{Partition: "events/0", Offset: plugin.NothingCommitted}}
	if err := s.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	from := func(part string, off int64) []record.Position {
		return []record.Position{{Partition: part, Offset: off}}
	}
	tests := []struct {
		name    string
		req     plugin.WriteRequest
		from    []record.Position
		fenced  bool
		written bool
	}{
		{"starts where committed", genRequest(8, 110, 5, "events/0"), from("events/0", 110), false, true},
		{"starts before the committed offset", genRequest(20, 112, 5, "events/0"), from("events/0", 112), true, false},
		{"thinks nothing committed", genRequest(21, 100, 5, "events/0"), from("events/0", plugin.NothingCommitted), true, false},
		{"a replay, its From stale", genRequest(8, 110, 5, "events/0"), from("events/0", 110), false, false},
		{"a new partition", genRequest(22, 500, 5, "events/1"), from("events/1", plugin.NothingCommitted), false, true},
		{"a partition nothing committed, From says otherwise", genRequest(23, 600, 5, "events/2"), from("events/2", 600), true, false},
		{"no From: not checked", genRequest(24, 115, 5, "events/0"), nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := queryInt(t, dsn, "SELECT count(*) FROM events")
			tt.req.From = tt.from
			err := s.Write(ctx, tt.req)
			if tt.fenced != errors.Is(err, errFenced) {
				t.Fatalf("Write: %v; fenced: want %v", err, tt.fenced)
			}
			if tt.fenced && !strings.Contains(err.Error(), "another process has written the partition") && !strings.Contains(err.Error(), "has nothing committed") {
				t.Errorf("error %q does not say why", err)
			}
			if !tt.fenced && err != nil {
				t.Fatal(err)
			}
			after := queryInt(t, dsn, "SELECT count(*) FROM events")
			if got := after > before; got != tt.written {
				t.Errorf("rows written: %v (%d -> %d), want %v", got, before, after, tt.written)
			}
		})
	}
	cp, err := s.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.BatchID != 24 || len(cp.Positions) != 2 {
		t.Errorf("Checkpoint = %+v, want batch 24 and partitions events/0 and events/1", cp)
	}
}

// Checkpoint readies the statements of a batch, so that the first batch
// does not wait for the server to parse and plan them: they are prepared
// on the sink's connection, and nothing is written or left open.
func TestPostgresCheckpointPreparesTheBatchStatements(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	s, _ := newSink(t, dsn, "")
	if _, err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.conn.PgConn().TxStatus(); st != 'I' {
		t.Fatalf("after Checkpoint the connection is in transaction state %q, want idle", st)
	}
	prepared := map[string]bool{}
	rows, err := s.conn.Query(ctx, `SELECT statement FROM pg_prepared_statements`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var sql string
		if err := rows.Scan(&sql); err != nil {
			t.Fatal(err)
		}
		prepared[sql] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for name, sql := range map[string]string{"claim": s.sqlOff.claim, "lock": s.sqlOff.lock, "rejects": s.rejectsSQL, "offsets": s.sqlOff.upsert} {
		if !prepared[sql] {
			t.Errorf("the %s statement is not prepared after Checkpoint", name)
		}
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM events`) + queryInt(t, dsn, `SELECT count(*) FROM etl_offsets`) + queryInt(t, dsn, `SELECT count(*) FROM corrupt_records`); n != 0 {
		t.Fatalf("Checkpoint left %d rows in the tables, want none", n)
	}
}

// A batch without raw text (the engine holds it) whose rows the database
// refuses: the sink commits nothing and asks for the raw text of those
// rows only; given it, it stores them with it. Not offered, it stores them
// with empty raw text, as a batch from a source without raw text.
func TestPostgresAsksForTheRawTextOfRefusedRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	s, _ := newSink(t, dsn, "")
	if !Plugin.SinkAsksForRaw {
		t.Error("Plugin.SinkAsksForRaw is false")
	}
	batch := func(from int64, badAt int64) (*record.Batch, []string) {
		b := record.NewBatch(eventsSchema)
		b.LeaveOutRaw()
		var want []string
		for k := from; k < from+20; k++ {
			e := genEvent(k)
			if k == badAt {
				e.action = "CLICK"
			} else {
				want = append(want, e.String())
			}
			appendEvent(b, e, "x.csv", k+1)
		}
		return b, want
	}
	b, want := batch(0, 3)
	earlier := record.Reject{Origin: record.Origin{Source: "x.csv", Line: 30}, Raw: "bad,line", ErrorType: "CSV_PARSE_ERROR", Reason: "2 fields"}
	req := plugin.WriteRequest{BatchID: 1, Batch: b, Rejects: []record.Reject{earlier}, RawHeld: true,
		Positions: []record.Position{{Partition: "x.csv", Offset: 20}}}
	err := s.Write(ctx, req)
	need, ok := errors.AsType[*plugin.NeedRaw](err)
	if !ok || len(need.Origins) != 1 || need.Origins[0] != (record.Origin{Source: "x.csv", Line: 4}) {
		t.Fatalf("Write: %v; want NeedRaw for x.csv:4 alone", err)
	}
	if n := queryInt(t, dsn, `SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM corrupt_records) + (SELECT count(*) FROM etl_offsets WHERE batch_id > 0)`); n != 0 {
		t.Fatalf("%d rows committed by a Write that asked for raw text, want none", n)
	}
	req.Raw = map[record.Origin]string{{Source: "x.csv", Line: 4}: genEvent(3).csvLine()} // raw_held still set, as the engine sends it
	if err := s.Write(ctx, req); err != nil {
		t.Fatalf("Write with the raw text: %v", err)
	}
	checkEvents(t, dsn, want)
	rawAt := func(line int64) string {
		var raw string
		conn := connectT(t, dsn)
		if err := conn.QueryRow(ctx, `SELECT coalesce(corrupt_record, '') FROM corrupt_records WHERE line = $1`, line).Scan(&raw); err != nil {
			t.Fatalf("corrupt_records at line %d: %v", line, err)
		}
		return raw
	}
	if got := rawAt(4); got != genEvent(3).csvLine() {
		t.Errorf("refused row's raw text %q, want %q", got, genEvent(3).csvLine())
	}
	if got := rawAt(30); got != "bad,line" {
		t.Errorf("an earlier step's reject has raw text %q, want its own", got)
	}

	b, _ = batch(20, 25)
	if err := s.Write(ctx, plugin.WriteRequest{BatchID: 2, Batch: b, Positions: []record.Position{{Partition: "x.csv", Offset: 40}}}); err != nil {
		t.Fatalf("Write of a batch without raw text, none held: %v", err)
	}
	if got := rawAt(26); got != "" {
		t.Errorf("raw text %q where none was held, want empty", got)
	}
}

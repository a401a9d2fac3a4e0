package postgres

import (
	"reflect"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// TestPostgresStatusReadsWithoutWriting: Status tells the committed
// positions, the last batch and its commit time and the pipeline's rejects
// by type, and on a database where nothing ran it creates nothing.
func TestPostgresStatusReadsWithoutWriting(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)

	s, _ := newSink(t, dsn, "")
	st, err := s.Status(ctx)
	if err != nil {
		t.Fatalf("Status before any write: %v", err)
	}
	if st.BatchID != 0 || len(st.Positions) != 0 || !st.CommittedAt.IsZero() || st.Rejects == nil || len(st.Rejects) != 0 {
		t.Errorf("Status before any write = %+v, want nothing committed and no rejects", st)
	}
	if n := queryInt(t, dsn, `SELECT count(*) FROM pg_tables WHERE tablename = 'etl_offsets'`); n != 0 {
		t.Error("Status created the offsets table: it must only read")
	}

	before := time.Now()
	w, _ := newSink(t, dsn, "")
	req1 := genRequest(1, 0, 10, "a.csv")
	req1.Rejects = []record.Reject{
		{Origin: record.Origin{Source: "a.csv", Line: 3}, Raw: "x", ErrorType: "CSV_PARSE_ERROR", Reason: "r"},
		{Origin: record.Origin{Source: "a.csv", Line: 4}, Raw: "y", ErrorType: "TOO_LONG", Reason: "r"},
	}
	req2 := genRequest(2, 10, 5, "b.csv")
	req2.Positions = append(req2.Positions, record.Position{Partition: "a.csv", Offset: 99, Done: true})
	req2.Rejects = []record.Reject{{Origin: record.Origin{Source: "b.csv", Line: 1}, Raw: "z", ErrorType: "CSV_PARSE_ERROR", Reason: "r"}}
	if err := w.Write(ctx, req1); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, req2); err != nil {
		t.Fatal(err)
	}
	// Another pipeline's rejects are not this one's.
	if _, err := connectT(t, dsn).Exec(ctx, `INSERT INTO corrupt_records (corrupt_record, error_type, pipeline) VALUES ('o', 'TOO_LONG', 'other')`); err != nil {
		t.Fatal(err)
	}

	st, err = s.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	if st.BatchID != 2 || st.CommittedAt.Before(before.Add(-time.Minute)) {
		t.Errorf("last batch %d committed at %v, want 2 committed after %v", st.BatchID, st.CommittedAt, before)
	}
	cp, err := w.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.Positions, cp.Positions) {
		t.Errorf("Status positions %+v, Checkpoint %+v", st.Positions, cp.Positions)
	}
	if want := map[string]int64{"CSV_PARSE_ERROR": 2, "TOO_LONG": 1}; !reflect.DeepEqual(st.Rejects, want) {
		t.Errorf("rejects by type %v, want %v", st.Rejects, want)
	}
}

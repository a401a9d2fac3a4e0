package postgres

import (
	"bufio"
	"context"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

const (
	benchRows  = 200_000
	benchBatch = 10_000
)

var eventColumns = []string{"user_id", "action", "product_id", "product_name", "price", "event_time", "session_id"}

// BenchmarkPostgresCopyVsPsql loads the same 200,000 e-commerce rows into a
// fresh events table with every index of sql/postgres_setup.sql three
// ways: through the sink (binary COPY encoded from the batch, one
// transaction per batch of 10,000 rows), through pgx's CopyFrom with Go
// values (same batches and transactions), and through psql's \copy of the
// same rows as one CSV file. Each way runs twice and keeps its best time.
// Run it with -benchtime=1x.
func BenchmarkPostgresCopyVsPsql(b *testing.B) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		b.Skip("skipped: needs psql on the PATH")
	}
	reqs := make([]plugin.WriteRequest, 0, benchRows/benchBatch)
	for i := 0; i < benchRows/benchBatch; i++ {
		reqs = append(reqs, genRequest(int64(i+1), int64(i*benchBatch), benchBatch, "bench.csv"))
	}
	csvPath := filepath.Join(b.TempDir(), "events.csv")
	csvBytes := writeBenchCSV(b, csvPath)
	ctx := context.Background()

	ways := []struct {
		name string
		load func(b *testing.B, dsn string) time.Duration
		// who says whose CPU time counts: this process's or psql's.
		who int
	}{
		{"sink", func(b *testing.B, dsn string) time.Duration {
			s, _ := newSink(b, dsn, "")
			if _, err := s.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for _, req := range reqs {
				if err := s.Write(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			return time.Since(start)
		}, syscall.RUSAGE_SELF},
		{"pgx CopyFrom", func(b *testing.B, dsn string) time.Duration {
			conn := connectT(b, dsn)
			start := time.Now()
			for _, req := range reqs {
				tx, err := conn.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				bt := req.Batch
				_, err = tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns, pgx.CopyFromSlice(bt.Len(), func(r int) ([]any, error) {
					var session any
					if !bt.IsNull(r, 6) {
						session = bt.Text(r, 6)
					}
					return []any{bt.Int64(r, 0), bt.Text(r, 1), bt.Int64(r, 2), bt.Text(r, 3),
						pgtype.Numeric{Int: big.NewInt(bt.Decimal(r, 4)), Exp: -2, Valid: true},
						bt.Timestamp(r, 5), session}, nil
				}))
				if err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			return time.Since(start)
		}, syscall.RUSAGE_SELF},
		{"psql \\copy", func(b *testing.B, dsn string) time.Duration {
			start := time.Now()
			cmd := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c",
				`\copy events (user_id, action, product_id, product_name, price, event_time, session_id) FROM '`+csvPath+`' WITH (FORMAT csv)`)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("psql: %v\n%s", err, out)
			}
			return time.Since(start)
		}, syscall.RUSAGE_CHILDREN},
	}
	for i := 0; i < b.N; i++ {
		best := make([]time.Duration, len(ways))
		cpu := make([]time.Duration, len(ways))
		for round := 0; round < 2; round++ {
			for w, way := range ways {
				dsn := pgtest.NewDatabase(b)
				pgtest.ApplySetup(b, dsn)
				before := cpuTime(b, way.who)
				took := way.load(b, dsn)
				used := cpuTime(b, way.who) - before
				if n := queryInt(b, dsn, "SELECT count(*) FROM events"); n != benchRows {
					b.Fatalf("%s loaded %d rows, want %d", way.name, n, benchRows)
				}
				if best[w] == 0 || took < best[w] {
					best[w], cpu[w] = took, used
				}
			}
		}
		rate := func(d time.Duration) float64 { return benchRows / d.Seconds() }
		mb := func(d time.Duration) float64 { return float64(csvBytes) / 1e6 / d.Seconds() }
		if i == b.N-1 {
			b.ReportMetric(rate(best[0]), "sink_rows/s")
			b.ReportMetric(mb(best[0]), "sink_MB/s")
			b.ReportMetric(rate(best[1]), "pgx_rows/s")
			b.ReportMetric(rate(best[2]), "psql_rows/s")
			b.ReportMetric(mb(best[2]), "psql_MB/s")
			b.ReportMetric(rate(best[0])/rate(best[2]), "sink/psql")
			fmt.Printf("\n%d rows (%.1f MB as CSV) into events with its 6 indexes, best of 2:\n", benchRows, float64(csvBytes)/1e6)
			fmt.Printf("  %-14s %10s %12s %8s %16s\n", "way", "time", "rows/s", "vs psql", "client CPU/row")
			for w, way := range ways {
				fmt.Printf("  %-14s %10s %12.0f %8.2f %16s\n", way.name, best[w].Round(time.Millisecond), rate(best[w]),
					rate(best[w])/rate(best[2]), (cpu[w] / benchRows).String())
			}
		}
	}
}

// cpuTime returns the user and system CPU time of this process
// (RUSAGE_SELF) or of its finished children (RUSAGE_CHILDREN).
func cpuTime(b *testing.B, who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeBenchCSV writes the benchmark's rows as CSV, returning its size.
func writeBenchCSV(b *testing.B, path string) int64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for k := int64(0); k < benchRows; k++ {
		w.WriteString(genEvent(k).csvLine())
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// BenchmarkEncodeBatch measures the encoding of a batch of 10,000 rows
// into a binary COPY stream, without the database.
func BenchmarkEncodeBatch(b *testing.B) {
	req := genRequest(1, 0, benchBatch, "bench.csv")
	cols := []colEnc{
		{kind: encInt8, idx: 0, typ: record.Int64}, {kind: encRaw, idx: 1}, {kind: encInt8, idx: 2, typ: record.Int64}, {kind: encRaw, idx: 3},
		{kind: encNumeric, idx: 4, scale: 2, typ: record.Decimal}, {kind: encTimestamp, idx: 5, typ: record.Timestamp}, {kind: encRaw, idx: 6},
	}
	var d copyData
	b.SetBytes(int64(req.Batch.Size()))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		d.encode(req.Batch, cols)
	}
	b.ReportMetric(float64(b.N*benchBatch)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkCopyEncode measures the encoding into a binary COPY stream of a
// batch of 10,000 e-commerce rows as the sink gets it: decoded from its
// Arrow IPC stream, with a nullable column holding some nulls.
func BenchmarkCopyEncode(b *testing.B) {
	src := record.NewBatch(eventsSchema)
	for k := int64(0); k < benchBatch; k++ {
		e := genEvent(k)
		if k%10 == 0 {
			e.session = nil
		}
		appendEvent(src, e, "bench.csv", k+1)
	}
	data, err := src.MarshalArrow()
	if err != nil {
		b.Fatal(err)
	}
	batch, err := record.UnmarshalArrow(data)
	if err != nil {
		b.Fatal(err)
	}
	cols := []colEnc{
		{kind: encInt8, idx: 0, typ: record.Int64}, {kind: encRaw, idx: 1, typ: record.String}, {kind: encInt8, idx: 2, typ: record.Int64},
		{kind: encRaw, idx: 3, typ: record.String}, {kind: encNumeric, idx: 4, scale: 2, typ: record.Decimal},
		{kind: encTimestamp, idx: 5, typ: record.Timestamp}, {kind: encRaw, idx: 6, typ: record.String},
	}
	var d copyData
	b.SetBytes(int64(batch.Size()))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		d.encode(batch, cols)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*benchBatch), "ns/row")
}

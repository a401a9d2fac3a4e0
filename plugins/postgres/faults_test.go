package postgres

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// TestPostgresConnectionFaults injects one fault into batch 2 of three
// through a proxy, and checks that every row lands exactly once.
func TestPostgresConnectionFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault fault
		// logs must hold these lines once batch 2 is written, and must not
		// hold the forbidden ones.
		logs, forbidden []string
	}{
		{
			name:      "backend terminated mid-COPY",
			fault:     faultTerminateMidCopy,
			logs:      []string{"write batch 2 failed, retrying", "kind=connection", "terminating connection due to administrator command"},
			forbidden: []string{"already committed"},
		},
		{
			name:      "connection cut after COMMIT was sent",
			fault:     faultCutAfterCommit,
			logs:      []string{"connection lost during COMMIT", "outcome is unknown", "batch already committed, skipped"},
			forbidden: []string{`msg="postgres: batch committed"`}, // the retry does not write again
		},
		{
			name:      "connection cut before COMMIT reached the server",
			fault:     faultCutBeforeCommit,
			logs:      []string{"connection lost during COMMIT", "write batch 2 failed, retrying", "batch committed"},
			forbidden: []string{"already committed"},
		},
		{
			name:      "client vanished before COMMIT, server process left holding locks",
			fault:     faultVanishBeforeCommit,
			logs:      []string{"connection lost during COMMIT", "ended the server process of a lost connection", "batch committed"},
			forbidden: []string{"already committed", "canceling statement due to statement timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			pgtest.ApplySetup(t, dsn)
			proxy, viaProxy := startProxy(t, dsn)
			// Without a timeout, a retry blocked by a lost transaction's locks
			// would wait for the test's deadline.
			s, logs := newSink(t, viaProxy, "statement_timeout: 5s")
			ctx := ctxT(t)
			if _, err := s.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			req1 := genRequest(1, 0, 2000, "a.csv")
			req2 := genRequest(2, 2000, 3000, "a.csv")
			req2.Rejects = []record.Reject{{Origin: record.Origin{Source: "b.csv", Line: 1}, Raw: "x,y", ErrorType: "CSV_PARSE_ERROR", Reason: "2 fields, want 7"}}
			req2.Positions = append(req2.Positions, record.Position{Partition: "b.csv", Offset: 4, Done: true})
			req3 := genRequest(3, 5000, 1000, "a.csv")

			if err := s.Write(ctx, req1); err != nil {
				t.Fatalf("batch 1: %v", err)
			}
			if tt.fault == faultCutAfterCommit {
				// Only "batch committed" lines of batch 2 matter below.
				logs.mu.Lock()
				logs.buf.Reset()
				logs.mu.Unlock()
			}
			proxy.arm(tt.fault)
			if err := s.Write(ctx, req2); err != nil {
				t.Fatalf("batch 2: %v", err)
			}
			proxy.waitFired(t, tt.fault)
			text := logs.String()
			for _, want := range tt.logs {
				if !strings.Contains(text, want) {
					t.Errorf("the log does not say %q:\n%s", want, text)
				}
			}
			for _, bad := range tt.forbidden {
				if strings.Contains(text, bad) {
					t.Errorf("the log says %q:\n%s", bad, text)
				}
			}
			if err := s.Write(ctx, req3); err != nil {
				t.Fatalf("batch 3: %v", err)
			}
			if err := s.Write(ctx, req2); err != nil { // an engine's replay
				t.Fatalf("replay of batch 2: %v", err)
			}

			checkEvents(t, dsn, wantEvents(0, 6000))
			if n := queryInt(t, dsn, "SELECT count(*) FROM corrupt_records WHERE batch_id = 2 AND corrupt_record = 'x,y'"); n != 1 {
				t.Errorf("the reject of batch 2 is stored %d times, want once", n)
			}
			if n := queryInt(t, dsn, "SELECT count(*) FROM corrupt_records"); n != 1 {
				t.Errorf("corrupt_records holds %d rows, want 1", n)
			}
			cp, err := s.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := plugin.Checkpoint{BatchID: 3, Positions: []record.Position{{Partition: "a.csv", Offset: 6000}, {Partition: "b.csv", Offset: 4, Done: true}}}
			if !reflect.DeepEqual(cp, want) {
				t.Errorf("Checkpoint = %+v, want %+v", cp, want)
			}
		})
	}
}

// startLater starts c after delay, in the background; the returned
// channel gives the outcome.
func startLater(c *cluster, delay time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		time.Sleep(delay)
		done <- c.startErr()
	}()
	return done
}

func TestPostgresServerRestartBetweenBatches(t *testing.T) {
	c := startCluster(t)
	c.exec("postgres", "CREATE DATABASE ecommerce")
	dsn := c.dsn("ecommerce")
	pgtest.ApplySetup(t, dsn)
	ctx := ctxT(t)
	s, logs := newSink(t, dsn, "")

	if err := s.Write(ctx, genRequest(1, 0, 2000, "a.csv")); err != nil {
		t.Fatalf("batch 1: %v", err)
	}
	// The server goes away between batches and comes back 1.5s later,
	// while batch 2 is being written.
	c.stop()
	started := startLater(c, 1500*time.Millisecond)
	if err := s.Write(ctx, genRequest(2, 2000, 2000, "a.csv")); err != nil {
		t.Fatalf("batch 2: %v", err)
	}
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	text := logs.String()
	for _, want := range []string{"write batch 2 failed, retrying", "connection refused", "write batch 2 succeeded after retrying"} {
		if !strings.Contains(text, want) {
			t.Errorf("the log does not say %q:\n%s", want, text)
		}
	}
	if err := s.Write(ctx, genRequest(3, 4000, 1000, "a.csv")); err != nil {
		t.Fatalf("batch 3: %v", err)
	}

	// The server is down when a new sink starts (an engine restart): its
	// Checkpoint waits for it.
	c.stop()
	started = startLater(c, time.Second)
	s2, _ := newSink(t, dsn, "")
	cp, err := s2.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	want := plugin.Checkpoint{BatchID: 3, Positions: []record.Position{{Partition: "a.csv", Offset: 5000}}}
	if !reflect.DeepEqual(cp, want) {
		t.Errorf("Checkpoint = %+v, want %+v", cp, want)
	}
	// The old sink's connection died with the server: a replay of batch 3
	// reconnects and changes nothing.
	if err := s.Write(ctx, genRequest(3, 4000, 1000, "a.csv")); err != nil {
		t.Fatalf("replay of batch 3: %v", err)
	}
	checkEvents(t, dsn, wantEvents(0, 5000))
}

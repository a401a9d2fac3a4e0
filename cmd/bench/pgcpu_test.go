package main

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestCPUBetween(t *testing.T) {
	a, b, c := procID{10, 1}, procID{11, 2}, procID{12, 3}
	reused := procID{10, 500} // pid 10 again, started later
	for _, tc := range []struct {
		name       string
		start, end cpuSnap
		want       float64
	}{
		{"child alive at both: its difference",
			cpuSnap{children: map[procID]int64{a: 100}}, cpuSnap{children: map[procID]int64{a: 250}}, 1.5},
		{"child gone, reaped: cutime minus its time before",
			cpuSnap{reaped: 1000, children: map[procID]int64{a: 100}}, cpuSnap{reaped: 1300, children: map[procID]int64{}}, 2},
		{"new child alive at end: all of its time",
			cpuSnap{children: map[procID]int64{}}, cpuSnap{children: map[procID]int64{b: 70}}, 0.7},
		{"new child gone at end: only in cutime",
			cpuSnap{reaped: 5}, cpuSnap{reaped: 45}, 0.4},
		{"reused pid is a new child",
			cpuSnap{reaped: 0, children: map[procID]int64{a: 100}}, cpuSnap{reaped: 120, children: map[procID]int64{reused: 30}}, 0.5},
		{"postmaster's own time",
			cpuSnap{self: 10, children: map[procID]int64{c: 1}}, cpuSnap{self: 12, children: map[procID]int64{c: 1}}, 0.02},
		{"all at once",
			cpuSnap{self: 1, reaped: 10, children: map[procID]int64{a: 100, b: 200}},
			cpuSnap{self: 2, reaped: 310, children: map[procID]int64{b: 260, c: 40}}, (1 + 300 - 100 + 60 + 40) / 100.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cpuBetween(tc.start, tc.end); got < tc.want-1e-9 || got > tc.want+1e-9 {
				t.Errorf("cpuBetween = %v, want %v", got, tc.want)
			}
		})
	}
}

// testServer returns the DSN of the test PostgreSQL server, skipping when
// none is named and no local one answers.
func testServer(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("ETL_TEST_DATABASE_URL")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Skipf("skipped: ETL_TEST_DATABASE_URL is unset and no local PostgreSQL answers: %v", err)
		}
		conn.Close(ctx)
	}
	return dsn
}

// TestPostgresCPUCountsShortLivedBackendsPostgres runs a CPU-heavy query
// on a backend that exits before the window ends: its time must be
// counted through the postmaster's cutime, whether it started before the
// window or in it, and a backend alive at both ends must count too.
func TestPostgresCPUCountsShortLivedBackendsPostgres(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipped: reads /proc")
	}
	dsn := testServer(t)
	ctx := context.Background()
	pg, err := localPostgres(ctx, dsn)
	if err != nil {
		t.Skipf("skipped: the server's processes cannot be read here (remote, or not root): %v", err)
	}
	for _, tc := range []struct {
		name                string
		openBefore, closeIn bool
	}{
		{"started and gone within the window", false, true},
		{"started before, gone within", true, true},
		{"alive at both ends", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conn *pgx.Conn
			connect := func() {
				var err error
				if conn, err = pgx.Connect(ctx, dsn); err != nil {
					t.Fatal(err)
				}
			}
			if tc.openBefore {
				connect()
			}
			stop := pg.cpuWindow()
			if !tc.openBefore {
				connect()
			}
			defer conn.Close(ctx)
			var pid int
			if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				t.Fatal(err)
			}
			_, _, before, _, _ := procTimes(pid)
			start := time.Now()
			var n int64
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 5e6)").Scan(&n); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			// The backend is idle now: what it used for the query is final.
			_, _, after, _, ok := procTimes(pid)
			if !ok {
				t.Fatalf("cannot read backend %d", pid)
			}
			query := float64(after-before) / clockTicks
			if tc.closeIn {
				conn.Close(ctx)
				waitGone(t, pid)
			}
			got := stop()
			if got == nil {
				t.Fatal("window measured nothing")
			}
			t.Logf("query %v wall, backend %.2f s CPU; measured %.2f s", took, query, *got)
			if query < 0.1 {
				t.Fatalf("the query used %.2f s of CPU in %v: too little to tell", query, took)
			}
			if *got < query-2.0/clockTicks {
				t.Errorf("measured %.2f s of PostgreSQL CPU, want at least the backend's %.2f s for the query", *got, query)
			}
		})
	}
}

// waitGone waits until the process pid has exited and been reaped.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); os.IsNotExist(err) {
			return
		}
	}
	t.Fatalf("backend %d still there after 10 s", pid)
}

func TestPostgresCPUUnknownWithoutPostmaster(t *testing.T) {
	var p *pgCPU // localPostgres failed: a remote server
	if got := p.cpuWindow()(); got != nil {
		t.Errorf("window without a postmaster = %v, want nil (unknown)", *got)
	}
	gone := &pgCPU{postmaster: 1 << 30} // no such process
	if got := gone.cpuWindow()(); got != nil {
		t.Errorf("window of a postmaster that is not there = %v, want nil (unknown)", *got)
	}
}

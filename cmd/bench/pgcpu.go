package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// pgCPU measures the CPU time of a PostgreSQL server running on this
// machine: its postmaster and every process the postmaster forks
// (backends, parallel workers, autovacuum, checkpointer, WAL writer),
// from /proc. It counts everything the server does meanwhile, whoever
// asked for it.
type pgCPU struct {
	postmaster int
}

// localPostgres finds the postmaster of the server behind dsn: SHOW
// data_directory, then the first line of DATA_DIR/postmaster.pid. The
// process must run in that folder (its /proc/PID/cwd), so that a server on
// another host or in a container is not taken for a local process that
// happens to have that pid.
func localPostgres(ctx context.Context, dsn string) (*pgCPU, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	var dataDir string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dataDir); err != nil {
		return nil, fmt.Errorf("show data_directory: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return nil, err
	}
	first, _, _ := strings.Cut(string(data), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return nil, fmt.Errorf("%s/postmaster.pid: first line %q is no pid", dataDir, first)
	}
	if cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd"); err != nil || filepath.Clean(cwd) != filepath.Clean(dataDir) {
		return nil, fmt.Errorf("process %d is not the postmaster of %s on this machine", pid, dataDir)
	}
	return &pgCPU{postmaster: pid}, nil
}

// procID tells processes apart: a pid with the time it started, since a
// pid may be reused within a run.
type procID struct {
	pid   int
	start int64
}

// cpuSnap is the CPU time of the server's processes at one instant, in
// clock ticks.
type cpuSnap struct {
	self     int64            // the postmaster's own utime+stime
	reaped   int64            // its cutime+cstime: the children it has waited for
	children map[procID]int64 // utime+stime of every live child
}

// procTimes reads /proc/PID/stat: the parent pid, the start time,
// utime+stime and cutime+cstime.
func procTimes(pid int) (ppid int, start, cpu, reaped int64, ok bool) {
	f := statFields(pid) // f[0] is field 3 (state)
	if len(f) < 20 {
		return 0, 0, 0, 0, false
	}
	var n [5]int64
	for i, field := range []int{4, 14, 15, 16, 17} {
		v, err := strconv.ParseInt(f[field-3], 10, 64)
		if err != nil {
			return 0, 0, 0, 0, false
		}
		n[i] = v
	}
	start, err := strconv.ParseInt(f[22-3], 10, 64)
	if err != nil {
		return 0, 0, 0, 0, false
	}
	return int(n[0]), start, n[1] + n[2], n[3] + n[4], true
}

// snap reads the postmaster and its children. It reads the postmaster
// again after the children and starts over if a child was reaped
// meanwhile, which would else be counted twice or not at all.
func (p *pgCPU) snap() (cpuSnap, error) {
	for range 10 {
		_, _, self, reaped, ok := procTimes(p.postmaster)
		if !ok {
			return cpuSnap{}, fmt.Errorf("read /proc/%d/stat: the postmaster is gone", p.postmaster)
		}
		s := cpuSnap{self: self, reaped: reaped, children: map[procID]int64{}}
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return cpuSnap{}, err
		}
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if ppid, start, cpu, _, ok := procTimes(pid); ok && ppid == p.postmaster {
				s.children[procID{pid, start}] = cpu
			}
		}
		if _, _, _, again, ok := procTimes(p.postmaster); ok && again == reaped {
			return s, nil
		}
	}
	return cpuSnap{}, fmt.Errorf("postmaster %d: children kept exiting while being read", p.postmaster)
}

// cpuBetween returns the CPU seconds the server spent from a to b. A child
// alive at both counts its difference; one gone by b had its whole time
// added to the postmaster's cutime, so its time before a is taken off; one
// new at b counts all of its time; the children reaped meanwhile count in
// the postmaster's cutime+cstime.
func cpuBetween(a, b cpuSnap) float64 {
	ticks := (b.self - a.self) + (b.reaped - a.reaped)
	for id, t := range b.children {
		ticks += t - a.children[id] // a new child's start value is 0
	}
	for id, t := range a.children {
		if _, ok := b.children[id]; !ok {
			ticks -= t
		}
	}
	return float64(ticks) / clockTicks
}

// cpuWindow starts measuring the server's CPU. The function it returns
// ends the window and returns the CPU seconds spent in it, or nil when
// the server's processes cannot be read (a remote server, or not allowed).
func (p *pgCPU) cpuWindow() func() *float64 {
	if p == nil {
		return func() *float64 { return nil }
	}
	start, err := p.snap()
	return func() *float64 {
		end, err2 := p.snap()
		if err != nil || err2 != nil {
			return nil
		}
		s := cpuBetween(start, end)
		return &s
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/cmd/datagen/events"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/host/hosttest"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// TestFaults runs the e-commerce pipeline as a user runs it (the etl
// binary on configs/ecommerce.yaml, datagen dropping files into its inbox,
// a fresh database with sql/postgres_setup.sql) and injects one fault per
// row of faultTable while it runs. The test acts as a supervisor: when the
// fault makes etl exit, it starts etl again. Once the fault is over and
// the inbox is drained, etl gets SIGINT and must exit 0, and events and
// corrupt_records must hold exactly what datagen's manifest says (or what
// the row computes from it). A table of the faults and their outcome is
// printed at the end, whatever failed.
func TestFaults(t *testing.T) {
	if _, err := os.Stat("../../configs/ecommerce.yaml"); err != nil {
		t.Fatalf("run from cmd/etl: %v", err)
	}
	var results []faultResult
	defer func() { printFaultTable(os.Stdout, results) }()
	for _, f := range faultTable() {
		res := faultResult{name: f.name}
		if testing.Short() && !f.short {
			res.etl, res.verdict = "not run (-short)", "skip"
			results = append(results, res)
			continue
		}
		began := time.Now()
		ran := false
		ok := t.Run(f.name, func(t *testing.T) {
			ran = true
			defer func() {
				if t.Skipped() {
					res.verdict = "skip"
				}
			}()
			runFault(t, f, &res)
		})
		res.took = time.Since(began)
		switch {
		case !ran:
			res.etl, res.verdict = "not run (-run)", "skip"
		case res.verdict == "skip":
		case ok:
			res.verdict = "PASS"
		default:
			res.verdict = "FAIL"
		}
		results = append(results, res)
	}
}

// fault is one row of the suite: how the world is set up, how the fault
// is injected, what etl may do about it, and what the tables must hold.
type fault struct {
	name string
	// short rows also run under -short.
	short bool
	// data is what datagen writes.
	data dataPlan
	// ownServer gives the row a throwaway PostgreSQL cluster of its own
	// (r.cluster) instead of a database on the shared server, for faults
	// that stop the server.
	ownServer bool
	// setup runs once the database and folders exist (and, with
	// data.preload, the files are written), before etl starts.
	setup func(r *faultRun)
	// inject runs while etl runs and returns when the fault is over; it
	// notes what it did with r.notef. Its tools: r.waitCommittedMore (let
	// etl get to work first), r.etl.kill / r.etl.pid / r.pluginPID (the
	// processes), r.cluster (with ownServer), r.terminateBackends,
	// r.holdLock. It may stop etl itself with r.etl.stop (to see how it
	// ends under the fault): etl is started again for the drain.
	inject func(r *faultRun)
	// etl says what etl may do under the fault.
	etl etlWant
	// want gives the expected counts; nil: the manifest's.
	want func(r *faultRun) want
	// check compares the tables with what they must hold; nil:
	// checkAgainstManifest (counts, counts by error type, no line twice,
	// sampled rows with their cleaned values).
	check func(r *faultRun, w want)
}

// dataPlan is what datagen writes for a row (a fixed seed: the same
// rows every run).
type dataPlan struct {
	files, rowsPerFile int
	interval           time.Duration
	// preload writes every file before etl starts; otherwise datagen
	// writes them while etl runs.
	preload bool
	// untilInjected keeps datagen writing (files is then ignored) until
	// the injection returns, for faults that need etl at work throughout.
	untilInjected bool
}

// etlWant is what etl may do when the fault hits it.
type etlWant int

const (
	// recovers: etl must carry on by itself; it must not exit unless the
	// test killed it.
	recovers etlWant = iota
	// mayExit: etl may exit non-zero; the test restarts it, as a
	// supervisor would. The data must be exact all the same.
	mayExit
)

// want is what the tables must hold.
type want struct {
	rows, rejects int64
}

// faultResult is a row of the printed table.
type faultResult struct {
	name, etl, verdict string
	want, got          want
	gotOK              bool
	took               time.Duration
}

// faultSeed is datagen's seed in every row.
const faultSeed = 14

// faultTable lists the faults. A new fault is a new row.
func faultTable() []fault {
	streaming := dataPlan{files: 10, rowsPerFile: 3000, interval: 300 * time.Millisecond}
	rows := []fault{
		{
			name:  "kill -9 etl mid-run, 6 times",
			short: true,
			data:  streaming,
			inject: func(r *faultRun) {
				kills := 6
				if testing.Short() {
					kills = 3
				}
				for i := 0; i < kills; i++ {
					time.Sleep(time.Duration(300+r.rng.IntN(1200)) * time.Millisecond)
					r.etl.kill(r.t)
				}
			},
			etl: recovers,
		},
	}
	for _, p := range []string{"csvdir", "cleanser", "postgres"} {
		rows = append(rows, fault{
			name:  "kill -9 plugin " + p + " mid-run, twice",
			short: p == "postgres",
			data:  streaming,
			inject: func(r *faultRun) {
				for i := 0; i < 2; i++ {
					r.waitCommittedMore(20 * time.Second)
					pid := r.pluginPID(p, 10*time.Second)
					if pid == 0 {
						r.t.Errorf("no %s plugin process under etl to kill", p)
						return
					}
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			},
			// etl restarts a dead plugin by itself (issue 14, defect 8).
			etl: recovers,
		})
	}
	for _, p := range []string{"cleanser", "postgres"} {
		rows = append(rows, fault{
			name: "SIGSTOP plugin " + p + " 5s, then SIGCONT",
			data: streaming,
			inject: func(r *faultRun) {
				r.waitCommittedMore(20 * time.Second)
				pid := r.pluginPID(p, 10*time.Second)
				if pid == 0 {
					r.t.Errorf("no %s plugin process under etl to stop", p)
					return
				}
				if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
					r.t.Errorf("SIGSTOP %s: %v", p, err)
					return
				}
				time.Sleep(5 * time.Second)
				// The process is gone when etl took it for hung, killed
				// it and started another.
				if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
					r.notef("SIGCONT: %v", err)
				}
			},
			etl: recovers,
		})
	}
	rows = append(rows,
		fault{
			name:      "PostgreSQL restart (3s down)",
			data:      streaming,
			ownServer: true,
			inject: func(r *faultRun) {
				r.waitCommittedMore(20 * time.Second)
				if err := r.cluster.Restart(3 * time.Second); err != nil {
					r.t.Errorf("restart the cluster: %v", err)
				}
			},
			etl: recovers,
		},
		fault{
			name:  "backends terminated mid-COPY",
			short: true,
			data:  dataPlan{rowsPerFile: 3000, interval: 200 * time.Millisecond, untilInjected: true},
			inject: func(r *faultRun) {
				r.terminateBackends(`query ILIKE 'copy %'`, 5, 40*time.Second)
			},
			etl: recovers,
		},
		fault{
			name: "backends terminated in COMMIT",
			data: dataPlan{rowsPerFile: 3000, interval: 200 * time.Millisecond, untilInjected: true},
			// A COMMIT takes a few milliseconds: too short to be caught
			// reliably. commit_delay (with commit_siblings 0, so that it
			// applies to a lone committer) holds each of etl's COMMITs 100ms
			// before the WAL flush, so that a backend seen in COMMIT is
			// terminated in it. PostgreSQL holds the termination until the
			// commit is done (it is a critical section) and the backend
			// still answers COMMIT before it dies: etl sees its next
			// statement fail. (A connection cut before COMMIT's answer, an
			// outcome etl must read back, is tested in plugins/postgres
			// through a proxy.)
			setup: func(r *faultRun) {
				execSQL(r.t, r.dsn, `DO $$ BEGIN
					EXECUTE format('ALTER DATABASE %I SET commit_delay = 100000', current_database());
					EXECUTE format('ALTER DATABASE %I SET commit_siblings = 0', current_database());
				END $$`)
			},
			inject: func(r *faultRun) {
				r.terminateBackends(`query = 'COMMIT'`, 3, 40*time.Second)
				// The sink logs each COMMIT whose outcome it had to read back.
				r.notef("%d COMMITs of unknown outcome", strings.Count(r.logText(), "connection lost during COMMIT"))
			},
			etl: recovers,
		},
		fault{
			name: "events locked ACCESS EXCLUSIVE 60s, streaming",
			data: dataPlan{files: 8, rowsPerFile: 3000, interval: time.Second},
			inject: func(r *faultRun) {
				r.waitCommittedMore(20 * time.Second)
				r.holdLock(60 * time.Second)
			},
			etl: recovers,
		},
		fault{
			name:   "full archive disk (256 KiB tmpfs)",
			data:   dataPlan{files: 4, rowsPerFile: 2000, preload: true},
			setup:  setupFullArchive,
			inject: injectFullArchive,
			check:  checkFullArchive,
			etl:    recovers,
		},
		fault{
			name:   "constraint refuses rows (CHECK price < 200)",
			short:  true,
			data:   dataPlan{files: 4, rowsPerFile: 3000, preload: true},
			setup:  setupConstraint,
			inject: func(r *faultRun) {},
			want:   wantConstraint,
			check:  checkConstraint,
			etl:    recovers,
		},
	)
	return append(rows, issue14Faults()...)
}

// faultRun is the world of one row while it runs.
type faultRun struct {
	t                   *testing.T
	f                   fault
	rng                 *rand.Rand
	dir, inbox, archive string
	quarantine          string
	dsn                 string
	cluster             *pgtest.Cluster
	marker              string
	logs                string
	etl                 *supervisor
	manifest            *events.Manifest
	// state is what setup leaves for the later steps of its row.
	state map[string]any

	mu        sync.Mutex
	notes     []string
	committed int64 // events + corrupt_records when last looked
}

// notef records what the injection did, for the table.
func (r *faultRun) notef(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// runFault runs one row and fills res.
func runFault(t *testing.T, f fault, res *faultResult) {
	r := &faultRun{t: t, f: f, rng: rand.New(rand.NewPCG(faultSeed, 2)), dir: t.TempDir(), state: map[string]any{}}
	r.inbox, r.archive = filepath.Join(r.dir, "events"), filepath.Join(r.dir, "archive")
	r.quarantine = filepath.Join(r.dir, "quarantine")
	r.logs = filepath.Join(r.dir, "etl.log")
	r.marker = fmt.Sprintf("ETL_FAULT_MARKER=%d", time.Now().UnixNano())
	for _, d := range []string{r.inbox, r.archive} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if f.ownServer {
		r.cluster = pgtest.StartCluster(t)
		r.dsn = r.cluster.NewDatabase(t)
	} else {
		r.dsn = pgtest.NewDatabase(t)
	}
	pgtest.ApplySetup(t, r.dsn)
	defer func() {
		if t.Failed() {
			t.Logf("end of etl's log:\n%s", r.tail())
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := events.Options{
		Dir:          r.inbox,
		Files:        f.data.files,
		RowsPerFile:  f.data.rowsPerFile,
		Interval:     f.data.interval,
		ManifestPath: filepath.Join(r.dir, "manifest.json"),
		LogEvery:     -1,
		Config:       events.Config{Seed: faultSeed},
	}
	if f.data.untilInjected {
		opts.Files = 0
	}
	var produced <-chan produced
	if f.data.preload {
		m, err := events.Run(ctx, opts, nil)
		if err != nil {
			t.Fatalf("datagen: %v", err)
		}
		r.manifest = m
	}
	if f.setup != nil {
		f.setup(r)
	}
	if !f.data.preload {
		dgCtx, dgCancel := context.WithCancel(ctx)
		defer dgCancel()
		produced = startDatagen(dgCtx, t, opts)
		if f.data.untilInjected {
			defer dgCancel() // also when inject fails the test
			origInject := f.inject
			f.inject = func(r *faultRun) { origInject(r); dgCancel() }
		}
	}

	r.etl = startSupervisor(r)
	stopped := false
	defer func() {
		if !stopped {
			r.etl.stop(r.t)
		}
	}()

	f.inject(r)
	r.etl.resume()
	if produced != nil {
		select {
		case p := <-produced:
			r.manifest = p.manifest(t)
		case <-time.After(2 * time.Minute):
			t.Fatal("datagen does not finish")
		}
	}

	// The fault is over: etl, restarted when it exited, must drain the
	// inbox by itself.
	drained := r.waitFor(2*time.Minute, func() bool { return len(r.inboxFiles()) == 0 })
	stopCode, stopDesc := r.etl.stop(t)
	stopped = true
	if !drained {
		t.Errorf("etl did not drain the inbox within 2m of the fault's end: %v left", r.inboxFiles())
		r.notef("not drained: final --once run")
		if code := r.runOnce(r.dsn, r.inbox, r.archive); code != 0 {
			t.Errorf("final etl run --once exited %d", code)
		}
	}
	if stopCode != 0 {
		t.Errorf("etl, stopped with SIGINT once the inbox was drained: %s, want exit 0", stopDesc)
	}
	if left := hosttest.WaitForNoProcess(r.marker, 5*time.Second); len(left) > 0 {
		t.Errorf("plugin processes %v outlived etl", left)
	}
	res.etl = r.etl.describe()
	if len(r.notes) > 0 {
		res.etl += "; " + strings.Join(r.notes, "; ")
	}
	if f.etl == recovers {
		if exits := r.etl.unexpectedExits(); len(exits) > 0 {
			t.Errorf("etl exited by itself under the fault (%s); it must recover without a restart", strings.Join(exits, ", "))
		}
	}

	m := r.manifest
	w := want{m.Accepted, m.Rejected}
	if f.want != nil {
		w = f.want(r)
	}
	res.want = w
	if got, err := countTables(r.dsn); err != nil {
		t.Errorf("count the tables: %v", err)
	} else {
		res.got, res.gotOK = got, true
	}
	if f.check != nil {
		f.check(r, w)
	} else {
		checkAgainstManifest(t, r.dsn, m)
	}
	t.Logf("%s: %d files, %d rows (%d accepted, %d rejected); etl: %s", f.name, len(m.Files), m.Rows, m.Accepted, m.Rejected, res.etl)
}

// countTables counts events and corrupt_records.
func countTables(dsn string) (want, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return want{}, err
	}
	defer conn.Close(context.Background())
	var w want
	err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM corrupt_records)`).Scan(&w.rows, &w.rejects)
	return w, err
}

// execSQL runs sql on dsn.
func execSQL(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// logText returns etl's log so far.
func (r *faultRun) logText() string {
	b, _ := os.ReadFile(r.logs)
	return string(b)
}

// tail returns the end of etl's log.
func (r *faultRun) tail() string {
	b, _ := os.ReadFile(r.logs)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// inboxFiles lists the input files still in the inbox.
func (r *faultRun) inboxFiles() []string {
	names, _ := filepath.Glob(filepath.Join(r.inbox, "*.csv"))
	return names
}

// waitFor polls cond every 50ms until it holds or wait has passed.
func (r *faultRun) waitFor(wait time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(wait); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// waitCommittedMore waits until etl has committed rows (events and
// corrupt_records together) since the last call, so that a fault lands on
// a pipeline at work. It gives up after wait, quietly: the fault is then
// injected all the same.
func (r *faultRun) waitCommittedMore(wait time.Duration) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		r.t.Errorf("connect to see what etl committed: %v", err)
		return
	}
	defer conn.Close(ctx)
	r.waitFor(wait, func() bool {
		var n int64
		if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM corrupt_records)`).Scan(&n); err != nil {
			return false
		}
		if n > r.committed {
			r.committed = n
			return true
		}
		return false
	})
}

// pluginPID waits up to wait for a child process of the running etl that
// serves plugin name, and returns its PID (0 when none came).
func (r *faultRun) pluginPID(name string, wait time.Duration) int {
	var pid int
	r.waitFor(wait, func() bool {
		if etl := r.etl.pid(); etl != 0 {
			if pids := pluginChildren(etl, name); len(pids) > 0 {
				pid = pids[0]
				return true
			}
		}
		return false
	})
	return pid
}

// pluginChildren returns the PIDs of the children of parent that serve
// plugin name: a bundled plugin is etl re-executed with ETL_BUNDLED_PLUGIN
// naming it, an outside one runs etl-plugin-NAME.
func pluginChildren(parent int, name string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after
		// the last ')'.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[0] == "Z" || fields[1] != fmt.Sprint(parent) {
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains("\x00"+string(env)+"\x00", "\x00ETL_BUNDLED_PLUGIN="+name+"\x00") ||
			strings.Contains(string(cmdline), "etl-plugin-"+name) {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// etlCommand is `etl run ../../configs/ecommerce.yaml` on the row's inbox
// and database, logging into r.logs.
func (r *faultRun) etlCommand(dsn, inbox, archive string, args ...string) (*exec.Cmd, error) {
	log, err := os.OpenFile(r.logs, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// Metrics on a free port: the default one may be taken by another etl.
	cmd := exec.Command(os.Args[0], append([]string{"run", "../../configs/ecommerce.yaml", "--metrics-addr", "127.0.0.1:0"}, args...)...)
	// The marker reaches the plugins only when named in ETL_PLUGIN_ENV:
	// their environment is an allowlist.
	cmd.Env = append(os.Environ(), runAsEtl+"=1", r.marker, host.ExtraEnv+"="+strings.SplitN(r.marker, "=", 2)[0],
		"DATABASE_URL="+dsn, "EVENTS_DIR="+inbox, "ARCHIVE_DIR="+archive, "QUARANTINE_DIR="+r.quarantine)
	cmd.Stdout, cmd.Stderr = log, log
	err = cmd.Start()
	log.Close()
	return cmd, err
}

// runOnce runs `etl run --once` to its end and returns its exit code.
func (r *faultRun) runOnce(dsn, inbox, archive string) int {
	cmd, err := r.etlCommand(dsn, inbox, archive, "--once")
	if err != nil {
		r.t.Fatalf("start etl: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		r.t.Errorf("etl run --once did not finish in 2m")
		return -1
	}
}

// supervisor keeps `etl run` (streaming) running, as systemd's
// Restart=always would: when etl exits, for whatever reason, it is
// started again after a short pause, until stop.
type supervisor struct {
	r    *faultRun
	done chan struct{}

	mu       sync.Mutex
	cmd      *exec.Cmd
	killed   map[int]bool // PIDs the test SIGKILLed
	stopping bool
	starts   int
	exits    []string // how each run ended, in order
	byItself []string // those the test did not cause
	final    *os.ProcessState
}

// restartPause is how long the supervisor waits before restarting etl.
const restartPause = 300 * time.Millisecond

func startSupervisor(r *faultRun) *supervisor {
	s := &supervisor{r: r, done: make(chan struct{}), killed: map[int]bool{}}
	go s.loop()
	return s
}

func (s *supervisor) loop() {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	defer close(done)
	for {
		s.mu.Lock()
		if s.stopping {
			s.mu.Unlock()
			return
		}
		cmd, err := s.r.etlCommand(s.r.dsn, s.r.inbox, s.r.archive)
		if err != nil {
			s.mu.Unlock()
			s.r.t.Errorf("start etl: %v", err)
			return
		}
		s.cmd = cmd
		s.starts++
		s.mu.Unlock()

		_ = cmd.Wait()

		s.mu.Lock()
		s.cmd = nil
		how := exitText(cmd.ProcessState)
		switch {
		case s.killed[cmd.Process.Pid]:
			s.exits = append(s.exits, "killed by the test")
		case s.stopping:
			s.final = cmd.ProcessState
		default:
			s.exits = append(s.exits, how)
			s.byItself = append(s.byItself, how)
		}
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		time.Sleep(restartPause)
	}
}

// exitText says how a process ended: "exit 1", "signal: killed".
func exitText(ps *os.ProcessState) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit %d", ps.ExitCode())
}

// pid is the PID of the running etl, 0 between runs.
func (s *supervisor) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// kill SIGKILLs the running etl, waiting up to 10s for one to run.
func (s *supervisor) kill(t *testing.T) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s.mu.Lock()
		if s.cmd != nil {
			s.killed[s.cmd.Process.Pid] = true
			_ = s.cmd.Process.Signal(syscall.SIGKILL)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	t.Errorf("no etl running to kill")
}

// stop sends SIGINT to the running etl, stops restarting it, and returns
// how it ended: its exit code (-1 for a signal or a hang) and in words.
func (s *supervisor) stop(t *testing.T) (int, string) {
	s.mu.Lock()
	if s.stopping {
		done := s.done
		s.mu.Unlock()
		<-done
		return 0, "already stopped"
	}
	s.stopping = true
	cmd, done := s.cmd, s.done
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGINT)
	}
	s.mu.Unlock()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		if cmd != nil {
			_ = cmd.Process.Kill()
		}
		<-done
		return -1, "did not exit within 30s of SIGINT"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final == nil {
		return 0, "not running"
	}
	code := s.final.ExitCode()
	return code, exitText(s.final)
}

// resume starts the supervisor again after a stop (an injection may stop
// etl itself, e.g. to test how it ends under a fault); it does nothing
// when it runs.
func (s *supervisor) resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopping {
		return
	}
	<-s.done // closed: stop waited for it
	s.stopping, s.final, s.done = false, nil, make(chan struct{})
	go s.loop()
}

// unexpectedExits lists how etl ended by itself, not killed by the test.
func (s *supervisor) unexpectedExits() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.byItself...)
}

// describe says in a few words what happened to etl, for the table.
func (s *supervisor) describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[string]int{}
	var order []string
	for _, e := range s.exits {
		if counts[e] == 0 {
			order = append(order, e)
		}
		counts[e]++
	}
	var parts []string
	for _, e := range order {
		parts = append(parts, fmt.Sprintf("%s x%d", e, counts[e]))
	}
	if len(parts) == 0 {
		return "recovered by itself"
	}
	return strings.Join(parts, ", ") + ", restarted"
}

// terminateBackends kills etl's sink connections matching cond (a
// pg_stat_activity condition) with pg_terminate_backend from a test
// connection, in a loop while etl writes, until it has terminated target
// of them or wait has passed. At least one must have been terminated.
func (r *faultRun) terminateBackends(cond string, target int, wait time.Duration) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		r.t.Errorf("connect: %v", err)
		return
	}
	defer conn.Close(ctx)
	q := `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()
		  AND application_name LIKE 'etl % sink' AND state = 'active' AND ` + cond + `) k`
	n := 0
	for deadline := time.Now().Add(wait); n < target && time.Now().Before(deadline); {
		var k int
		if err := conn.QueryRow(ctx, q).Scan(&k); err != nil {
			r.t.Errorf("terminate backends: %v", err)
			return
		}
		if k > 0 {
			n += k
			time.Sleep(time.Duration(100+r.rng.IntN(400)) * time.Millisecond)
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	r.notef("%d backends terminated", n)
	if n == 0 {
		r.t.Errorf("no backend of etl's sink was ever caught (%s) in %s: the fault was not injected", cond, wait)
	}
}

// holdLock takes an ACCESS EXCLUSIVE lock on events in a transaction from
// a test connection and releases it after d. etl must wait for it.
func (r *faultRun) holdLock(d time.Duration) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		r.t.Errorf("connect: %v", err)
		return
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		r.t.Errorf("begin: %v", err)
		return
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE events IN ACCESS EXCLUSIVE MODE`); err != nil {
		r.t.Errorf("lock events: %v", err)
		return
	}
	// Counted inside the locking transaction: any other reader of events
	// waits for the lock too.
	count := func() (n int64) {
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM corrupt_records)`).Scan(&n); err != nil {
			r.t.Errorf("count under the lock: %v", err)
		}
		return n
	}
	before := count()
	time.Sleep(d)
	during := count() - before
	waiting := len(r.inboxFiles())
	if err := tx.Commit(ctx); err != nil {
		r.t.Errorf("release the lock: %v", err)
	}
	r.notef("lock held %s: %d rows committed meanwhile, %d files waiting at release", d, during, waiting)
	if waiting == 0 {
		r.t.Errorf("no file was waiting when the lock was released: the lock did not hold etl up")
	}
}

// setupFullArchive puts the archive folder on a 256 KiB tmpfs: the first
// file (about 200 KB) fits, the next ones do not. The inbox is copied
// aside to compare the archived files with.
func setupFullArchive(r *faultRun) {
	t := r.t
	if os.Geteuid() != 0 {
		t.Skip("skipped: a full archive disk needs a tmpfs mount, which needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", r.archive).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount a tmpfs on the archive folder: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", r.archive).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", r.archive, err, out)
		}
	})
	ref := filepath.Join(r.dir, "reference")
	copyFiles(t, r.inbox, ref)
	r.state["reference"] = ref
}

// injectFullArchive waits until every row is committed while the archive
// is full, checks that the files that did not fit are still in the inbox,
// then gives the archive room.
func injectFullArchive(r *faultRun) {
	t := r.t
	m := r.manifest
	if !r.waitFor(time.Minute, func() bool {
		got, err := countTables(r.dsn)
		return err == nil && got.rows+got.rejects >= m.Rows
	}) {
		t.Errorf("etl did not commit the %d rows within 1m", m.Rows)
	}
	time.Sleep(2 * time.Second) // some polls of archiving attempts
	left := r.inboxFiles()
	archived, _ := filepath.Glob(filepath.Join(r.archive, "*.csv"))
	r.notef("disk full: %d archived, %d kept in inbox", len(archived), len(left))
	if len(left) == 0 {
		t.Errorf("every file was archived: the archive disk never filled")
	}
	if len(left)+len(archived) != len(m.Files) {
		t.Errorf("with the archive full, %d files in the inbox and %d archived; datagen wrote %d", len(left), len(archived), len(m.Files))
	}
	if out, err := exec.Command("mount", "-o", "remount,size=64m", r.archive).CombinedOutput(); err != nil {
		t.Errorf("give the archive room: %v: %s", err, out)
	}
}

// checkFullArchive checks the data against the manifest, and that the
// archive holds every file whole, byte for byte, and nothing else.
func checkFullArchive(r *faultRun, _ want) {
	t := r.t
	checkAgainstManifest(t, r.dsn, r.manifest)
	ref := r.state["reference"].(string)
	entries, err := os.ReadDir(r.archive)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != "lost+found" {
			names = append(names, e.Name())
		}
	}
	if len(names) != len(r.manifest.Files) {
		t.Errorf("the archive holds %v; datagen wrote %v", names, r.manifest.Files)
	}
	for _, name := range r.manifest.Files {
		a, errA := os.ReadFile(filepath.Join(r.archive, name))
		b, errB := os.ReadFile(filepath.Join(ref, name))
		if errA != nil || errB != nil || string(a) != string(b) {
			t.Errorf("archived %s is not the file datagen wrote (%d bytes, want %d; %v %v)", name, len(a), len(b), errA, errB)
		}
	}
}

// The constraint row: a CHECK constraint on events refuses the rows whose
// price is 200 or more, which the cleanser accepts. The sink must send
// each of them to corrupt_records as DB_REJECTED with the database's
// message, and commit the rest of its batch.
//
// How the expected split is computed: the same files are first loaded by
// `etl run --once` into a baseline database without the constraint, which
// must match the manifest exactly (checkAgainstManifest). The number of
// rows the constraint refuses is then a query on the baseline:
// refused = count(*) FROM events WHERE price >= 200. So events must hold
// manifest.accepted - refused rows, corrupt_records manifest.rejected +
// refused, of which refused are DB_REJECTED and the rest by error type as
// in the manifest; a sampled row with a price >= 200 must be in
// corrupt_records at its file and line, and every other one in events.
const constraintSQL = `ALTER TABLE events ADD CONSTRAINT events_price_under_200 CHECK (price < 200)`

func setupConstraint(r *faultRun) {
	t := r.t
	baseInbox, baseArchive := filepath.Join(r.dir, "baseline-events"), filepath.Join(r.dir, "baseline-archive")
	copyFiles(t, r.inbox, baseInbox)
	base := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, base)
	if code := r.runOnce(base, baseInbox, baseArchive); code != 0 {
		t.Fatalf("baseline etl run --once exited %d; log:\n%s", code, r.tail())
	}
	checkAgainstManifest(t, base, r.manifest)
	if t.Failed() {
		t.Fatal("the baseline run without the constraint does not match the manifest")
	}
	var refused int64
	queryRow(t, base, `SELECT count(*) FROM events WHERE price >= 200`, &refused)
	if refused == 0 {
		t.Fatal("no row has a price >= 200: the constraint would refuse nothing")
	}
	r.state["refused"] = refused
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, constraintSQL); err != nil {
		t.Fatalf("%s: %v", constraintSQL, err)
	}
}

func wantConstraint(r *faultRun) want {
	refused := r.state["refused"].(int64)
	return want{r.manifest.Accepted - refused, r.manifest.Rejected + refused}
}

func checkConstraint(r *faultRun, w want) {
	t := r.t
	m := r.manifest
	refused := r.state["refused"].(int64)
	got, err := countTables(r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	if got != w {
		t.Errorf("events %d, corrupt_records %d; want %d and %d (manifest %d and %d, %d refused by the constraint)",
			got.rows, got.rejects, w.rows, w.rejects, m.Accepted, m.Rejected, refused)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	byType := rejectsByType(t, conn)
	wantTypes := map[string]int64{"DB_REJECTED": refused}
	for typ, n := range m.Rejects {
		wantTypes[typ] += n
	}
	for typ := range byType {
		if _, ok := wantTypes[typ]; !ok {
			wantTypes[typ] = 0
		}
	}
	for typ, n := range wantTypes {
		if byType[typ] != n {
			t.Errorf("corrupt_records has %d rows of %s, want %d", byType[typ], typ, n)
		}
	}
	var named int64
	queryRow(t, r.dsn, `SELECT count(*) FROM corrupt_records WHERE error_type = 'DB_REJECTED' AND reason LIKE '%events_price_under_200%'`, &named)
	if named != refused {
		t.Errorf("%d of %d DB_REJECTED rows have a reason naming the constraint events_price_under_200", named, refused)
	}
	// The cleanser leaves the raw text out of what it sends the sink
	// (the engine holds it): the sink must have asked for it.
	var noRaw int64
	queryRow(t, r.dsn, `SELECT count(*) FROM corrupt_records WHERE error_type = 'DB_REJECTED' AND coalesce(corrupt_record, '') = ''`, &noRaw)
	if noRaw > 0 {
		t.Errorf("%d of %d DB_REJECTED rows have no raw text", noRaw, refused)
	}
	var dupLines int64
	queryRow(t, r.dsn, `SELECT count(*) FROM (SELECT source, line FROM corrupt_records GROUP BY 1, 2 HAVING count(*) > 1) d`, &dupLines)
	if dupLines > 0 {
		t.Errorf("%d lines of input are in corrupt_records more than once", dupLines)
	}
	var high int
	for _, s := range m.Samples {
		w := s.Want
		var inEvents, inRejects int
		var raw string
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM events
			WHERE user_id = $1 AND action = $2 AND product_id = $3
			  AND product_name IS NOT DISTINCT FROM NULLIF($4, '')
			  AND price IS NOT DISTINCT FROM NULLIF($5, '')::numeric
			  AND event_time = $6
			  AND session_id IS NOT DISTINCT FROM NULLIF($7, '')`,
			w.UserID, w.Action, w.ProductID, w.ProductName, w.Price, w.EventTime, w.SessionID).Scan(&inEvents); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(max(corrupt_record), '') FROM corrupt_records WHERE error_type = 'DB_REJECTED' AND line = $1 AND source LIKE '%/' || $2`,
			s.Line, s.File).Scan(&inRejects, &raw); err != nil {
			t.Fatal(err)
		}
		var price float64
		if w.Price != "" {
			fmt.Sscan(w.Price, &price)
		}
		if price >= 200 {
			high++
			if inEvents != 0 || inRejects != 1 {
				t.Errorf("%s line %d (price %s): %d rows in events and %d DB_REJECTED in corrupt_records, want 0 and 1", s.File, s.Line, w.Price, inEvents, inRejects)
			} else if !strings.Contains(raw, strconv.FormatInt(w.ProductID, 10)) || !strings.Contains(raw, strconv.FormatInt(w.UserID, 10)) ||
				!strings.Contains(raw, w.SessionID) || !strings.Contains(raw, strings.ReplaceAll(w.ProductName, `"`, `""`)) { // as CSV quotes it
				t.Errorf("%s line %d: DB_REJECTED raw text %q, want the input line (user %d, product %d %q, session %q)", s.File, s.Line, raw, w.UserID, w.ProductID, w.ProductName, w.SessionID)
			}
		} else if inEvents == 0 || inRejects != 0 {
			t.Errorf("%s line %d (price %q): %d rows in events and %d DB_REJECTED, want the row in events only", s.File, s.Line, w.Price, inEvents, inRejects)
		}
	}
	if high == 0 {
		t.Errorf("no sampled row has a price >= 200: the samples do not check the refused rows")
	}
}

// queryRow runs a one-value query on dsn into dst.
func queryRow(t *testing.T, dsn, q string, dst any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, q).Scan(dst); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// copyFiles copies the regular files of from into to (created).
func copyFiles(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// printFaultTable prints the faults and their outcome.
func printFaultTable(w io.Writer, results []faultResult) {
	fmt.Fprintln(w, "\nFault suite (TestFaults):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "fault\tetl\trows want/got\trejects want/got\tverdict\ttime")
	pair := func(a, b int64, ok bool) string {
		if !ok {
			return fmt.Sprintf("%d/?", a)
		}
		return fmt.Sprintf("%d/%d", a, b)
	}
	var total time.Duration
	for _, r := range results {
		total += r.took
		rows, rejects := "-", "-"
		if r.want != (want{}) || r.gotOK {
			rows, rejects = pair(r.want.rows, r.got.rows, r.gotOK), pair(r.want.rejects, r.got.rejects, r.gotOK)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.name, r.etl, rows, rejects, r.verdict, r.took.Round(100*time.Millisecond))
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t%s\n", total.Round(100*time.Millisecond))
	tw.Flush()
}

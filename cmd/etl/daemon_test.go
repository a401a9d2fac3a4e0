package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-etl/etl/cmd/datagen/events"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/host/hosttest"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// daemon is `etl run CONFIG` as a process, streaming, its log in a file.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	logs   string
	addr   string
	exited chan error
	inbox  string
	dir    string
	gens   []*events.Manifest
}

// startDaemon starts etl run on config (relative to cmd/etl) with the
// sink on dsn, and waits until it serves its metrics.
func startDaemon(t *testing.T, config, dsn string, args ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{t: t, logs: filepath.Join(dir, "etl.log"), exited: make(chan error, 1), inbox: filepath.Join(dir, "events"), dir: dir}
	logFile, err := os.Create(d.logs)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	marker := fmt.Sprintf("ETL_DAEMON_MARKER=%d", time.Now().UnixNano())
	d.cmd = exec.Command(os.Args[0], append([]string{"run", config, "--metrics-addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	d.cmd.Env = append(os.Environ(), runAsEtl+"=1", marker, "DATABASE_URL="+dsn, "EVENTS_DIR="+d.inbox, "ARCHIVE_DIR="+filepath.Join(dir, "archive"))
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		hosttest.WaitForNoProcess(marker, 5*time.Second)
	})
	d.waitFor("etl to log its metrics address", time.Minute, func() bool {
		d.addr = metricsAddrFromLog(d.logs)
		return d.addr != ""
	})
	d.waitFor("/readyz to answer 200", time.Minute, func() bool { return d.ready() })
	return d
}

func (d *daemon) tail() string {
	b, _ := os.ReadFile(d.logs)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// waitFor polls cond every 20ms until it holds, failing the test after
// limit or when etl exits. It returns how long it waited.
func (d *daemon) waitFor(what string, limit time.Duration, cond func() bool) time.Duration {
	d.t.Helper()
	start := time.Now()
	for !cond() {
		select {
		case err := <-d.exited:
			d.t.Fatalf("waiting for %s: etl exited: %v; log:\n%s", what, err, d.tail())
		default:
		}
		if time.Since(start) > limit {
			d.t.Fatalf("gave up waiting %s for %s; log:\n%s", limit, what, d.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func (d *daemon) ready() bool {
	resp, err := http.Get("http://" + d.addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// generate has datagen write files into the inbox, and remembers what it
// wrote.
func (d *daemon) generate(files int) {
	d.t.Helper()
	seed := int64(len(d.gens) + 1)
	m, err := events.Run(context.Background(), events.Options{Dir: d.inbox, Files: files, RowsPerFile: 600,
		ManifestPath: filepath.Join(d.dir, fmt.Sprintf("manifest-%d.json", seed)), Config: events.Config{Seed: seed}, LogEvery: -1}, d.t.Logf)
	if err != nil {
		d.t.Fatalf("datagen: %v", err)
	}
	d.gens = append(d.gens, m)
}

// manifest is every datagen run's manifest added up.
func (d *daemon) manifest() *events.Manifest {
	all := &events.Manifest{Rejects: map[string]int64{}}
	for _, m := range d.gens {
		all.Files = append(all.Files, m.Files...)
		all.Rows += m.Rows
		all.Accepted += m.Accepted
		all.Rejected += m.Rejected
		for k, n := range m.Rejects {
			all.Rejects[k] += n
		}
		all.Samples = append(all.Samples, m.Samples...)
	}
	return all
}

// waitAllIn waits until etl's counters say every row generated so far is
// committed.
func (d *daemon) waitAllIn(limit time.Duration) {
	d.t.Helper()
	want := d.manifest().Rows
	d.waitFor(fmt.Sprintf("etl to commit all %d rows", want), limit, func() bool {
		s := getMetrics(d.t, d.addr)
		return int64(s["etl_rows_written_total"])+sumValues(s.rejectedByType()) == want && s["etl_batches_in_flight"] == 0
	})
}

// pluginPid finds the pid of a bundled plugin process of etl: a child of
// it that serves name.
func (d *daemon) pluginPid(name string) int {
	d.t.Helper()
	var pid int
	d.waitFor("the "+name+" plugin process", 30*time.Second, func() bool {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			p, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			// The fields after the command's ")": state, ppid, ...
			fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			if len(fields) < 2 || fields[1] != strconv.Itoa(d.cmd.Process.Pid) || fields[0] == "Z" {
				continue
			}
			env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
			for _, kv := range strings.Split(string(env), "\x00") {
				if kv == host.BundledEnv+"="+name {
					pid = p
					return true
				}
			}
		}
		return false
	})
	return pid
}

// stop sends sig and waits for etl to exit, returning the error of its
// exit and how long it took.
func (d *daemon) stop(sig syscall.Signal, limit time.Duration) (error, time.Duration) {
	d.t.Helper()
	start := time.Now()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		return err, time.Since(start)
	case <-time.After(limit):
		d.t.Fatalf("etl did not exit within %s of %s; log:\n%s", limit, sig, d.tail())
	}
	return nil, 0
}

// restartsOf sums etl_plugin_restarts_total over the steps of plugin.
func restartsOf(s scrape, plugin string) float64 {
	var n float64
	re := regexp.MustCompile(`^etl_plugin_restarts_total\{plugin="` + regexp.QuoteMeta(plugin) + `",step=".*"\}$`)
	for k, v := range s {
		if re.MatchString(k) {
			n += v
		}
	}
	return n
}

// TestPluginKilledWhileIdleIsRestarted: `etl run` with the e-commerce
// pipeline takes in some files and waits; a plugin process killed with
// SIGKILL then is noticed within seconds (/readyz 503), the pipeline is
// restarted from its checkpoint and counted in etl_plugin_restarts_total,
// and the files that arrive afterwards land exactly once. Defect 8.
func TestPluginKilledWhileIdleIsRestarted(t *testing.T) {
	tests := []struct{ name, plugin string }{
		{"sink", "postgres"},
		{"transform", "cleanser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			pgtest.ApplySetup(t, dsn)
			d := startDaemon(t, "../../configs/ecommerce.yaml", dsn)
			d.generate(2)
			d.waitAllIn(2 * time.Minute)
			time.Sleep(time.Second) // idle
			if got := restartsOf(getMetrics(t, d.addr), tt.plugin); got != 0 {
				t.Fatalf("etl_plugin_restarts_total of %s %v before any kill, want 0", tt.plugin, got)
			}
			pid := d.pluginPid(tt.plugin)
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			noticed := d.waitFor("/readyz to answer 503", time.Minute, func() bool { return !d.ready() })
			back := d.waitFor("/readyz to answer 200 again", time.Minute, func() bool { return d.ready() })
			t.Logf("%s killed: /readyz 503 after %s, 200 again %s later", tt.plugin, noticed.Round(time.Millisecond), back.Round(time.Millisecond))
			if noticed > 5*time.Second {
				t.Errorf("/readyz said 200 for %s after the %s plugin was killed; want under 5s", noticed, tt.plugin)
			}
			if got := restartsOf(getMetrics(t, d.addr), tt.plugin); got != 1 {
				t.Errorf("etl_plugin_restarts_total of %s %v after one kill, want 1", tt.plugin, got)
			}
			if new := d.pluginPid(tt.plugin); new == pid {
				t.Errorf("the %s plugin still runs as pid %d", tt.plugin, pid)
			}
			d.generate(2)
			d.waitAllIn(2 * time.Minute)
			if err, _ := d.stop(syscall.SIGTERM, 30*time.Second); err != nil {
				t.Fatalf("etl after SIGTERM: %v; log:\n%s", err, d.tail())
			}
			checkAgainstManifest(t, dsn, d.manifest())
		})
	}
}

// TestTooManyRestartsExitNamingThePlugin: with engine.max_restarts 1, the
// second death of a plugin within engine.restart_window ends etl run with
// status 1 and an error naming the plugin and quoting the end of its
// stderr (here the goroutine dump the Go runtime writes on SIGQUIT). Defect 8.
func TestTooManyRestartsExitNamingThePlugin(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	base, err := os.ReadFile("../../configs/ecommerce.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(base), "  writers: 2\n", "  writers: 2\n  max_restarts: 1\n  restart_window: 5m\n", 1)
	if yaml == string(base) {
		t.Fatal("configs/ecommerce.yaml no longer has `  writers: 2` to add the restart bounds after")
	}
	config := filepath.Join(t.TempDir(), "ecommerce.yaml")
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, config, dsn)
	d.generate(1)
	d.waitAllIn(2 * time.Minute)

	if err := syscall.Kill(d.pluginPid("cleanser"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.waitFor("/readyz to answer 503", time.Minute, func() bool { return !d.ready() })
	d.waitFor("the restart", time.Minute, func() bool { return d.ready() })
	// The second death: SIGQUIT makes the Go runtime write its goroutines
	// to stderr as it dies.
	if err := syscall.Kill(d.pluginPid("cleanser"), syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	select {
	case exitErr = <-d.exited:
	case <-time.After(time.Minute):
		t.Fatalf("etl did not give up after the second death; log:\n%s", d.tail())
	}
	if ee, ok := exitErr.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("etl exited with %v, want status 1", exitErr)
	}
	log, _ := os.ReadFile(d.logs)
	var failed string
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, `"msg":"pipeline failed"`) {
			failed = line
		}
	}
	for _, want := range []string{"giving up after 1 restarts within engine.restart_window 5m0s (engine.max_restarts 1)", "clean: plugin cleanser crashed", "its stderr ends with", "goroutine ", "runtime.gopark"} {
		if !strings.Contains(failed, want) {
			t.Errorf("the failure lacks %q; it says:\n%s", want, failed)
		}
	}
}

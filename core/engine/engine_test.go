package engine_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/host/hosttest"
	"github.com/seed-etl/etl/core/spec"
)

func TestMain(m *testing.M) {
	if host.ServeBundled(testPlugins) {
		return
	}
	if path := os.Getenv("ETL_TEST_ENGINE_SPEC"); path != "" {
		os.Exit(runEngineProcess(path))
	}
	os.Exit(m.Run())
}

// runEngineProcess is the engine of the crash test, in its own process so
// that the test can SIGKILL it.
func runEngineProcess(path string) int {
	s, err := spec.Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	in, err := engine.Open(ctx, s, testHost(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer in.Kill()
	opts := engine.OptionsOf(s)
	opts.Once = true
	if err := engine.Run(ctx, in.Pipeline, opts, nil, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func testHost() *host.Host { return &host.Host{Bundled: testPlugins} }

// writeSpec writes a pipeline file into a temp dir and returns its path.
func writeSpec(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func pipelineYAML(sinkPath, transform string, partitions, rows, rejectEvery int, maxRows int, delay string) string {
	return fmt.Sprintf(`version: 1
name: test
engine:
  batch:
    max_rows: %d
    max_wait: 50ms
  queue_depth: 2
source:
  plugin: gen
  config:
    partitions: %d
    rows: %d
    reject_every: %d
    delay: %s
transforms:
  - plugin: %s
sink:
  plugin: filesink
  config:
    path: %s
`, maxRows, partitions, rows, rejectEvery, delay, transform, sinkPath)
}

func openPipeline(t *testing.T, yaml string) *engine.Instance {
	t.Helper()
	s, err := spec.Load(writeSpec(t, yaml))
	if err != nil {
		t.Fatal(err)
	}
	in, err := engine.Open(context.Background(), s, testHost(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Kill)
	return in
}

func runOnce(t *testing.T, in *engine.Instance) error {
	t.Helper()
	opts := engine.OptionsOf(in.Spec)
	opts.Once = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return engine.Run(ctx, in.Pipeline, opts, nil, nil)
}

// expectation is what a gen -> tag pipeline must deliver.
type expectation struct {
	users   map[string]bool
	rejects map[string]bool
}

func expected(partitions, rows, rejectEvery int) expectation {
	e := expectation{users: map[string]bool{}, rejects: map[string]bool{}}
	for p := 0; p < partitions; p++ {
		for k := 0; k < rows; k++ {
			uid := p*1000000 + k
			origin := fmt.Sprintf("p%d:%d", p, k+1)
			switch {
			case rejectEvery > 0 && k%rejectEvery == 0:
				e.rejects["GEN_REJECT@"+origin] = true
			case uid%97 == 0:
				e.rejects["TAG_REJECT@"+origin] = true
			default:
				e.users[strconv.Itoa(uid)] = true
			}
		}
	}
	return e
}

// checkExactlyOnce compares the sink's file with the expectation: every
// row and every reject exactly once, batch ids strictly growing.
func checkExactlyOnce(t *testing.T, sinkPath string, want expectation) (batches int) {
	t.Helper()
	commits, _, err := readCommits(sinkPath)
	if err != nil {
		t.Fatal(err)
	}
	users, rejects := map[string]int{}, map[string]int{}
	var last int64
	for _, c := range commits {
		if c.BatchID <= last {
			t.Errorf("batch id %d after %d: ids must grow", c.BatchID, last)
		}
		last = c.BatchID
		for _, u := range c.Users {
			users[u]++
		}
		for _, r := range c.Rejects {
			rejects[r]++
		}
	}
	compare(t, "row", users, want.users)
	compare(t, "reject", rejects, want.rejects)
	return len(commits)
}

func compare(t *testing.T, what string, got map[string]int, want map[string]bool) {
	t.Helper()
	var dup, missing, extra []string
	for k, n := range got {
		if !want[k] {
			extra = append(extra, k)
		} else if n > 1 {
			dup = append(dup, fmt.Sprintf("%s x%d", k, n))
		}
	}
	for k := range want {
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	for _, l := range []struct {
		name string
		list []string
	}{{"duplicated", dup}, {"missing", missing}, {"unexpected", extra}} {
		if len(l.list) > 0 {
			sort.Strings(l.list)
			if len(l.list) > 5 {
				l.list = append(l.list[:5], "...")
			}
			t.Errorf("%d %s %ss: %s", len(l.list), l.name, what, strings.Join(l.list, ", "))
		}
	}
}

func TestPipelineOfPluginProcesses(t *testing.T) {
	sinkPath := filepath.Join(t.TempDir(), "sink.jsonl")
	in := openPipeline(t, pipelineYAML(sinkPath, "tag", 3, 2000, 500, 700, "0s"))
	if len(in.Processes) != 3 {
		t.Fatalf("want 3 plugin processes, got %d", len(in.Processes))
	}
	for _, p := range in.Processes {
		if p.Pid() == 0 || p.Pid() == os.Getpid() {
			t.Errorf("%s runs in pid %d: want its own process", p.Step, p.Pid())
		}
	}
	if err := runOnce(t, in); err != nil {
		t.Fatal(err)
	}
	if n := checkExactlyOnce(t, sinkPath, expected(3, 2000, 500)); n < 6000/700 {
		t.Errorf("want at least %d batches of at most 700 rows, got %d", 6000/700, n)
	}
}

func TestResumeAfterGracefulStop(t *testing.T) {
	sinkPath := filepath.Join(t.TempDir(), "sink.jsonl")
	yaml := pipelineYAML(sinkPath, "tag", 4, 3000, 0, 100, "5ms")
	in := openPipeline(t, yaml)
	stop := make(chan struct{})
	var committed int
	opts := engine.OptionsOf(in.Spec)
	opts.OnCommit = func(c engine.Commit) {
		committed++
		if committed == 5 {
			close(stop)
		}
	}
	if err := engine.Run(context.Background(), in.Pipeline, opts, stop, nil); err != nil {
		t.Fatalf("a stop must drain and return nil, got %v", err)
	}
	in.Kill()
	commits, _, err := readCommits(sinkPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(commits) < 5 || len(commits) > 5+2*2+2 {
		t.Fatalf("after a stop at batch 5, want the batches in flight committed (5..11), got %d", len(commits))
	}
	// A second run picks up exactly where the first stopped.
	in2 := openPipeline(t, yaml)
	if err := runOnce(t, in2); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, sinkPath, expected(4, 3000, 0))
}

func TestPluginCrashStopsPipelineAndResumes(t *testing.T) {
	sinkPath := filepath.Join(t.TempDir(), "sink.jsonl")
	yaml := pipelineYAML(sinkPath, "tag", 2, 2000, 0, 100, "0s")
	crashing := strings.Replace(yaml, "  - plugin: tag\n", "  - plugin: tag\n  - plugin: crash\n    config: {after: 3}\n", 1)
	in := openPipeline(t, crashing)
	err := runOnce(t, in)
	if err == nil {
		t.Fatal("want an error when a plugin crashes")
	}
	var ce *host.CrashError
	msg := err.Error()
	if !errorsAs(err, &ce) || !strings.Contains(msg, "crash") || !strings.Contains(msg, "flux capacitor melted") {
		t.Fatalf("want a crash error naming the plugin and the tail of its stderr, got: %v", err)
	}
	commits, _, rerr := readCommits(sinkPath)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if len(commits) > 3 {
		t.Fatalf("the transform crashed on its 4th batch, yet %d batches were committed", len(commits))
	}
	in.Kill()
	in2 := openPipeline(t, yaml)
	if err := runOnce(t, in2); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, sinkPath, expected(2, 2000, 0))
}

// TestCrashRecoveryExactlyOnce SIGKILLs the engine process at random
// moments, restarting it each time, and checks that the sink ends up with
// every row exactly once and that no plugin process outlives its engine.
func TestCrashRecoveryExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the crash test takes a while")
	}
	const partitions, rows, rejectEvery = 6, 4000, 333
	dir := t.TempDir()
	sinkPath := filepath.Join(dir, "sink.jsonl")
	specPath := writeSpec(t, pipelineYAML(sinkPath, "tag", partitions, rows, rejectEvery, 150, "4ms"))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kills := 0
	for attempt := 0; kills < 22 && attempt < 60; attempt++ {
		marker := fmt.Sprintf("ETL_TEST_RUN=%d-%d", os.Getpid(), attempt)
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "ETL_TEST_ENGINE_SPEC="+specPath, marker, host.ExtraEnv+"=ETL_TEST_RUN")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		finished := func(err error) {
			if err != nil {
				t.Fatalf("engine run %d failed: %v\n%s", attempt, err, stderr.String())
			}
			// It finished before the kill: start over from scratch so that
			// the test always kills enough times mid-run.
			if err := os.Remove(sinkPath); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case err := <-done:
			finished(err)
			continue
		case <-time.After(time.Duration(80+rng.IntN(500)) * time.Millisecond):
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); errors.Is(err, os.ErrProcessDone) {
			finished(<-done) // it ended just as the kill came
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		<-done
		kills++
		if left := hosttest.WaitForNoProcess(marker, 3*time.Second); len(left) > 0 {
			t.Fatalf("after SIGKILL of the engine, plugin processes %v are still running", left)
		}
	}
	if kills < 20 {
		t.Fatalf("only %d kills landed mid-run", kills)
	}
	// Finish the job without interruption.
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "ETL_TEST_ENGINE_SPEC="+specPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	n := checkExactlyOnce(t, sinkPath, expected(partitions, rows, rejectEvery))
	t.Logf("%d kills, %d batches committed in all", kills, n)
}

func TestConfigErrorsOfPluginsAreLocated(t *testing.T) {
	path := writeSpec(t, `version: 1
name: test
source:
  plugin: gen
  config:
    partitions: 0
    colour: blue
transforms:
  - plugin: tag
sink:
  plugin: filesink
  config:
    path: ""
`)
	s, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.Open(context.Background(), s, testHost(), nil)
	if err == nil {
		t.Fatal("want config errors")
	}
	msg := err.Error()
	for _, want := range []string{
		path + ":6:5: source.config.partitions: must be > 0",
		path + ":7:5: source.config.colour: unknown key \"colour\"",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q; got:\n%s", want, msg)
		}
	}
}

func TestUnknownPluginIsAClearError(t *testing.T) {
	s, err := spec.Load(writeSpec(t, pipelineYAML("x", "no-such-plugin", 1, 1, 0, 10, "0s")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.Open(context.Background(), s, testHost(), nil)
	if err == nil || !strings.Contains(err.Error(), `"no-such-plugin" is not bundled`) || !strings.Contains(err.Error(), "etl-plugin-no-such-plugin") {
		t.Fatalf("want an error naming the plugin and where it was looked for, got %v", err)
	}
}

func TestWrongKindOfPlugin(t *testing.T) {
	s, err := spec.Load(writeSpec(t, pipelineYAML("x", "gen", 1, 1, 0, 10, "0s")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.Open(context.Background(), s, testHost(), nil)
	if err == nil || !strings.Contains(err.Error(), "is not a transform: it offers source") {
		t.Fatalf("want an error saying gen is not a transform, got %v", err)
	}
}

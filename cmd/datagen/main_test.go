package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-etl/etl/cmd/datagen/events"
)

// TestMain runs the command itself when the test binary is started with
// DATAGEN_TEST_ARGS set (arguments separated by newlines), so that the
// signal tests drive the real main.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("DATAGEN_TEST_ARGS"); ok {
		os.Args = append([]string{"datagen"}, strings.Split(args, "\n")...)
		main()
		return
	}
	os.Exit(m.Run())
}

func TestStopsCleanlyOnSignal(t *testing.T) {
	cases := []struct {
		name string
		sig  os.Signal
	}{
		{"SIGINT", os.Interrupt},
		{"SIGTERM", syscall.SIGTERM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "events")
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "DATAGEN_TEST_ARGS="+strings.Join([]string{
				"--out", out, "--interval", "0", "--rows-per-file", "100000", "--seed", "42", "--log-every", "1",
			}, "\n"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for countCSV(t, out) < 2 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exit *exec.ExitError
			if errors.As(err, &exit) || err != nil {
				t.Fatalf("exit: %v\nstderr:\n%s", err, stderr.String())
			}
			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("temporary file left: %s", e.Name())
				}
			}
			m, err := events.ReadManifest(filepath.Join(dir, events.ManifestName))
			if err != nil {
				t.Fatal(err)
			}
			if n := countCSV(t, out); n < 2 || n != len(m.Files) || !m.Stopped || m.Seed != 42 {
				t.Errorf("%d files on disk; manifest lists %d, stopped %v, seed %d", n, len(m.Files), m.Stopped, m.Seed)
			}
			if !strings.Contains(stderr.String(), "seed 42") || !strings.Contains(stderr.String(), "stopped") {
				t.Errorf("stderr does not give the seed and the stop:\n%s", stderr.String())
			}
		})
	}
}

func countCSV(t *testing.T, dir string) int {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	return len(names)
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name     string
		args     []string
		code     int
		stderr   string // a part of stderr
		stdout   string // what stdout must hold
		manifest string // path of a manifest that must exist, relative to dir
		rows     int64
		kinds    map[string]bool // kinds that must (true) or must not (false) appear
	}{
		{name: "help", args: []string{"--help"}, code: 0, stdout: "-rate-broken-csv"},
		{name: "version", args: []string{"--version"}, code: 0, stdout: "datagen "},
		{name: "unknown flag", args: []string{"--nope"}, code: 2},
		{name: "bad start time", args: []string{"--start-time", "yesterday"}, code: 2, stderr: "--start-time"},
		{name: "start before 2000", args: []string{"--out", filepath.Join(dir, "x"), "--start-time", "1999-01-01T00:00:00Z"}, code: 2, stderr: "2000"},
		{name: "rates over 1", args: []string{"--out", filepath.Join(dir, "x"), "--rate-bad-time", "0.9", "--rate-padding", "0.5"}, code: 2, stderr: "more than 1"},
		{name: "dirty out of range", args: []string{"--dirty", "2"}, code: 2},
		{name: "default manifest beside the folder",
			args: []string{"--out", filepath.Join(dir, "a", "events"), "--files", "2", "--rows-per-file", "300", "--interval", "0",
				"--seed", "1", "--start-time", "2025-06-01T12:00:00Z"},
			code: 0, manifest: "a/" + events.ManifestName, rows: 600},
		{name: "clean only", args: []string{"--out", filepath.Join(dir, "b"), "--manifest", filepath.Join(dir, "b.json"), "--files", "1",
			"--rows-per-file", "5000", "--interval", "0", "--dirty", "0"},
			code: 0, manifest: "b.json", rows: 5000, kinds: map[string]bool{events.KindClean: true, events.KindBadTime: false}},
		{name: "one kind on top of none", args: []string{"--out", filepath.Join(dir, "c"), "--manifest", filepath.Join(dir, "c.json"), "--files", "1",
			"--rows-per-file", "5000", "--interval", "0", "--dirty", "0", "--rate-bad-time", "0.2"},
			code: 0, manifest: "c.json", rows: 5000, kinds: map[string]bool{events.KindBadTime: true, events.KindPadding: false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
			if tc.manifest == "" {
				return
			}
			m, err := events.ReadManifest(filepath.Join(dir, tc.manifest))
			if err != nil {
				t.Fatal(err)
			}
			if m.Rows != tc.rows || m.Stopped {
				t.Errorf("manifest: %d rows, stopped %v; want %d rows", m.Rows, m.Stopped, tc.rows)
			}
			for kind, want := range tc.kinds {
				if got := m.Kinds[kind] > 0; got != want {
					t.Errorf("kind %s present: %v, want %v (%v)", kind, got, want, m.Kinds)
				}
			}
		})
	}
}

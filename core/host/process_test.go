package host

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// buildTiny builds testdata/tiny into a new folder as etl-plugin-tiny,
// with extra go build flags, and returns the folder.
func buildTiny(t *testing.T, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"build", "-o", filepath.Join(dir, ExternalPrefix+"tiny")}, flags...)
	cmd := exec.Command("go", append(args, "./testdata/tiny")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the tiny plugin: %v\n%s", err, out)
	}
	return dir
}

// A plugin built on its own, as a third-party author builds one, is found
// on the plugin path, describes itself, and answers across the process
// boundary: config mistakes with their key path and field, and an error
// wrapping plugin.ErrUnavailable as such.
func TestBuiltPluginStartsAndAnswers(t *testing.T) {
	dir := buildTiny(t)
	h := &Host{Dirs: []string{t.TempDir(), dir}}
	p, err := h.Start(context.Background(), "clean", Ref{Name: "tiny"}, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if p.Info.Name != "tiny" || p.Info.Version != "0.0.7" || strings.Join(p.Info.Kinds, ",") != "source,transform" {
		t.Errorf("the plugin says it is %+v", p.Info)
	}
	if p.Location.Path != filepath.Join(dir, "etl-plugin-tiny") || p.Location.Bundled {
		t.Errorf("the plugin was found at %+v", p.Location)
	}
	if _, err := p.Sink(); err == nil || !strings.Contains(err.Error(), "plugin tiny (") || !strings.Contains(err.Error(), "is not a sink: it offers source, transform") {
		t.Errorf("Sink() = %v, want that tiny is not a sink", err)
	}
	tr, err := p.Transform()
	if err != nil {
		t.Fatal(err)
	}
	in := record.Schema{Fields: []record.Field{{Name: "id", Type: record.Int64}}}
	cfg := plugin.Config{Pipeline: "p", Name: "clean", Raw: []byte("mode: fast\nclose_unavailable: true\n")}
	_, err = tr.Configure(context.Background(), cfg, in)
	var ces plugin.ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 1 || ces[0].Path != "mode" || ces[0].Field != "id" || ces[0].Message != `unknown mode "fast" (want pass)` {
		t.Errorf("Configure = %#v, want one mistake at mode about field id", err)
	}
	cfg.Raw = []byte("mode: pass\nnot_a_key: 1\n")
	if _, err := tr.Configure(context.Background(), cfg, in); !errors.As(err, &ces) || len(ces) != 1 || ces[0].Path != "not_a_key" {
		t.Errorf("Configure = %#v, want the unknown key at its path", err)
	}
	cfg.Raw = []byte("close_unavailable: true\n")
	out, err := tr.Configure(context.Background(), cfg, in)
	if err != nil || len(out.Fields) != 1 || out.Fields[0].Name != "id" || out.Fields[0].Type != record.Int64 {
		t.Fatalf("Configure = %+v, %v; want the input schema back", out, err)
	}
	err = tr.Close(context.Background())
	if !errors.Is(err, plugin.ErrUnavailable) || err.Error() != "tiny: the outside system is down: unavailable" {
		t.Errorf("Close = %v, want the plugin's text, wrapping plugin.ErrUnavailable", err)
	}
}

// TestRebalanceCrossesTheWire: assigned and revoked partitions, Assign,
// Release and per-partition lag reach the other side as sent.
func TestRebalanceCrossesTheWire(t *testing.T) {
	dir := buildTiny(t)
	h := &Host{Dirs: []string{dir}}
	p, err := h.Start(context.Background(), "group", Ref{Name: "tiny"}, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	src, err := p.Source()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := src.Configure(ctx, plugin.Config{Pipeline: "p", Name: "group"}); err != nil {
		t.Fatal(err)
	}
	if err := src.Open(ctx, nil); err != nil {
		t.Fatal(err)
	}
	res, err := src.Read(ctx, plugin.ReadRequest{MaxRows: 10, MaxBytes: 1000, MaxWaitMillis: 10})
	if err != nil || strings.Join(res.Assigned, ",") != "t/0" {
		t.Fatalf("Read = %+v, %v; want t/0 assigned", res, err)
	}
	rb, ok := src.(plugin.Rebalancer)
	if !ok {
		t.Fatal("the engine's source client is no Rebalancer")
	}
	if err := rb.Assign(ctx, []string{"t/0"}, []record.Position{{Partition: "t/0", Offset: 41}}); err != nil {
		t.Fatal(err)
	}
	res, err = src.Read(ctx, plugin.ReadRequest{MaxRows: 10, MaxBytes: 1000, MaxWaitMillis: 10})
	if err != nil || len(res.Positions) != 1 || res.Positions[0].Offset != 42 || strings.Join(res.Revoked, ",") != "t/0" ||
		res.Backlog == nil || len(res.Backlog.Lag) != 1 || res.Backlog.Lag[0] != (plugin.PartitionLag{Partition: "t/0", Messages: 9}) {
		t.Fatalf("Read = %+v, %v; want t/0 at 42 (started at Assign's 41), revoked, 9 behind", res, err)
	}
	if err := rb.Release(ctx, []string{"t/0"}); err != nil {
		t.Fatal(err)
	}
	res, err = src.Read(ctx, plugin.ReadRequest{MaxRows: 10, MaxBytes: 1000, MaxWaitMillis: 10})
	if err != nil || res.Backlog == nil || res.Backlog.Partitions != 1 {
		t.Fatalf("Read = %+v, %v; want the release seen by the plugin", res, err)
	}
}

// A plugin of another protocol version is refused before any call, with
// both versions named: built against an older core/plugin (1) or a newer
// one (99).
func TestPluginOfAnotherProtocolVersionIsRefused(t *testing.T) {
	for _, v := range []string{"1", "99"} {
		t.Run("version "+v, func(t *testing.T) {
			dir := buildTiny(t, "-ldflags", "-X github.com/seed-etl/etl/core/plugin.servedProtocol="+v)
			h := &Host{Dirs: []string{dir}}
			_, err := h.Start(context.Background(), "clean", Ref{Name: "tiny"}, StartOptions{})
			want := `clean: plugin "tiny" (` + filepath.Join(dir, "etl-plugin-tiny") + `) speaks protocol version ` + v +
				`, this etl speaks 2: rebuild it against this etl's github.com/seed-etl/etl/core/plugin (see its PROTOCOL.md)`
			if err == nil || err.Error() != want {
				t.Fatalf("Start = %v,\nwant %s", err, want)
			}
		})
	}
}

// writeScript writes an executable shell script named etl-plugin-NAME in
// dir.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, ExternalPrefix+name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// What PROTOCOL.md promises a plugin in any language: the cookie, the
// versions etl speaks, its private socket folder and the log level, in an
// environment without etl's secrets. A shell script stands for such a
// plugin; it writes its environment out and speaks no protocol.
func TestPluginGetsTheDocumentedHandshakeEnvironment(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://etl:hunter2@db/prod")
	unsetEnv(t, "GOMAXPROCS")
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	writeScript(t, dir, "dump", "env > '"+envFile+"'\n")
	h := &Host{Dirs: []string{dir}}
	if _, err := h.Start(context.Background(), "t", Ref{Name: "dump"}, StartOptions{StartTimeout: 5 * time.Second}); err == nil {
		t.Fatal("a plugin that printed no handshake line started")
	}
	raw, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	sockDir, _ := SocketDir()
	for k, want := range map[string]string{
		"ETL_PLUGIN_MAGIC_COOKIE":  "a1f6e3c2-etl-plugin",
		"PLUGIN_PROTOCOL_VERSIONS": "2",
		"PLUGIN_UNIX_SOCKET_DIR":   sockDir,
		"ETL_PLUGIN_LOG_LEVEL":     "info",
	} {
		if env[k] != want {
			t.Errorf("the plugin's %s = %q, want %q", k, env[k], want)
		}
	}
	if _, ok := env["DATABASE_URL"]; ok {
		t.Error("the plugin got DATABASE_URL")
	}
	if _, ok := env[BundledEnv]; ok {
		t.Errorf("an external plugin got %s", BundledEnv)
	}
	if v, ok := env["GOMAXPROCS"]; ok {
		t.Errorf("an external plugin got GOMAXPROCS=%s, which only bundled plugins get", v)
	}
}

// A plugin that fails to start says why: what it wrote to stderr, the
// handshake line it printed instead of a valid one, the protocol version
// it speaks, or that it printed nothing in time.
func TestStartFailuresSayWhy(t *testing.T) {
	cases := []struct {
		name, script string
		want         []string
		// died: the process ended by itself, a CrashError (the engine
		// restarts a plugin that dies as it starts again).
		died bool
	}{
		{"exits before the handshake", "echo 'cannot open /etc/tiny.conf' >&2\nexit 1\n",
			[]string{"start plugin bad", "its stderr ends with:", "cannot open /etc/tiny.conf"}, true},
		{"killed before the handshake", "kill -9 $$\n",
			[]string{"t: plugin bad crashed while it had to start", "start plugin bad"}, true},
		{"prints something else", "echo hello\nexec sleep 10\n",
			[]string{"start plugin bad", "Unrecognized remote plugin message: hello"}, false},
		{"speaks version 1", "echo \"1|1|unix|$PLUGIN_UNIX_SOCKET_DIR/plugin1|grpc\"\nexec sleep 10\n",
			[]string{`plugin "bad"`, "speaks protocol version 1, this etl speaks 2"}, false},
		{"wrong core version", "echo \"2|2|unix|$PLUGIN_UNIX_SOCKET_DIR/plugin1|grpc\"\nexec sleep 10\n",
			[]string{"start plugin bad", "incompatible core API version"}, false},
		{"net/rpc instead of gRPC", "echo \"1|2|unix|$PLUGIN_UNIX_SOCKET_DIR/plugin1|netrpc\"\nexec sleep 10\n",
			[]string{"start plugin bad", `unsupported plugin protocol "netrpc"`}, false},
		{"silent", "exec sleep 10\n",
			[]string{"start plugin bad", "timeout while waiting for plugin to start"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeScript(t, dir, "bad", c.script)
			h := &Host{Dirs: []string{dir}}
			start := time.Now()
			_, err := h.Start(context.Background(), "t", Ref{Name: "bad"}, StartOptions{StartTimeout: time.Second})
			if err == nil {
				t.Fatal("the plugin started")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var ce *CrashError
			if errors.As(err, &ce) != c.died {
				t.Errorf("error %q: a crash %v, want %v", err, !c.died, c.died)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Start took %s to fail", d)
			}
		})
	}
}

// Find's order: an explicit path, then a bundled plugin, then the first
// folder of the path holding etl-plugin-NAME; a plugin nowhere is
// ErrNotFound, with the nearest bundled name as a hint.
func TestFindOrder(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	inFirst := writeScript(t, first, "x", "exit 0\n")
	writeScript(t, second, "x", "exit 0\n")
	inSecond := writeScript(t, second, "y", "exit 0\n")
	shadow := writeScript(t, second, "probe", "exit 0\n") // a bundled name
	notExec := filepath.Join(first, "etl-plugin-noexec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	h := &Host{Bundled: testPlugins, Dirs: []string{first, second}}
	cases := []struct {
		name string
		ref  Ref
		want Location
		err  string
	}{
		{"first folder wins", Ref{Name: "x"}, Location{Name: "x", Path: inFirst}, ""},
		{"later folder", Ref{Name: "y"}, Location{Name: "y", Path: inSecond}, ""},
		{"bundled before the path", Ref{Name: "probe"}, Location{Name: "probe", Path: exe, Bundled: true}, ""},
		{"explicit path before bundled", Ref{Name: "probe", Path: shadow}, Location{Name: "probe", Path: shadow}, ""},
		{"name from the path", Ref{Path: inSecond}, Location{Name: "y", Path: inSecond}, ""},
		{"path not executable", Ref{Path: notExec}, Location{}, `plugin "` + notExec + `": not an executable file`},
		{"missing path", Ref{Path: filepath.Join(first, "nope")}, Location{}, "no such file or directory"},
		{"nowhere, with a hint", Ref{Name: "prob"}, Location{}, `plugin not found: "prob" is not bundled (have probe, rawprobe) and there is no etl-plugin-prob in ` + first + ", " + second + "; did you mean probe?"},
		{"not executable is not found", Ref{Name: "noexec"}, Location{}, "plugin not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := h.Find(c.ref)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("Find = %+v, %v; want an error with %q", got, err, c.err)
				}
				if strings.HasPrefix(c.err, "plugin not found") && !errors.Is(err, ErrNotFound) {
					t.Errorf("the error does not wrap ErrNotFound")
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("Find = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// Check tells a plugin that answers from one that exited and one that
// hangs (stopped), each within its timeout.
func TestCheckTellsAnsweringExitedAndHung(t *testing.T) {
	ctx := context.Background()
	p := startProbe(t, Ref{}, StartOptions{})
	if err := p.Check(ctx, time.Second); err != nil {
		t.Fatalf("a live plugin fails its check: %v", err)
	}

	if err := syscall.Kill(p.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The signal stops each thread of the process in its own time.
	waitFor(t, "every thread of the plugin to stop", func() bool { return allThreadsStopped(t, p.Pid()) })
	start := time.Now()
	err := p.Check(ctx, 300*time.Millisecond)
	var ce *CrashError
	if !errors.As(err, &ce) || !errors.Is(err, ErrHung) || ce.Plugin != "probe" || ce.Step != "t" {
		t.Errorf("Check of a stopped plugin = %v, want a CrashError wrapping ErrHung", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Check took %s, with a timeout of 300ms", d)
	}

	p.KillNow()
	err = p.Check(ctx, time.Second)
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "t: plugin probe crashed while it had to keep running (the process exited)") {
		t.Errorf("Check of a killed plugin = %v, want that it exited", err)
	}
}

// allThreadsStopped reports whether every thread of process pid is
// stopped by a signal (state T in /proc).
func allThreadsStopped(t *testing.T, pid int) bool {
	tasks, err := os.ReadDir(filepath.Join("/proc", itoa(pid), "task"))
	if err != nil {
		t.Skipf("cannot read the threads of %d (not Linux?): %v", pid, err)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "task", task.Name(), "stat"))
		if err != nil {
			return false
		}
		// The state follows the command name, which is in parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) || stat[i+2] != 'T' {
			return false
		}
	}
	return true
}

package host

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/spec"
)

// procEnviron reads a live process's environment from /proc.
func procEnviron(t *testing.T, pid int) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "environ"))
	if err != nil {
		t.Skipf("cannot read /proc/%d/environ (not Linux?): %v", pid, err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(raw), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// Defect 6: a plugin process used to inherit etl's whole environment,
// DATABASE_URL and its password included.
func TestPluginGetsOnlyAllowlistedEnvironment(t *testing.T) {
	const secret = "postgres://etl:hunter2@db.internal/prod"
	t.Setenv("DATABASE_URL", secret)
	t.Setenv("ETL_TEST_SECRET_TOKEN", "s3cr3t-token")
	t.Setenv("AWS_PROFILE", "loader")
	t.Setenv("HTTPS_PROXY", "http://proxy.internal:3128")
	t.Setenv("LC_TIME", "C.UTF-8")
	t.Setenv("TZ", "Europe/Paris")
	cases := []struct {
		name     string
		stepEnv  []string
		extraEnv string // ETL_PLUGIN_ENV
		want     []string
		absent   []string
	}{
		{"allowlist only", nil, "", []string{"PATH", "TZ", "LC_TIME"}, []string{"AWS_PROFILE", "HTTPS_PROXY"}},
		{"a step's env: names", []string{"AWS_PROFILE"}, "", []string{"PATH", "AWS_PROFILE"}, []string{"HTTPS_PROXY"}},
		{"ETL_PLUGIN_ENV for every plugin", nil, "HTTPS_PROXY", []string{"HTTPS_PROXY"}, []string{"AWS_PROFILE"}},
		{"a reserved name is not taken from etl's environment", []string{SocketDirEnv}, "", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(ExtraEnv, c.extraEnv)
			t.Setenv(SocketDirEnv, "/somewhere/else")
			p := startProbe(t, Ref{Env: c.stepEnv}, StartOptions{})
			env := procEnviron(t, p.Pid())
			for k, v := range env {
				if strings.Contains(v, "hunter2") || strings.Contains(v, "s3cr3t") {
					t.Errorf("the plugin's environment holds a secret: %s=%s", k, v)
				}
			}
			for _, k := range []string{"DATABASE_URL", "ETL_TEST_SECRET_TOKEN"} {
				if _, ok := env[k]; ok {
					t.Errorf("the plugin got %s", k)
				}
			}
			for _, k := range c.want {
				if env[k] != os.Getenv(k) {
					t.Errorf("the plugin's %s = %q, want %q", k, env[k], os.Getenv(k))
				}
			}
			for _, k := range c.absent {
				if _, ok := env[k]; ok {
					t.Errorf("the plugin got %s, which nothing lists", k)
				}
			}
			dir, _ := SocketDir()
			if env[SocketDirEnv] != dir {
				t.Errorf("the plugin's %s = %q, want etl's private folder %q", SocketDirEnv, env[SocketDirEnv], dir)
			}
			if env[BundledEnv] != "probe" || env["ETL_PLUGIN_MAGIC_COOKIE"] == "" {
				t.Errorf("the plugin lacks what it needs to serve: %v", env)
			}
		})
	}
}

// The names etl sets for every plugin cannot be listed under a step's
// env: (spec keeps its own list: they must agree).
func TestReservedEnvRefusedBySpec(t *testing.T) {
	for _, name := range reservedEnv {
		yaml := "version: 1\nname: n\nsource: {plugin: a, env: [" + name + "]}\nsink: {plugin: b}\n"
		if _, err := spec.Parse("p.yaml", []byte(yaml), func(string) (string, bool) { return "", false }); err == nil || !strings.Contains(err.Error(), "set by etl itself") {
			t.Errorf("env: [%s] accepted by spec (err %v); host sets it itself", name, err)
		}
	}
}

func TestEnvironmentOrderAndOwnSettings(t *testing.T) {
	environ := []string{"PATH=/bin", "LC_ALL=C", "SECRET=x", "LANG=C.UTF-8", "AWS_REGION=eu-west-3"}
	lookup := func(k string) (string, bool) {
		for _, kv := range environ {
			if n, v, _ := strings.Cut(kv, "="); n == k {
				return v, true
			}
		}
		return "", false
	}
	got := strings.Join(Environment(environ, lookup, []string{"AWS_REGION", "UNSET_NAME", "PATH"}, "ETL_BUNDLED_PLUGIN=x"), " ")
	want := "PATH=/bin LANG=C.UTF-8 LC_ALL=C AWS_REGION=eu-west-3 ETL_BUNDLED_PLUGIN=x"
	if got != want {
		t.Errorf("Environment = %q, want %q", got, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// unsetEnv unsets name for the test, as t.Setenv sets it.
func unsetEnv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // restores the old value after the test
	os.Unsetenv(name)
}

func TestBundledProcs(t *testing.T) {
	for _, c := range []struct{ procs, want int }{{1, 1}, {2, 1}, {4, 1}, {7, 1}, {8, 2}, {16, 4}, {64, 16}} {
		if got := BundledProcs(c.procs); got != c.want {
			t.Errorf("BundledProcs(%d) = %d, want %d", c.procs, got, c.want)
		}
	}
}

// A bundled plugin runs with GOMAXPROCS=BundledProcs of etl's unless etl's
// environment sets GOMAXPROCS, which it then gets as it is.
func TestBundledPluginGetsItsGOMAXPROCS(t *testing.T) {
	want := strconv.Itoa(BundledProcs(runtime.GOMAXPROCS(0)))
	for _, c := range []struct{ etl, want string }{{"", want}, {"3", "3"}} {
		t.Run("GOMAXPROCS="+c.etl, func(t *testing.T) {
			if c.etl == "" {
				unsetEnv(t, "GOMAXPROCS")
			} else {
				t.Setenv("GOMAXPROCS", c.etl)
			}
			env := procEnviron(t, startProbe(t, Ref{}, StartOptions{}).Pid())
			if env["GOMAXPROCS"] != c.want {
				t.Errorf("the bundled plugin's GOMAXPROCS = %q, want %q", env["GOMAXPROCS"], c.want)
			}
		})
	}
}

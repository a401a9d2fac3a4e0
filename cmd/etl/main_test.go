package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/host"
)

func TestMain(m *testing.M) {
	// The bundled plugins are served by re-executing this test binary, as
	// etl re-executes itself.
	if host.ServeBundled(bundled) {
		return
	}
	if os.Getenv(runAsEtl) != "" {
		code := run(os.Args[1:], os.Stdout, os.Stderr)
		host.Cleanup()
		os.Exit(code)
	}
	code := m.Run()
	host.Cleanup()
	os.Exit(code)
}

func etl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestValidateListsEveryMistakeWithPosition(t *testing.T) {
	path := writeFile(t, "bad.yaml", `version: 1
name: shop
engine:
  batch:
    max_wait: soon
source:
  plugin: csvdir
  colour: red
sink:
  plugin: postgres
  config:
    dsn: ${ETL_TEST_SURELY_UNSET_VARIABLE}
`)
	code, _, stderr := etl(t, "validate", path)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		path + `:5:15: engine.batch.max_wait: "soon" is not a duration`,
		path + `:8:3: source.colour: unknown key`,
		path + `:12:10: sink.config.dsn: environment variable ETL_TEST_SURELY_UNSET_VARIABLE is not set`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q; got:\n%s", want, stderr)
		}
	}
}

func TestValidateAsksThePlugins(t *testing.T) {
	path := writeFile(t, "p.yaml", `version: 1
name: shop
source:
  plugin: no-such-source
sink:
  plugin: postgres
`)
	code, _, stderr := etl(t, "validate", path)
	if code != 1 || !strings.Contains(stderr, `"no-such-source" is not bundled`) {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 naming the unknown plugin", code, stderr)
	}
}

// The plugins check their own config blocks; their errors point at the
// YAML line of the offending key, all of them together.
func TestValidateReportsPluginConfigErrors(t *testing.T) {
	path := writeFile(t, "plugins.yaml", `version: 1
name: shop
source:
  plugin: csvdir
  config:
    path: /surely/not/a/folder/of/this/machine
    after_read: shred
sink:
  plugin: postgres
  config:
    dsn: postgres://nobody@127.0.0.1:1/none
`)
	code, _, stderr := etl(t, "validate", path)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(regexp.QuoteMeta(path) + `:6:5: source\.config\.path: .*does not exist`),
		regexp.MustCompile(regexp.QuoteMeta(path) + `:7:5: source\.config\.after_read: .*shred`),
	} {
		if !want.MatchString(stderr) {
			t.Errorf("stderr does not match %s; got:\n%s", want, stderr)
		}
	}

	// A transform is checked against the schema its source produces.
	path = writeFile(t, "rules.yaml", `version: 1
name: shop
source:
  plugin: csvdir
  config: {path: `+t.TempDir()+`, columns: [user_id, action]}
transforms:
  - name: clean
    plugin: cleanser
    config:
      fields:
        - {name: user_id, type: int64}
        - {name: price, type: decimal, scale: 2}
      rules:
        - {name: broken, expr: "user_id >"}
sink:
  plugin: postgres
  config: {dsn: "postgres://nobody@127.0.0.1:1/none"}
`)
	code, _, stderr = etl(t, "validate", path)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(regexp.QuoteMeta(path) + `:12:\d+: transforms\[0\]\.config\.fields\[1\]\S*: .*price`),
		regexp.MustCompile(regexp.QuoteMeta(path) + `:14:\d+: transforms\[0\]\.config\.rules\[0\]\S*: .*broken`),
	} {
		if !want.MatchString(stderr) {
			t.Errorf("stderr does not match %s; got:\n%s", want, stderr)
		}
	}
}

func TestPluginsListsBundled(t *testing.T) {
	code, stdout, stderr := etl(t, "plugins", "--plugin-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for name, kind := range map[string]string{"csvdir": "source", "cleanser": "transform", "postgres": "sink"} {
		re := regexp.MustCompile(`(?m)^` + name + `\s+` + kind + `\s+\S+\s+bundled$`)
		if !re.MatchString(stdout) {
			t.Errorf("etl plugins does not list %s as a bundled %s:\n%s", name, kind, stdout)
		}
	}
}

// Defect 5: `etl plugins` ran any ./plugins/bin/etl-plugin-* of the
// working directory, world-writable ones included.
func TestPluginsRefusesReplaceableExecutablesAndSaysWhereItLooked(t *testing.T) {
	tmp := t.TempDir()
	evil := func(dir, name string) string {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "etl-plugin-"+name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\ntouch \"$0.ran\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o757); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flagDir := filepath.Join(tmp, "flagdir")
	flagged := evil(flagDir, "flagged")
	// A repository with a pipeline file and its own plugins/bin.
	repo := filepath.Join(tmp, "repo")
	repoBin := filepath.Join(repo, "plugins", "bin")
	inRepo := evil(repoBin, "inrepo")
	if err := os.MkdirAll(filepath.Join(repo, "configs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(repo, "configs", "p.yaml")
	if err := os.WriteFile(config, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The working directory's plugins/bin is never searched.
	cwd := filepath.Join(tmp, "cwd")
	inCwd := evil(filepath.Join(cwd, "plugins", "bin"), "incwd")
	t.Chdir(cwd)

	cases := []struct {
		name    string
		args    []string
		refused []string
		folders []string
	}{
		{"no pipeline", []string{"plugins", "--plugin-dir", flagDir}, []string{flagged}, []string{flagDir + `\s+--plugin-dir`}},
		{"a pipeline's repository", []string{"plugins", config, "--plugin-dir", flagDir}, []string{flagged, inRepo},
			[]string{flagDir + `\s+--plugin-dir`, repoBin + `\s+the pipeline's repository, ` + repo}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := etl(t, c.args...)
			if code != 1 {
				t.Errorf("exit %d with a refused plugin, want 1; stderr %s", code, stderr)
			}
			for _, p := range c.refused {
				want := regexp.MustCompile(`(?m)^\S+\s+-\s+-\s+` + regexp.QuoteMeta(p) + ` \(REFUSED: it is world-writable \(mode 0757\); chmod o-w it\)$`)
				if !want.MatchString(stdout) {
					t.Errorf("etl plugins does not list %s as refused:\n%s", p, stdout)
				}
			}
			for _, f := range c.folders {
				if !regexp.MustCompile(`(?m)^  ` + f).MatchString(stdout) {
					t.Errorf("etl plugins does not say it searched %s:\n%s", f, stdout)
				}
			}
			if !strings.Contains(stdout, "Plugin folders searched, in order:") || !strings.Contains(stdout, "beside etl's install") {
				t.Errorf("etl plugins does not list the folders searched:\n%s", stdout)
			}
			if strings.Contains(stdout, "incwd") {
				t.Errorf("etl plugins looked in the working directory's plugins/bin:\n%s", stdout)
			}
		})
	}
	for _, p := range []string{flagged, inRepo, inCwd} {
		if _, err := os.Stat(p + ".ran"); err == nil {
			t.Errorf("%s was executed", p)
		}
	}
}

// Help goes to stdout, mistakes to stderr.
func TestHelpAndVersion(t *testing.T) {
	cases := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"version"}, 0, "etl " + version, ""},
		{[]string{"--help"}, 0, "etl run CONFIG", ""},
		{[]string{"help"}, 0, "etl run CONFIG", ""},
		{[]string{"help", "run"}, 0, "--once", ""},
		{[]string{"help", "status"}, 0, "Usage: etl status", ""},
		{[]string{"run", "--help"}, 0, "--once", ""},
		{[]string{"run", "-h"}, 0, "--once", ""},
		{[]string{"validate", "--help"}, 0, "Moves no data", ""},
		{[]string{"status", "--help"}, 0, "Usage: etl status", ""},
		{[]string{"plugins", "--help"}, 0, "--plugin-dir", ""},
		{[]string{"validate", "--bogus"}, 2, "", "Usage: etl validate"},
		{[]string{"help", "frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"run"}, 2, "", "want exactly one CONFIG"},
		{nil, 2, "", "Usage"},
	}
	for _, c := range cases {
		code, stdout, stderr := etl(t, c.args...)
		if code != c.code || !strings.Contains(stdout, c.stdout) || !strings.Contains(stderr, c.stderr) {
			t.Errorf("etl %v: exit %d, stdout %q, stderr %q; want exit %d, %q on stdout and %q on stderr", c.args, code, stdout, stderr, c.code, c.stdout, c.stderr)
		}
		if c.code == 0 && stderr != "" {
			t.Errorf("etl %v wrote to stderr: %q", c.args, stderr)
		}
	}
}

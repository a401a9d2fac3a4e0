package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mkdir(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// script writes an executable that, if ever run, leaves a file ran beside
// itself.
func script(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	body := "#!/bin/sh\ntouch \"$0.ran\"\n"
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

// Defect 5: etl executed any etl-plugin-* it found, world-writable ones
// included.
func TestCheckTrustedRefusesWhatOthersCanReplace(t *testing.T) {
	root := os.Geteuid() == 0
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) string
		want  string // "" for trusted; else the whole message, PATH for the plugin
	}{
		{"0755 file in a 0755 folder", func(t *testing.T, dir string) string {
			return script(t, filepath.Join(mkdir(t, filepath.Join(dir, "ok"), 0o755), "etl-plugin-ok"), 0o755)
		}, ""},
		{"world-writable file", func(t *testing.T, dir string) string {
			return script(t, filepath.Join(dir, "etl-plugin-foo"), 0o777&^0o020)
		}, "refusing plugin PATH: it is world-writable (mode 0757); chmod o-w it"},
		{"group-writable file", func(t *testing.T, dir string) string {
			return script(t, filepath.Join(dir, "etl-plugin-foo"), 0o775)
		}, "refusing plugin PATH: it is group-writable (mode 0775); chmod g-w it"},
		{"group- and world-writable file", func(t *testing.T, dir string) string {
			return script(t, filepath.Join(dir, "etl-plugin-foo"), 0o777)
		}, "refusing plugin PATH: it is group- and world-writable (mode 0777); chmod go-w it"},
		{"world-writable folder", func(t *testing.T, dir string) string {
			return script(t, filepath.Join(mkdir(t, filepath.Join(dir, "open"), 0o777), "etl-plugin-foo"), 0o755)
		}, "refusing plugin PATH: its folder DIR/open is group- and world-writable (mode 0777) and not a sticky folder owned by root; chmod go-w DIR/open"},
		{"world-writable folder further up", func(t *testing.T, dir string) string {
			mkdir(t, filepath.Join(dir, "up"), 0o757)
			return script(t, filepath.Join(mkdir(t, filepath.Join(dir, "up", "bin"), 0o755), "etl-plugin-foo"), 0o755)
		}, "refusing plugin PATH: its folder DIR/up is world-writable (mode 0757) and not a sticky folder owned by root; chmod o-w DIR/up"},
		{"link to a file in a world-writable folder", func(t *testing.T, dir string) string {
			target := script(t, filepath.Join(mkdir(t, filepath.Join(dir, "drop"), 0o777), "real"), 0o755)
			link := filepath.Join(mkdir(t, filepath.Join(dir, "bin"), 0o755), "etl-plugin-foo")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "refusing plugin PATH: its folder DIR/drop is group- and world-writable (mode 0777)"},
		{"link to a world-writable file", func(t *testing.T, dir string) string {
			target := script(t, filepath.Join(dir, "real"), 0o757)
			link := filepath.Join(dir, "etl-plugin-foo")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "refusing plugin PATH: its target DIR/real is world-writable (mode 0757); chmod o-w DIR/real"},
		{"not executable", func(t *testing.T, dir string) string {
			return script(t, filepath.Join(dir, "etl-plugin-foo"), 0o644)
		}, "refusing plugin PATH: it is not an executable file"},
	}
	if root {
		cases = append(cases,
			struct {
				name  string
				setup func(t *testing.T, dir string) string
				want  string
			}{"owned by another user", func(t *testing.T, dir string) string {
				p := script(t, filepath.Join(dir, "etl-plugin-foo"), 0o755)
				if err := os.Chown(p, 4242, 4242); err != nil {
					t.Fatal(err)
				}
				return p
			}, "refusing plugin PATH: it is owned by uid 4242, not by you (uid 0) or root"},
			struct {
				name  string
				setup func(t *testing.T, dir string) string
				want  string
			}{"sticky folder owned by root, like /tmp", func(t *testing.T, dir string) string {
				return script(t, filepath.Join(mkdir(t, filepath.Join(dir, "tmp"), 0o777|os.ModeSticky), "etl-plugin-ok"), 0o755)
			}, ""},
			struct {
				name  string
				setup func(t *testing.T, dir string) string
				want  string
			}{"sticky folder owned by someone else", func(t *testing.T, dir string) string {
				d := mkdir(t, filepath.Join(dir, "tmp"), 0o777|os.ModeSticky)
				if err := os.Chown(d, 4242, 4242); err != nil {
					t.Fatal(err)
				}
				return script(t, filepath.Join(d, "etl-plugin-foo"), 0o755)
			}, "refusing plugin PATH: its folder DIR/tmp is owned by uid 4242"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := c.setup(t, dir)
			err := CheckTrusted(path)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused a trustworthy plugin: %v", err)
				}
				return
			}
			want := strings.NewReplacer("PATH", path, "DIR", dir).Replace(c.want)
			var re *RefusedError
			if !errors.As(err, &re) || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("CheckTrusted = %v,\nwant %s", err, want)
			}
		})
	}
}

// A refused executable is listed with its reason, and never run: not by
// All, not by Find, not by Start, not by an explicit path:.
func TestRefusedPluginIsListedAndNeverRun(t *testing.T) {
	dir := t.TempDir()
	evil := script(t, filepath.Join(dir, "etl-plugin-evil"), 0o777)
	h := &Host{Bundled: testPlugins, Dirs: []string{dir}}
	locs, err := h.All()
	if err != nil {
		t.Fatal(err)
	}
	var listed *Location
	for i := range locs {
		if locs[i].Name == "evil" {
			listed = &locs[i]
		}
	}
	if listed == nil || listed.Refused == nil || !strings.Contains(listed.Refused.Error(), "world-writable") {
		t.Fatalf("All lists %+v, want evil refused as world-writable", listed)
	}
	want := "refusing plugin " + evil + ": it is group- and world-writable (mode 0777); chmod go-w it"
	if _, err := h.Find(Ref{Name: "evil"}); err == nil || err.Error() != want {
		t.Errorf("Find = %v, want %s", err, want)
	}
	for _, ref := range []Ref{{Name: "evil"}, {Path: evil}} {
		if _, err := h.Start(context.Background(), "t", ref, StartOptions{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Start(%+v) = %v, want %s", ref, err, want)
		}
	}
	if _, err := StartAt(context.Background(), "t", *listed, StartOptions{}); err == nil {
		t.Error("StartAt started a refused plugin")
	}
	if _, err := os.Stat(evil + ".ran"); err == nil {
		t.Fatal("the world-writable plugin was executed")
	}
}

// An external plugin that passes the checks starts (a link named
// etl-plugin-probe to this test binary, which serves the probe).
func TestTrustedExternalPluginStarts(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, "etl-plugin-probe")); err != nil {
		t.Fatal(err)
	}
	h := &Host{Dirs: []string{dir}}
	p, err := h.Start(context.Background(), "t", Ref{Name: "probe"}, StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if p.Info.Version != "1.2.3" || p.Location.Bundled {
		t.Errorf("started %+v from %s", p.Info, p.Location.Where())
	}
}

// The default plugins/bin comes from the pipeline file's repository and
// from beside etl's executable, never from the working directory.
func TestSearchPathRule(t *testing.T) {
	tmp := t.TempDir()
	touch := func(p string) {
		mkdir(t, filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// repo/ with go.mod and plugins/bin; a pipeline in repo/configs.
	repo := filepath.Join(tmp, "repo")
	touch(filepath.Join(repo, "go.mod"))
	mkdir(t, filepath.Join(repo, "plugins", "bin"), 0o755)
	touch(filepath.Join(repo, "configs", "p.yaml"))
	// repo/team/ has its own plugins/bin: nearest wins.
	mkdir(t, filepath.Join(repo, "team", "plugins", "bin"), 0o755)
	touch(filepath.Join(repo, "team", "pipelines", "q.yaml"))
	// outer/plugins/bin above a repository root (.git) is not looked at.
	mkdir(t, filepath.Join(tmp, "outer", "plugins", "bin"), 0o755)
	mkdir(t, filepath.Join(tmp, "outer", "inner", ".git"), 0o755)
	touch(filepath.Join(tmp, "outer", "inner", "r.yaml"))

	// The working directory has a plugins/bin: it must not be used.
	cwd := filepath.Join(tmp, "cwd")
	mkdir(t, filepath.Join(cwd, "plugins", "bin"), 0o755)
	t.Chdir(cwd)
	t.Setenv(PathEnv, "/opt/etl/plugins:relative/dir")

	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	install := filepath.Join(filepath.Dir(filepath.Dir(exe)), "plugins", "bin")
	cases := []struct {
		pipeline string
		want     []string
	}{
		{"", []string{"/flag", "/opt/etl/plugins", filepath.Join(cwd, "relative/dir"), install}},
		{filepath.Join(repo, "configs", "p.yaml"), []string{"/flag", "/opt/etl/plugins", filepath.Join(cwd, "relative/dir"), filepath.Join(repo, "plugins", "bin"), install}},
		{filepath.Join(repo, "team", "pipelines", "q.yaml"), []string{"/flag", "/opt/etl/plugins", filepath.Join(cwd, "relative/dir"), filepath.Join(repo, "team", "plugins", "bin"), install}},
		{filepath.Join(tmp, "outer", "inner", "r.yaml"), []string{"/flag", "/opt/etl/plugins", filepath.Join(cwd, "relative/dir"), filepath.Join(tmp, "outer", "inner", "plugins", "bin"), install}},
	}
	for _, c := range cases {
		got := SearchPath([]string{"/flag"}, c.pipeline)
		if strings.Join(Paths(got), "\n") != strings.Join(c.want, "\n") {
			t.Errorf("SearchPath(%q) =\n%v\nwant\n%v", c.pipeline, Paths(got), c.want)
		}
		for _, d := range got {
			if d.Path == filepath.Join(cwd, "plugins", "bin") {
				t.Errorf("the working directory's plugins/bin is on the path")
			}
			if d.Why == "" {
				t.Errorf("%s has no reason", d.Path)
			}
		}
	}
}

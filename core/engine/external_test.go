package engine_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/engine"
	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/spec"
)

// buildExample builds the example third-party plugin into dir as
// etl-plugin-fingerprint, with extra go build flags.
func buildExample(t *testing.T, dir string, flags ...string) string {
	t.Helper()
	out := filepath.Join(dir, "etl-plugin-fingerprint")
	args := append([]string{"build", "-o", out}, flags...)
	args = append(args, "../../plugins/examples/fingerprint")
	cmd := exec.Command("go", args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the example plugin: %v\n%s", err, msg)
	}
	return out
}

func TestExternalPluginBuiltAndLoaded(t *testing.T) {
	dir := t.TempDir()
	exe := buildExample(t, dir)
	for _, how := range []string{"plugin-dir", "path"} {
		t.Run(how, func(t *testing.T) {
			sinkPath := filepath.Join(t.TempDir(), "sink.jsonl")
			ref := "plugin: fingerprint"
			if how == "path" {
				ref = "path: " + exe
			}
			yaml := fmt.Sprintf(`version: 1
name: ext
source:
  plugin: gen
  config: {partitions: 2, rows: 300}
transforms:
  - %s
    config: {column: fp}
sink:
  plugin: filesink
  config: {path: %s, column: 7}
`, ref, sinkPath)
			s, err := spec.Load(writeSpec(t, yaml))
			if err != nil {
				t.Fatal(err)
			}
			h := &host.Host{Bundled: testPlugins, Dirs: []string{dir}}
			in, err := engine.Open(context.Background(), s, h, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Kill()
			if got := in.Schemas[1].Names(); len(got) != 8 || got[7] != "fp" {
				t.Fatalf("schema after the plugin: %v, want the 7 input fields and fp", got)
			}
			if p := in.Processes[1]; p.Info.Name != "fingerprint" || p.Info.Version != "1.0.0" || p.Location.Bundled {
				t.Fatalf("the transform is %+v at %s, want the external fingerprint 1.0.0", p.Info, p.Location.Where())
			}
			opts := engine.OptionsOf(s)
			opts.Once = true
			if err := engine.Run(context.Background(), in.Pipeline, opts, nil, nil); err != nil {
				t.Fatal(err)
			}
			commits, _, err := readCommits(sinkPath)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for p := 0; p < 2; p++ {
				for k := 0; k < 300; k++ {
					raw := strconv.Itoa(p*1000000+k) + ",VIEW,4711,Widget,19.99,2026-11-25T10:00:00Z,s-0a1b2c3d"
					h := fnv.New64a()
					h.Write([]byte(raw))
					want[hex.EncodeToString(h.Sum(nil))] = true
				}
			}
			got := 0
			for _, c := range commits {
				for _, fp := range c.Users {
					if !want[fp] {
						t.Fatalf("fingerprint %q matches no input row", fp)
					}
					got++
				}
			}
			if got != 600 {
				t.Fatalf("got %d fingerprinted rows, want 600", got)
			}
		})
	}
}

func TestIncompatiblePluginIsRefused(t *testing.T) {
	dir := t.TempDir()
	buildExample(t, dir, "-ldflags", "-X github.com/seed-etl/etl/core/plugin.servedProtocol=99")
	yaml := `version: 1
name: ext
source: {plugin: gen}
transforms:
  - plugin: fingerprint
sink: {plugin: count}
`
	s, err := spec.Load(writeSpec(t, yaml))
	if err != nil {
		t.Fatal(err)
	}
	h := &host.Host{Bundled: testPlugins, Dirs: []string{dir}}
	_, err = engine.Open(context.Background(), s, h, nil)
	if err == nil {
		t.Fatal("a plugin speaking protocol 99 must be refused")
	}
	msg := err.Error()
	for _, want := range []string{`plugin "fingerprint"`, "speaks protocol version 99, this etl speaks 2: rebuild it against"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	_ = os.Remove(filepath.Join(dir, "etl-plugin-fingerprint"))
}

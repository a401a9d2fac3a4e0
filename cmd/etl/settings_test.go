package main

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/host"
	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/plugins/cleanser"
	"github.com/seed-etl/etl/plugins/csvdir"
	"github.com/seed-etl/etl/plugins/postgres"
)

func TestPluginsNamePrintsItsSettings(t *testing.T) {
	code, stdout, stderr := etl(t, "plugins", "csvdir", "--plugin-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		`(?m)^csvdir \S+: source \(bundled\)$`,
		`(?m)^NAME\s+TYPE\s+DEFAULT\s+REQUIRED\s+DOC$`,
		`(?m)^path\s+string\s+-\s+yes\s+The folder watched for CSV files\.$`,
		`(?m)^poll_interval\s+duration\s+250ms\s+no\s+How often`,
		`(?m)^max_line_bytes\s+size\s+1MiB\s+no\s+`,
		`(?m)^after_read\s+string\s+keep\s+no\s+.* One of keep, archive, delete\.$`,
	} {
		if !regexp.MustCompile(want).MatchString(stdout) {
			t.Errorf("etl plugins csvdir does not match %s:\n%s", want, stdout)
		}
	}
	// The listing without a name stays as it was.
	if _, list, _ := etl(t, "plugins", "--plugin-dir", t.TempDir()); !strings.Contains(list, "Plugin folders searched") || strings.Contains(list, "poll_interval") {
		t.Errorf("etl plugins without NAME:\n%s", list)
	}
}

func TestPluginsNameMistakes(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown plugin", []string{"plugins", "nosuch", "--plugin-dir", t.TempDir()}, 1, "nosuch"},
		{"two names", []string{"plugins", "csvdir", "postgres"}, 2, "at most one CONFIG file and one plugin NAME"},
		{"markdown without a name", []string{"plugins", "--markdown"}, 2, "--markdown and --sample need a plugin NAME"},
		{"missing config", []string{"plugins", "no/such.yaml"}, 1, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := etl(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

func TestPluginsMarkdownTable(t *testing.T) {
	code, stdout, stderr := etl(t, "plugins", "--markdown", "postgres", "--plugin-dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"| setting | type | default | required | description |\n|---|---|---|---|---|\n",
		"| `dsn` | string |  | yes | ",
		"| `retry.max_time` | duration | `1m` |  | ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("etl plugins --markdown postgres lacks %q:\n%s", want, stdout)
		}
	}
}

// The README's settings tables are what the plugins describe.
func TestReadmeSettingsTablesAreGenerated(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	h := &host.Host{Bundled: bundled}
	var sections []string
	want, err := withSettingsTables(string(readme), func(name string) (host.Info, error) {
		sections = append(sections, name)
		info, _, err := describePlugin(h, name)
		return info, err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"csvdir", "cleanser", "postgres"} {
		if !slices.Contains(sections, name) {
			t.Errorf("README.md has no section <!-- settings:%s --> ... <!-- /settings:%s -->", name, name)
		}
	}
	if want != string(readme) {
		t.Errorf("README.md's settings tables differ from what the plugins describe; run\n\t%s\n%s", regenerateCommand, lineDiff(string(readme), want))
	}
}

func TestWithSettingsTablesReplacesSections(t *testing.T) {
	info := host.Info{Name: "p", Settings: []plugin.Setting{{Name: "a", Type: plugin.TypeString, Doc: "A | B.", Allowed: []string{"x", "y"}}}}
	doc := "intro\n<!-- settings:p -->\nold table\n<!-- /settings:p -->\nafter\n"
	got, err := withSettingsTables(doc, func(string) (host.Info, error) { return info, nil })
	if err != nil {
		t.Fatal(err)
	}
	want := "intro\n<!-- settings:p -->\n| setting | type | default | required | description |\n|---|---|---|---|---|\n| `a` | string |  |  | A \\| B. One of `x`, `y`. |\n<!-- /settings:p -->\nafter\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := withSettingsTables("<!-- settings:p -->\n<!-- /settings:q -->", func(string) (host.Info, error) { return info, nil }); err == nil {
		t.Error("a section closed under another name is not an error")
	}
}

// lineDiff shows the lines of got and want that the other lacks.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("README.md:" + strconv.Itoa(i+1) + ": - " + l + "\n")
		}
	}
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("generated: + " + l + "\n")
		}
	}
	return b.String()
}

// The example block of each bundled plugin decodes into its config, as it
// is and with every key uncommented: the defaults described are values of
// their types.
func TestPluginsSampleDecodes(t *testing.T) {
	commentedKey := regexp.MustCompile(`(?m)^(\s*)# (- # one element|[a-z_]+:(?: |$))`)
	for name, cfg := range map[string]any{"csvdir": &csvdir.Config{}, "cleanser": &cleanser.Config{}, "postgres": &postgres.Config{}} {
		t.Run(name, func(t *testing.T) {
			code, sample, stderr := etl(t, "plugins", "--sample", name, "--plugin-dir", t.TempDir())
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, s := range bundled[name].Settings {
				key := s.Name[strings.LastIndexAny(s.Name, ".]")+1:]
				if !strings.Contains(sample, " "+key+":") && !strings.HasPrefix(sample, key+":") && !strings.Contains(sample, "\n"+key+":") {
					t.Errorf("the sample lacks %s:\n%s", s.Name, sample)
				}
			}
			if err := plugin.DecodeConfig([]byte(sample), cfg); err != nil {
				t.Errorf("the sample does not decode: %v\n%s", err, sample)
			}
			all := commentedKey.ReplaceAllString(sample, "$1$2")
			if err := plugin.DecodeConfig([]byte(all), cfg); err != nil {
				t.Errorf("the sample with every key uncommented does not decode: %v\n%s", err, all)
			}
		})
	}
}

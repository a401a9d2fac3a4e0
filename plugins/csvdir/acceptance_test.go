package csvdir_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/plugintest"
	"github.com/seed-etl/etl/plugins/csvdir"
)

// TestAcceptance runs the plugin acceptance suite on the source: each
// check gets a folder of its own, and each Produce writes a new CSV file
// into it (header, then its lines, every fifth with a field too many, which
// the source rejects), as a producer does: a temporary name, then a rename.
func TestAcceptance(t *testing.T) {
	plugintest.SourceSuite{
		New: func() plugin.Source { return csvdir.New() },
		Input: func(t testing.TB) plugintest.SourceInput {
			root := t.TempDir()
			dir := filepath.Join(root, "inbox")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := fmt.Sprintf("path: %q\ncolumns: [id, name]\npoll_interval: 10ms\nafter_read: archive\narchive_path: %q\n",
				dir, filepath.Join(root, "archive"))
			files, lines := 0, 0
			produce := func(t testing.TB, n int) []string {
				files++
				var texts []string
				for i := 0; i < n; i++ {
					lines++
					line := fmt.Sprintf("%d,name %d", lines, lines)
					if lines%5 == 0 {
						line += ",a field too many"
					}
					texts = append(texts, line)
				}
				name := fmt.Sprintf("events-%03d.csv", files)
				tmp := filepath.Join(dir, name+".tmp")
				if err := os.WriteFile(tmp, []byte("id,name\n"+strings.Join(texts, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
				return texts
			}
			return plugintest.SourceInput{Config: cfg, Produce: produce}
		},
		BadConfigs: []plugintest.BadConfig{
			{Name: "empty", Config: "", Paths: []string{"path"}},
			{Name: "unknown key", Config: "path: /nonexistent/etl-acceptance\ncolumns: [id]\nfolder: x\n", Paths: []string{"folder", "path"}},
			{Name: "several mistakes", Config: "path: /nonexistent/etl-acceptance\ncolumns: [id, id]\ndelimiter: ';;'\nafter_read: shred\npoll_interval: soon\n",
				Paths: []string{"path", "columns[1]", "delimiter", "after_read", "poll_interval"}},
			{Name: "archive without its folder", Config: "path: /nonexistent/etl-acceptance\ncolumns: [id]\nafter_read: archive\n", Paths: []string{"path", "archive_path"}},
		},
	}.Run(t)
}

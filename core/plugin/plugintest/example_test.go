package plugintest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/plugintest"
	"github.com/seed-etl/etl/core/record"
)

// The constructors of the examples stand for the author's own.
func newMySource() plugin.Source       { return &fakeSource{} }
func newMyTransform() plugin.Transform { return &fakeTransform{} }
func newMySink() plugin.Sink           { return &fakeSink{} }

// A source that reads the lines of files in a folder runs the suite with a
// fresh folder per check; Produce writes a new file of n lines.
func ExampleSourceSuite() {
	// In a _test.go file of the source's package:
	TestAcceptance := func(t *testing.T) {
		plugintest.SourceSuite{
			New: newMySource,
			Input: func(t testing.TB) plugintest.SourceInput {
				dir := t.TempDir()
				files := 0
				return plugintest.SourceInput{
					Config: fmt.Sprintf("path: %q\n", dir),
					Produce: func(t testing.TB, n int) []string {
						files++
						var lines []string
						data := ""
						for i := 0; i < n; i++ {
							line := fmt.Sprintf("file %d line %d", files, i+1)
							lines = append(lines, line)
							data += line + "\n"
						}
						name := filepath.Join(dir, fmt.Sprintf("%03d.txt", files))
						if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
							t.Fatal(err)
						}
						return lines
					},
				}
			},
			BadConfigs: []plugintest.BadConfig{
				{Name: "no path", Config: "", Paths: []string{"path"}},
			},
		}.Run(t)
	}
	_ = TestAcceptance
}

// A transform runs the suite over rows that it accepts and rows that it
// rejects.
func ExampleTransformSuite() {
	// In a _test.go file of the transform's package:
	TestAcceptance := func(t *testing.T) {
		plugintest.TransformSuite{
			New:    newMyTransform,
			Config: "uppercase: [name]\n",
			Schema: record.Schema{Fields: []record.Field{{Name: "name", Type: record.String}}},
			Rows: []plugintest.Row{
				{Raw: "apple", Cells: []any{"apple"}},
				{Raw: "bad pear", Cells: []any{"bad pear"}},
			},
			BadConfigs: []plugintest.BadConfig{
				{Name: "unknown field", Config: "uppercase: [colour]\n", Paths: []string{"uppercase[0]"}},
			},
		}.Run(t)
	}
	_ = TestAcceptance
}

// A sink runs the suite with a fresh destination per check, here a
// database made by a helper of the author's tests, and says how to count
// what it holds.
func ExampleSinkSuite() {
	// In a _test.go file of the sink's package:
	TestAcceptance := func(t *testing.T) {
		plugintest.SinkSuite{
			New: newMySink,
			Destination: func(t testing.TB) (string, func() (rows, rejects int)) {
				dsn := newTestDatabase(t)
				return fmt.Sprintf("dsn: %q\ntable: events\n", dsn), func() (int, int) {
					return countRows(t, dsn, "events"), countRows(t, dsn, "rejects")
				}
			},
			Schema: record.Schema{Fields: []record.Field{
				{Name: "id", Type: record.Int64},
				{Name: "price", Type: record.Decimal, Scale: 2, Nullable: true},
			}},
			Rows: []plugintest.Row{
				{Cells: []any{1, "19.99"}},
				{Cells: []any{2, nil}},
			},
			// A row the database refuses: the write fails and leaves
			// nothing, or keeps the row as a reject.
			Refused:    &plugintest.Row{Cells: []any{3, "-1.00"}},
			BadConfigs: []plugintest.BadConfig{{Name: "empty", Config: "", Paths: []string{"dsn", "table"}}},
		}.Run(t)
	}
	_ = TestAcceptance
}

// newTestDatabase and countRows stand for helpers of the author's tests.
func newTestDatabase(testing.TB) string             { return "postgres://127.0.0.1/test" }
func countRows(t testing.TB, dsn, table string) int { return 0 }

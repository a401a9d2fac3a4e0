package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// shoutMain is a plugin written as an outside author writes one: its own
// module, importing only the SDK (core/plugin) and core/record. It
// upper-cases `column` and refuses rows where it is empty (EMPTY).
const shoutMain = `package main

import (
	"context"
	"strings"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

func main() {
	plugin.Serve(plugin.Plugin{Name: "shout", Version: "0.1.0", Transform: func() plugin.Transform { return &shout{} }})
}

type shout struct {
	cfg struct {
		Column string ` + "`yaml:\"column\"`" + `
	}
	col, cols int
}

func (s *shout) Configure(_ context.Context, cfg plugin.Config, in record.Schema) (record.Schema, error) {
	errs := plugin.AsConfigErrors(plugin.DecodeConfig(cfg.Raw, &s.cfg))
	if s.col = in.Index(s.cfg.Column); s.col < 0 {
		errs.Add("column", "%q is not an input field", s.cfg.Column)
	}
	s.cols = len(in.Fields)
	return in, errs.Err()
}

func (s *shout) Process(_ context.Context, b *record.Batch) (*record.Batch, []record.Reject, error) {
	out := record.NewBatch(b.Schema())
	var rejects []record.Reject
	for row := 0; row < b.Len(); row++ {
		if b.IsNull(row, s.col) || b.Text(row, s.col) == "" {
			rejects = append(rejects, b.Reject(row, "EMPTY", s.cfg.Column+" is empty"))
			continue
		}
		out.StartRow(b.Origin(row), b.Raw(row))
		for c := 0; c < s.cols; c++ {
			if c == s.col {
				out.AppendString(strings.ToUpper(b.Text(row, c)))
			} else {
				out.AppendCell(b, row, c)
			}
		}
	}
	return out, rejects, nil
}

func (s *shout) Close(context.Context) error { return nil }
`

// TestPluginFromAnOutsideModule: a plugin in a module of its own, in a
// temporary folder, requiring github.com/seed-etl/etl (replaced by this
// checkout only because the module is not published), builds with go build
// and runs in a pipeline that lands its rows and its rejects in PostgreSQL.
func TestPluginFromAnOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(mod, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", fmt.Sprintf("module example.com/shout\n\ngo 1.26\n\nrequire github.com/seed-etl/etl v0.0.0\n\n// Only because the module is not published yet.\nreplace github.com/seed-etl/etl => %s\n", repo))
	write("main.go", shoutMain)
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))
	bin := filepath.Join(t.TempDir(), "bin")
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", filepath.Join(bin, "etl-plugin-shout"), "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = mod
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the outside module: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	dsn := pgtest.NewDatabase(t)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE TABLE names (id bigint, name text);
		CREATE TABLE corrupt_records (id bigserial, corrupt_record text, batch_id bigint, error_type text, reason text)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "names.csv"), []byte("id,name\n1,mug\n2,\n3,Lamp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 1
name: outside
source:
  plugin: csvdir
  config: {path: %s, header: true}
transforms:
  - name: typed
    plugin: cleanser
    config:
      fields:
        - {name: id, type: int64}
        - {name: name, type: string}
  - plugin: shout
    config: {column: name}
sink:
  plugin: postgres
  config: {dsn: "%s", table: names}
`, in, dsn)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := etl(t, "run", cfg, "--once", "--plugin-dir", bin, "--metrics-addr", ""); code != 0 {
		t.Fatalf("etl run exited %d:\n%s", code, stderr)
	}
	got := queryLines(t, conn, `SELECT id::text || '=' || name FROM names ORDER BY id`)
	if strings.Join(got, " ") != "1=MUG 3=LAMP" {
		t.Errorf("names: %q, want 1=MUG 3=LAMP", got)
	}
	var raw, errType, reason string
	if err := conn.QueryRow(context.Background(), `SELECT corrupt_record, error_type, reason FROM corrupt_records`).Scan(&raw, &errType, &reason); err != nil {
		t.Fatalf("the reject: %v", err)
	}
	if raw != "2," || errType != "EMPTY" || reason != "name is empty" {
		t.Errorf("reject %q %s %q, want \"2,\" EMPTY \"name is empty\"", raw, errType, reason)
	}
}

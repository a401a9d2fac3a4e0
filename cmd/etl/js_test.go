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

// jsPluginDir is the JavaScript example plugin, etl-plugin-wordcount.
const jsPluginDir = "../../plugins/examples/wordcount-js"

// requireNode skips (or, when ETL_TEST_REQUIRE_NODE is set, as .ci/run
// sets it, fails) when Node.js or the example's npm packages are missing.
func requireNode(t *testing.T) {
	t.Helper()
	why := ""
	if _, err := exec.LookPath("node"); err != nil {
		why = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(jsPluginDir, "node_modules", "apache-arrow")); err != nil {
		why = "the example's npm packages are not installed (make js-deps)"
	}
	if why == "" {
		return
	}
	if os.Getenv("ETL_TEST_REQUIRE_NODE") != "" {
		t.Fatalf("the JavaScript plugin test cannot run: %s", why)
	}
	t.Skipf("the JavaScript plugin test needs Node.js: %s", why)
}

// TestJavaScriptPluginInAPipeline: the transform in JavaScript
// (plugins/examples/wordcount-js), written from PROTOCOL.md, runs between
// csvdir and the cleanser: it adds product_name_words and refuses rows of
// more than 4 words, whose raw text lands in corrupt_records with the
// cleanser's own rejects.
func TestJavaScriptPluginInAPipeline(t *testing.T) {
	requireNode(t)
	plugins, err := filepath.Abs(jsPluginDir)
	if err != nil {
		t.Fatal(err)
	}
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE items (id bigint, product_name text, product_name_words bigint);
		CREATE TABLE corrupt_records (id bigserial, corrupt_record text, batch_id bigint, error_type text, reason text, line bigint)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	csv := "id,product_name\n1,Blue Mug\n2,A very long product name here\n3,\nx4,Lamp\n5,  Desk   lamp  large \n"
	if err := os.WriteFile(filepath.Join(in, "items.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 1
name: js
source:
  plugin: csvdir
  config: {path: %s, header: true}
transforms:
  - name: words
    plugin: wordcount
    config: {column: product_name, max_words: 4}
  - name: clean
    plugin: cleanser
    config:
      fields:
        - {name: id, type: int64, required: true}
        - {name: product_name, type: string}
        - {name: product_name_words, type: int64}
sink:
  plugin: postgres
  config: {dsn: "%s", table: items}
`, in, dsn)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := etl(t, "run", cfg, "--once", "--plugin-dir", plugins, "--metrics-addr", ""); code != 0 {
		t.Fatalf("etl run exited %d:\n%s", code, stderr)
	}
	got := queryLines(t, conn, `SELECT id || '|' || coalesce(product_name, 'NULL') || '|' || product_name_words FROM items ORDER BY id`)
	want := []string{"1|Blue Mug|2", "3|NULL|0", "5|Desk   lamp  large|3"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = queryLines(t, conn, `SELECT line || '|' || corrupt_record || '|' || error_type || '|' || reason FROM corrupt_records ORDER BY line`)
	want = []string{
		"3|2,A very long product name here|TOO_MANY_WORDS|product_name: 6 words, more than max_words 4",
		`5|x4,Lamp|INVALID_NUMBER|id: "x4" is not a whole number`,
	}
	if len(got) != len(want) || got[0] != want[0] || !strings.HasPrefix(got[1], "5|x4,Lamp|INVALID_NUMBER|") {
		t.Errorf("corrupt_records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// queryLines returns the one text column of each row of q.
func queryLines(t *testing.T, conn *pgx.Conn, q string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

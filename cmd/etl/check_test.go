package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"etl/plugins/postgres/pgtest"
)

// TestValidateChecksTheDatabase: etl validate asks the sink to check the
// live database and lists each problem at the YAML key it comes from (a
// column of the wrong type at the cleanser's field that made it), exiting
// 1; with --offline it does not contact the database, says so and exits 0.
func TestValidateChecksTheDatabase(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.ApplySetup(t, dsn)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `ALTER TABLE events DROP COLUMN price; ALTER TABLE events ADD COLUMN price boolean`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "db.yaml", fmt.Sprintf(`version: 1
name: shop
source:
  plugin: csvdir
  config: {path: %q, columns: [user_id, action, price]}
transforms:
  - name: clean
    plugin: cleanser
    config:
      fields:
        - {name: user_id, type: int64}
        - {name: action, type: string}
        - {name: price, type: decimal, precision: 12, scale: 2}
sink:
  plugin: postgres
  config:
    dsn: %q
    table: events
    rejects_table: corrupt_recs
`, t.TempDir(), dsn))

	code, stdout, stderr := etl(t, "validate", path)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		path + `:13:11: transforms[0].config.fields[2]: field "price" is decimal but column "price" of "events" is boolean`,
		path + `:19:5: sink.config.rejects_table: table "corrupt_recs" does not exist`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q; got:\n%s", want, stderr)
		}
	}
	if strings.Contains(stdout, "is valid") {
		t.Errorf("a pipeline the database refuses is called valid:\n%s", stdout)
	}

	code, stdout, stderr = etl(t, "validate", "--offline", path)
	if code != 0 {
		t.Fatalf("--offline: exit code %d, want 0; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "is valid") || !strings.Contains(stdout, "destination (database) not checked (--offline)") {
		t.Errorf("--offline does not say the database was not checked:\n%s", stdout)
	}
}

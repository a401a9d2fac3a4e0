package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/plugins/postgres/pgtest"
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

// TestStatusSaysWhichDSNAndWhyItFailed: when the database cannot be
// reached, etl status names the DSN it used (password hidden), where that
// DSN came from and what failed.
func TestStatusSaysWhichDSNAndWhyItFailed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	dsn := fmt.Sprintf("postgres://someone:s3cr3t@127.0.0.1:%d/shop?sslmode=disable", port)
	refused := "connection refused at 127.0.0.1:" + strconv.Itoa(port)
	shown := "postgres://someone:xxxxx@127.0.0.1:" + strconv.Itoa(port) + "/shop"
	noDB, err := pgtest.WithDatabase(pgtest.ServerURL(), "etl_no_such_database")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		written string // sink.config.dsn as written in the file
		env     string // ETL_TEST_STATUS_DSN, "" for unset
		origin  string
		shown   string // the DSN as shown
		reason  string
	}{
		{"written in the file", dsn, "", "sink.config.dsn: written as is in ", shown, refused},
		{"from the environment", "${ETL_TEST_STATUS_DSN}", dsn, "sink.config.dsn: taken from $ETL_TEST_STATUS_DSN (set in the environment)", shown, refused},
		{"the default", "${ETL_TEST_STATUS_DSN:-" + dsn + "}", "", "sink.config.dsn: the default of ${ETL_TEST_STATUS_DSN:-...} in ", shown, refused},
		{"no such database", noDB, "", "sink.config.dsn: written as is in ", "/etl_no_such_database", `database "etl_no_such_database" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ETL_TEST_STATUS_DSN", tt.env)
			path := writeFile(t, "status.yaml", fmt.Sprintf(`version: 1
name: shop
source:
  plugin: csvdir
  config: {path: %q, columns: [user_id]}
sink:
  plugin: postgres
  config:
    dsn: %q
    table: events
`, t.TempDir(), tt.written))
			code, _, stderr := etl(t, "status", "--timeout", "3s", "--log-level", "error", path)
			if code != 1 {
				t.Fatalf("exit code %d, want 1; stderr:\n%s", code, stderr)
			}
			for _, want := range []string{
				path + ":9:5: sink.config.dsn: cannot connect with ",
				tt.shown, tt.reason, tt.origin,
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q; got:\n%s", want, stderr)
				}
			}
			if strings.Contains(stderr, "s3cr3t") {
				t.Errorf("the password shows:\n%s", stderr)
			}
		})
	}
}

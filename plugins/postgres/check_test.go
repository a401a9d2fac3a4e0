package postgres

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// checkSink configures a sink for pipeline "test" with config block raw.
func checkSink(t *testing.T, raw string) *Sink {
	t.Helper()
	s := New()
	s.log = newTestLogger(&logBuffer{})
	if err := s.Configure(context.Background(), plugin.Config{Pipeline: "test", Name: "sink", Raw: []byte(raw)}, eventsSchema); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// withUser returns the URL dsn with another user and password.
func withUser(t *testing.T, dsn, user, password string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("the test DSN is not a URL: %v", err)
	}
	if password == "" {
		u.User = url.User(user)
	} else {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

// withDB returns the URL dsn naming database db.
func withDB(t *testing.T, dsn, db string) string {
	t.Helper()
	out, err := pgtest.WithDatabase(dsn, db)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// newRole creates a login role without privileges beyond PUBLIC's, dropped
// (with what was granted to it in the database of dsn) when the test ends.
func newRole(t *testing.T, dsn string) string {
	t.Helper()
	db := dsn[strings.LastIndex(dsn, "/")+1:]
	if i := strings.IndexByte(db, '?'); i >= 0 {
		db = db[:i]
	}
	role := "etl_check_" + strings.TrimPrefix(db, "etl_test_")
	conn := connectT(t, dsn)
	if _, err := conn.Exec(context.Background(), "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN"); err != nil {
		t.Fatalf("create role: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer c.Close(ctx)
		id := pgx.Identifier{role}.Sanitize()
		if _, err := c.Exec(ctx, "DROP OWNED BY "+id+"; DROP ROLE "+id); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	return role
}

// TestPostgresCheckFindsWhatARunWouldFailOn: Check reports each problem a
// run would meet with the database at the config key it comes from (the
// field's name on a type mismatch), notes what a run would create, shows
// the DSN without its password, and changes nothing.
func TestPostgresCheckFindsWhatARunWouldFailOn(t *testing.T) {
	type want struct {
		path, field, msg string
	}
	setup, err := pgtest.SetupFile()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// prepare readies the fresh database (owned by the test's user)
		// and returns the DSN the sink uses.
		prepare func(t *testing.T, dsn string) string
		config  string // the config block after dsn:
		errs    []want
		notes   []string
	}{
		{
			name:    "valid, offsets table missing: a note",
			prepare: func(t *testing.T, dsn string) string { pgtest.ApplySetup(t, dsn); return dsn },
			config:  "table: events",
			notes:   []string{`table "etl_offsets" does not exist; a run creates it`},
		},
		{
			name:    "missing table",
			prepare: func(t *testing.T, dsn string) string { pgtest.ApplySetup(t, dsn); return dsn },
			config:  "table: evnts",
			errs:    []want{{"table", "", `table "evnts" does not exist`}},
		},
		{
			name:    "missing rejects table",
			prepare: func(t *testing.T, dsn string) string { pgtest.ApplySetup(t, dsn); return dsn },
			config:  "table: events\nrejects_table: rejected_rows",
			errs:    []want{{"rejects_table", "", `table "rejected_rows" does not exist`}},
		},
		{
			name: "missing column",
			prepare: func(t *testing.T, dsn string) string {
				pgtest.ApplySetup(t, dsn)
				execT(t, dsn, `ALTER TABLE events DROP COLUMN session_id`)
				return dsn
			},
			config: "table: events",
			errs:   []want{{"table", "", `has no column for the input fields session_id`}},
		},
		{
			name:    "missing mapped column",
			prepare: func(t *testing.T, dsn string) string { pgtest.ApplySetup(t, dsn); return dsn },
			config:  "table: events\ncolumns: {session_id: session}",
			errs:    []want{{"columns.session_id", "", `table "events" has no column "session"`}},
		},
		{
			name: "type mismatch",
			prepare: func(t *testing.T, dsn string) string {
				pgtest.ApplySetup(t, dsn)
				execT(t, dsn, `ALTER TABLE events DROP COLUMN price; ALTER TABLE events ADD COLUMN price boolean`)
				return dsn
			},
			config: "table: events",
			errs:   []want{{"table", "price", `field "price" is decimal but column "price" of "events" is boolean`}},
		},
		{
			name: "type mismatch of a mapped column",
			prepare: func(t *testing.T, dsn string) string {
				pgtest.ApplySetup(t, dsn)
				execT(t, dsn, `ALTER TABLE events ADD COLUMN price_paid boolean`)
				return dsn
			},
			config: "table: events\ncolumns: {price: price_paid}",
			errs:   []want{{"columns.price", "price", `column "price_paid" of "events" is boolean`}},
		},
		{
			name: "no INSERT privilege, no CREATE for the offsets table",
			prepare: func(t *testing.T, dsn string) string {
				pgtest.ApplySetup(t, dsn)
				role := newRole(t, dsn)
				execT(t, dsn, fmt.Sprintf(`GRANT SELECT ON events, corrupt_records TO %s`, role))
				return withUser(t, dsn, role, "")
			},
			config: "table: events",
			errs: []want{
				{"table", "", `may not INSERT table "events"`},
				{"rejects_table", "", `may not INSERT table "corrupt_records"`},
				{"offsets_table", "", `may not CREATE in schema "public"`},
			},
			notes: []string{`table "etl_offsets" does not exist; a run creates it`},
		},
		{
			name: "offsets table without privileges",
			prepare: func(t *testing.T, dsn string) string {
				pgtest.ApplySetup(t, dsn)
				role := newRole(t, dsn)
				s := checkSink(t, fmt.Sprintf("dsn: %q\ntable: events", dsn))
				if _, err := s.Checkpoint(ctxT(t)); err != nil { // creates etl_offsets
					t.Fatal(err)
				}
				execT(t, dsn, fmt.Sprintf(`GRANT INSERT ON events, corrupt_records TO %s; GRANT SELECT ON etl_offsets TO %[1]s`, role))
				return withUser(t, dsn, role, "")
			},
			config: "table: events",
			errs:   []want{{"offsets_table", "", `may not INSERT or UPDATE table "etl_offsets"`}},
		},
		{
			name: "setup_sql would create the tables: notes",
			prepare: func(t *testing.T, dsn string) string {
				return dsn
			},
			config: "table: events\nsetup_sql: " + setup,
			notes: []string{"a run applies setup_sql", `table "events" does not exist now; setup_sql`,
				`table "corrupt_records" does not exist now; setup_sql`, `table "etl_offsets" does not exist; a run creates it`},
		},
		{
			name: "closed port, password hidden",
			prepare: func(t *testing.T, dsn string) string {
				return fmt.Sprintf("postgres://someone:s3cr3t@127.0.0.1:%d/db?sslmode=disable", freePort(t))
			},
			config: "table: events",
			errs:   []want{{"dsn", "", `cannot connect with postgres://someone:xxxxx@127.0.0.1:`}, {"dsn", "", "connection refused at 127.0.0.1:"}},
		},
		{
			name:    "wrong database name",
			prepare: func(t *testing.T, dsn string) string { return withDB(t, dsn, "no_such_db_here") },
			config:  "table: events",
			errs:    []want{{"dsn", "", `database "no_such_db_here" does not exist`}},
		},
		{
			name:    "role that does not exist",
			prepare: func(t *testing.T, dsn string) string { return withUser(t, dsn, "no_such_role_here", "") },
			config:  "table: events",
			errs:    []want{{"dsn", "", `role "no_such_role_here" does not exist`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owner := pgtest.NewDatabase(t)
			dsn := tt.prepare(t, owner)
			s := checkSink(t, fmt.Sprintf("dsn: %q\n%s", dsn, tt.config))
			before := tableCount(t, owner)
			res, err := s.Check(ctxT(t))
			got := plugin.AsConfigErrors(err)
			if err != nil && len(got) == 1 && got[0].Path == "" {
				t.Fatalf("Check could not check: %v", err)
			}
			if len(tt.errs) == 0 && err != nil {
				t.Errorf("Check found %v, want no mistake", err)
			}
			for _, w := range tt.errs {
				found := false
				for _, e := range got {
					found = found || (e.Path == w.path && e.Field == w.field && strings.Contains(e.Message, w.msg))
				}
				if !found {
					t.Errorf("no mistake at %s (field %q) saying %q; got %#v", w.path, w.field, w.msg, got)
				}
			}
			paths := map[string]bool{}
			for _, w := range tt.errs {
				paths[w.path] = true
			}
			if len(tt.errs) > 0 && len(uniquePaths(got)) != len(paths) {
				t.Errorf("mistakes at %d keys, want %d: %v", len(uniquePaths(got)), len(paths), got)
			}
			for _, e := range got {
				if strings.Contains(e.Message, "s3cr3t") {
					t.Errorf("the password shows in %q", e.Message)
				}
			}
			for _, n := range tt.notes {
				if !strings.Contains(strings.Join(res.Notes, "\n"), n) {
					t.Errorf("no note saying %q; notes: %q", n, res.Notes)
				}
			}
			if after := tableCount(t, owner); after != before {
				t.Errorf("the database holds %d tables after Check, %d before: Check must only read", after, before)
			}
		})
	}
}

// tableCount counts the tables of the database of dsn.
func tableCount(t *testing.T, dsn string) int64 {
	return queryInt(t, dsn, `SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`)
}

func uniquePaths(es plugin.ConfigErrors) map[string]bool {
	m := map[string]bool{}
	for _, e := range es {
		m[e.Path] = true
	}
	return m
}

// execT runs sql in the database of dsn.
func execT(t testing.TB, dsn, sql string) {
	t.Helper()
	if _, err := connectT(t, dsn).Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestPostgresCheckWrongPassword: on a server that asks for a password (a
// throwaway cluster, since the shared one trusts every local login), a
// wrong one is reported at dsn, naming the user and not the password.
func TestPostgresCheckWrongPassword(t *testing.T) {
	c := startCluster(t)
	c.exec("postgres", `CREATE ROLE pw_user LOGIN PASSWORD 'right-one'`)
	// The server writes its own pg_hba.conf: pw_user needs its password,
	// everyone else is trusted as before.
	c.exec("postgres", `DO $$ BEGIN
		EXECUTE format('COPY (SELECT * FROM (VALUES (%L), (%L)) AS v) TO %L',
			'host all pw_user 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 trust', current_setting('hba_file'));
		END $$; SELECT pg_reload_conf()`)
	dsn := withUser(t, c.dsn("postgres"), "pw_user", "wrong-one")
	s := checkSink(t, fmt.Sprintf("dsn: %q\ntable: events", dsn))
	_, err := s.Check(ctxT(t))
	es := plugin.AsConfigErrors(err)
	if len(es) != 1 || es[0].Path != "dsn" || !strings.Contains(es[0].Message, `password authentication failed for user "pw_user"`) {
		t.Fatalf("Check = %v, want one mistake at dsn: password authentication failed for user \"pw_user\"", err)
	}
	if strings.Contains(es[0].Message, "wrong-one") || !strings.Contains(es[0].Message, "pw_user:xxxxx@") {
		t.Errorf("the DSN is not shown with its password hidden: %s", es[0].Message)
	}
}

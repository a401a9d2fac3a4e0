package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed-etl/etl/core/plugin"
)

func TestConfigMistakesAreReportedTogether(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want map[string]string // path -> part of the message
	}{
		{
			name: "empty block",
			raw:  "",
			want: map[string]string{"dsn": "required", "table": "required"},
		},
		{
			name: "every mistake at once",
			raw: `dsn: "postgres://u:pw@h:notaport/db"
table: a.b.c
rejects_table: ""
columns: {nosuch: x, price: ""}
retry: {max_time: -1s, initial_backoff: 0s, max_backoff: 1ms}
statement_timeout: -5s
connect_timeout: -1s
timestamp_zone: Mars/Olympus
setup_sql: /no/such/file.sql`,
			want: map[string]string{
				"dsn":                   "",
				"table":                 "schema.table",
				"rejects_table":         "empty",
				"columns.nosuch":        `no input field "nosuch"`,
				"columns.price":         "empty column name",
				"retry.max_time":        "cannot be negative",
				"retry.initial_backoff": "> 0",
				"statement_timeout":     "cannot be negative",
				"connect_timeout":       "cannot be negative",
				"timestamp_zone":        `unknown time zone "Mars/Olympus"`,
				"setup_sql":             "no such file",
			},
		},
		{
			name: "bad duration and unknown key",
			raw:  "dsn: postgres://h/db\ntable: events\nretry: {max_time: soon}\ncolour: blue",
			want: map[string]string{"retry.max_time": `"soon" is not a duration`, "colour": "unknown key"},
		},
		{
			name: "backoff limits in the wrong order",
			raw:  "dsn: postgres://h/db\ntable: events\nretry: {initial_backoff: 2s, max_backoff: 1s}",
			want: map[string]string{"retry.max_backoff": ">= retry.initial_backoff"},
		},
		{
			name: "two fields into one column",
			raw:  "dsn: postgres://h/db\ntable: events\ncolumns: {session_id: action}",
			want: map[string]string{"columns.session_id": `both go into column "action"`},
		},
		{
			name: "everything left out",
			raw:  "dsn: postgres://h/db\ntable: events\ncolumns: {user_id: '-', action: '-', product_id: '-', product_name: '-', price: '-', event_time: '-', session_id: '-'}",
			want: map[string]string{"columns": "nothing to write"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New().Configure(context.Background(), plugin.Config{Pipeline: "p", Raw: []byte(tt.raw)}, eventsSchema)
			var es plugin.ConfigErrors
			if !errors.As(err, &es) {
				t.Fatalf("Configure = %v, want ConfigErrors", err)
			}
			got := map[string]string{}
			for _, e := range es {
				got[e.Path] += e.Message + ";"
			}
			for path, part := range tt.want {
				msg, ok := got[path]
				if !ok {
					t.Errorf("no error at %q; got %v", path, es)
					continue
				}
				if !strings.Contains(msg, part) {
					t.Errorf("error at %q = %q, want it to mention %q", path, msg, part)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("errors at %d paths, want %d: %v", len(got), len(tt.want), es)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("the password shows in %q", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	set, err := parseSettings([]byte("dsn: postgres://u:pw@db.example:6543/x?sslmode=disable\ntable: public.events\ncolumns: {user_id: uid, session_id: '-'}"), eventsSchema)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := set.table.Sanitize(), `"public"."events"`; got != want {
		t.Errorf("table = %s, want %s", got, want)
	}
	if got, want := set.rejects.Sanitize(), `"corrupt_records"`; got != want {
		t.Errorf("rejects_table = %s, want %s", got, want)
	}
	if got, want := set.offsets.Sanitize(), `"etl_offsets"`; got != want {
		t.Errorf("offsets_table = %s, want %s", got, want)
	}
	if set.cfg.Retry.MaxTime.String() != "1m" || set.cfg.Retry.InitialBackoff.String() != "100ms" || set.cfg.Retry.MaxBackoff.String() != "5s" {
		t.Errorf("retry defaults = %+v", set.cfg.Retry)
	}
	if set.addr != "db.example:6543" {
		t.Errorf("addr = %q", set.addr)
	}
	var cols []string
	for _, f := range set.fields {
		cols = append(cols, f.name+"->"+f.column)
	}
	if got, want := strings.Join(cols, ","), "user_id->uid,action->action,product_id->product_id,product_name->product_name,price->price,event_time->event_time"; got != want {
		t.Errorf("columns = %s, want %s", got, want)
	}
}

func TestPasswordIsRedacted(t *testing.T) {
	tests := []struct{ dsn, text string }{
		{"postgres://u:s3cr%21t@h/db", "dial postgres://u:s3cr%21t@h/db failed"},
		{"host=h user=u password=s3cr!t dbname=x", "bad: host=h user=u password=s3cr!t"},
		{"host=h user=u password='s3 cr!t' dbname=x", "bad: password='s3 cr!t' dbname=x"},
	}
	for _, tt := range tests {
		pw := dsnPassword(tt.dsn)
		if pw == "" {
			t.Errorf("dsnPassword(%q) found nothing", tt.dsn)
		}
		got := redact(tt.text, pw)
		if strings.Contains(got, "cr") {
			t.Errorf("redact(%q) = %q: the password shows", tt.text, got)
		}
	}
}

func TestTextSafeEscapesWithoutDropping(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain, with \\ backslash é", "plain, with \\ backslash é"},
		{"a\x00b", `a\x00b`},
		{"bad \xff byte and \\ kept", `bad \xff byte and \\ kept`},
		{"cut \xe2\x82", `cut \xe2\x82`},
	}
	for _, tt := range tests {
		got, escaped := textSafe(tt.in)
		if got != tt.want {
			t.Errorf("textSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if escaped != (tt.in != tt.want) {
			t.Errorf("textSafe(%q) escaped = %v", tt.in, escaped)
		}
	}
}

func TestCopyErrorLineIsFound(t *testing.T) {
	for where, want := range map[string]int{
		`COPY events, line 17, column price: "x"`: 17,
		`COPY "my, table", line 3`:                3,
		`SQL function "f"`:                        0,
	} {
		if got := copyErrorLine(&pgconn.PgError{Where: where}); got != want {
			t.Errorf("copyErrorLine(%q) = %d, want %d", where, got, want)
		}
	}
}

func TestErrorsAreClassified(t *testing.T) {
	tests := []struct {
		err    error
		closed bool
		want   errClass
	}{
		{&pgconn.PgError{Code: "23514"}, false, classData},
		{&pgconn.PgError{Code: "22003"}, false, classData},
		{&pgconn.PgError{Code: "22021"}, false, classData},
		{&pgconn.PgError{Code: "57P01"}, true, classConn},
		{&pgconn.PgError{Code: "08006"}, true, classConn},
		{&pgconn.PgError{Code: "53300"}, true, classConn},
		{&pgconn.PgError{Code: "40P01"}, false, classTransient},
		{&pgconn.PgError{Code: "57014"}, false, classTransient},
		{&pgconn.PgError{Code: "42501"}, false, classFatal},
		{&pgconn.PgError{Code: "P0001"}, false, classFatal},
		{&pgconn.PgError{Code: "28P01"}, true, classFatal},
		{fmt.Errorf("copy: %w", io.ErrUnexpectedEOF), false, classConn},
		{errors.New("conn closed"), true, classConn},
		{errors.New("something of ours"), false, classFatal},
		{context.Canceled, false, classFatal},
	}
	for _, tt := range tests {
		if got := classify(tt.err, tt.closed); got != tt.want {
			t.Errorf("classify(%v, closed %v) = %s, want %s", tt.err, tt.closed, got, tt.want)
		}
	}
}

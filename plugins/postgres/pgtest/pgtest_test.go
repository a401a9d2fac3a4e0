package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestWithDatabaseNamesTheDatabase(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:pw@127.0.0.1:5432/postgres?sslmode=disable", "postgres://u:pw@127.0.0.1:5432/etl_x?sslmode=disable"},
		{"postgresql://h/", "postgresql://h/etl_x"},
		{"host=h user=u dbname=postgres", "host=h user=u dbname=postgres dbname=etl_x"},
	}
	for _, tt := range tests {
		got, err := WithDatabase(tt.dsn, "etl_x")
		if err != nil || got != tt.want {
			t.Errorf("WithDatabase(%q) = %q, %v; want %q", tt.dsn, got, err, tt.want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil || cfg.Database != "etl_x" {
			t.Errorf("%q names database %q (%v), want etl_x", got, cfg.Database, err)
		}
	}
}

func TestPostgresNewDatabaseIsFreshAndDropped(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		dsn := NewDatabase(t)
		ApplySetup(t, dsn)
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var tables int
		if err := conn.QueryRow(context.Background(), `SELECT current_database(), count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&name, &tables); err != nil {
			t.Fatal(err)
		}
		if tables != 2 {
			t.Errorf("%d tables after ApplySetup, want events and corrupt_records", tables)
		}
	})
	if name == "" {
		t.Skip("no database was made")
	}
	conn, err := pgx.Connect(context.Background(), ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s outlived its test", name)
	}
}

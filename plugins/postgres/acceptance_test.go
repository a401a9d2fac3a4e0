package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/plugin/plugintest"
	"github.com/seed-etl/etl/core/record"
	"github.com/seed-etl/etl/plugins/postgres"
	"github.com/seed-etl/etl/plugins/postgres/pgtest"
)

// TestAcceptanceWithPostgres runs the plugin acceptance suite on the sink:
// each check gets a database of its own on the test server, set up with
// sql/postgres_setup.sql, and counts the rows of events and
// corrupt_records. A row with a negative price breaks events' check
// constraint: the sink keeps it as a reject (DB_REJECTED).
func TestAcceptanceWithPostgres(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2024, 3, 1, 14, 5, s, 0, time.UTC) }
	plugintest.SinkSuite{
		New: func() plugin.Sink { return postgres.New() },
		Destination: func(t testing.TB) (string, func() (int, int)) {
			dsn := pgtest.NewDatabase(t)
			pgtest.ApplySetup(t, dsn)
			cfg := fmt.Sprintf("dsn: %q\ntable: events\nretry: {max_time: 5s, initial_backoff: 50ms, max_backoff: 500ms}\n", dsn)
			return cfg, func() (int, int) {
				return count(t, dsn, "events"), count(t, dsn, "corrupt_records")
			}
		},
		Schema: record.Schema{Fields: []record.Field{
			{Name: "user_id", Type: record.Int64},
			{Name: "action", Type: record.String},
			{Name: "product_id", Type: record.Int64},
			{Name: "product_name", Type: record.String},
			{Name: "price", Type: record.Decimal, Scale: 2},
			{Name: "event_time", Type: record.Timestamp},
			{Name: "session_id", Type: record.String, Nullable: true},
		}},
		Rows: []plugintest.Row{
			{Cells: []any{42, "VIEW", 7, "Blue Mug", "19.99", at(1), "s-1"}},
			{Cells: []any{43, "PURCHASE", 8, `Mug, "deluxe"`, "5.00", at(2), nil}},
			{Cells: []any{44, "ADD_TO_CART", 9, "Tab\tand\nnewline", "0.00", at(3), "s-3"}},
		},
		Refused:    &plugintest.Row{Cells: []any{45, "VIEW", 10, "Negative Mug", "-1.00", at(4), "s-4"}},
		AsksForRaw: postgres.Plugin.SinkAsksForRaw,
		BadConfigs: []plugintest.BadConfig{
			{Name: "empty", Config: "", Paths: []string{"dsn", "table"}},
			{Name: "unknown key", Config: "dsn: postgres://127.0.0.1/x\ntable: events\ntabel: events\n", Paths: []string{"tabel"}},
			{Name: "no such field", Config: "dsn: postgres://127.0.0.1/x\ntable: events\ncolumns: {userid: user_id}\n", Paths: []string{"columns.userid"}},
			{Name: "bad duration", Config: "dsn: postgres://127.0.0.1/x\ntable: events\nretry: {max_time: soon}\n", Paths: []string{"retry.max_time"}},
		},
	}.Run(t)
}

// count returns the number of rows of table in the database of dsn.
func count(t testing.TB, dsn, table string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

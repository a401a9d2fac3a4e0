package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// eventsSchema is the schema of the e-commerce rows after cleaning.
var eventsSchema = record.Schema{Fields: []record.Field{
	{Name: "user_id", Type: record.Int64},
	{Name: "action", Type: record.String},
	{Name: "product_id", Type: record.Int64},
	{Name: "product_name", Type: record.String},
	{Name: "price", Type: record.Decimal, Scale: 2},
	{Name: "event_time", Type: record.Timestamp},
	{Name: "session_id", Type: record.String, Nullable: true},
}}

var actions = []string{"VIEW", "ADD_TO_CART", "REMOVE_FROM_CART", "PURCHASE", "UNKNOWN"}

var baseTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// event is one generated row, as the test expects to read it back.
type event struct {
	userID    int64
	action    string
	productID int64
	name      string
	price     int64 // cents
	at        time.Time
	session   *string
}

// genEvent returns the k-th generated row.
func genEvent(k int64) event {
	e := event{
		userID:    k,
		action:    actions[k%int64(len(actions))],
		productID: 1000 + k%97,
		name:      fmt.Sprintf(`Product %d, "deluxe"`, k%50),
		price:     (k * 137) % 1000000,
		at:        baseTime.Add(time.Duration(k)*time.Second + time.Duration(k%1000)*time.Microsecond),
	}
	if k%7 != 0 {
		s := fmt.Sprintf("sess-%d", k/10)
		e.session = &s
	}
	return e
}

func (e event) String() string {
	s := "NULL"
	if e.session != nil {
		s = *e.session
	}
	return fmt.Sprintf("%d|%s|%d|%s|%s|%s|%s", e.userID, e.action, e.productID, e.name,
		record.FormatDecimal(e.price, 2), e.at.UTC().Format(time.RFC3339Nano), s)
}

// csvLine is the row as a CSV line, its raw text.
func (e event) csvLine() string {
	s := ""
	if e.session != nil {
		s = *e.session
	}
	return fmt.Sprintf("%d,%s,%d,\"%s\",%s,%s,%s", e.userID, e.action, e.productID, strings.ReplaceAll(e.name, `"`, `""`),
		record.FormatDecimal(e.price, 2), e.at.UTC().Format(time.RFC3339Nano), s)
}

// appendEvent appends e to b as a row from source at line.
func appendEvent(b *record.Batch, e event, source string, line int64) {
	b.StartRow(record.Origin{Source: source, Line: line}, []byte(e.csvLine()))
	b.AppendInt64(e.userID)
	b.AppendString(e.action)
	b.AppendInt64(e.productID)
	b.AppendString(e.name)
	b.AppendDecimal(e.price)
	b.AppendTimestamp(e.at)
	if e.session == nil {
		b.AppendNull()
	} else {
		b.AppendString(*e.session)
	}
}

// genRequest returns batch id with rows [from, from+n) from partition
// part, whose position after the batch is the index after its last row.
func genRequest(id, from int64, n int, part string) plugin.WriteRequest {
	b := record.NewBatch(eventsSchema)
	for k := from; k < from+int64(n); k++ {
		appendEvent(b, genEvent(k), part, k+1)
	}
	return plugin.WriteRequest{BatchID: id, Batch: b,
		Positions: []record.Position{{Partition: part, Offset: from + int64(n)}}}
}

// wantEvents returns the rows [from, to) as strings.
func wantEvents(from, to int64) []string {
	var out []string
	for k := from; k < to; k++ {
		out = append(out, genEvent(k).String())
	}
	return out
}

// readEvents returns every row of table events, ordered by user_id.
func readEvents(t testing.TB, dsn string) []string {
	t.Helper()
	conn := connectT(t, dsn)
	rows, err := conn.Query(context.Background(), `SELECT user_id, action, product_id, product_name, price::text, event_time, session_id
		FROM events ORDER BY user_id, id`)
	if err != nil {
		t.Fatalf("read events: %v", err)
	}
	var out []string
	for rows.Next() {
		var e event
		var price string
		if err := rows.Scan(&e.userID, &e.action, &e.productID, &e.name, &price, &e.at, &e.session); err != nil {
			t.Fatalf("read events: %v", err)
		}
		if e.price, err = record.ParseDecimal(price, 12, 2); err != nil {
			t.Fatalf("read events: price %q: %v", price, err)
		}
		out = append(out, e.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read events: %v", err)
	}
	return out
}

// checkEvents fails t unless table events holds exactly want.
func checkEvents(t testing.TB, dsn string, want []string) {
	t.Helper()
	got := readEvents(t, dsn)
	if len(got) != len(want) {
		t.Errorf("events holds %d rows, want %d", len(got), len(want))
	}
	sort.Strings(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	diffs := 0
	for i, j := 0, 0; (i < len(got) || j < len(w)) && diffs < 5; {
		switch {
		case j >= len(w) || (i < len(got) && got[i] < w[j]):
			t.Errorf("unexpected row in events: %s", got[i])
			i++
			diffs++
		case i >= len(got) || w[j] < got[i]:
			t.Errorf("missing row in events: %s", w[j])
			j++
			diffs++
		default:
			i++
			j++
		}
	}
}

// connectT opens a connection closed at the end of the test.
func connectT(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// queryInt returns the single integer sql answers.
func queryInt(t testing.TB, dsn, sql string, args ...any) int64 {
	t.Helper()
	conn := connectT(t, dsn)
	var n int64
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// logBuffer collects a sink's log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newSink configures a sink for pipeline "test" writing into events, with
// extra YAML lines appended to its config block, and logging into logs.
func newSink(t testing.TB, dsn, extra string) (*Sink, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s := New()
	s.log = newTestLogger(logs)
	raw := fmt.Sprintf("dsn: %q\ntable: events\nretry: {max_time: 20s, initial_backoff: 50ms, max_backoff: 500ms}\n%s", dsn, extra)
	if err := s.Configure(context.Background(), plugin.Config{Pipeline: "test", Name: "sink", Raw: []byte(raw)}, eventsSchema); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, logs
}

// ctxT returns a context that ends with the test or after a minute.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newTestLogger logs everything into logs.
func newTestLogger(logs *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// freePort returns a loopback port nothing listens on.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

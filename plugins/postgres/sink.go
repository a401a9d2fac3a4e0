// Package postgres is an etl sink that writes batches into a PostgreSQL
// table exactly once.
//
// Each Write is one transaction holding the rows (a binary COPY encoded
// straight from the batch), the rejects (into the rejects table) and the
// source positions (into the offsets table, with the batch id). A batch
// whose id is already recorded for one of its partitions was committed
// before and is skipped, so that a replay is harmless and a commit whose
// outcome is unknown is resolved by reading the database. Rows the database
// refuses (a constraint, a value out of range) are isolated and stored as
// rejects with the database's message; the rest of their batch is
// committed. Connection failures are retried with backoff.
//
// A batch takes three round trips when the database takes every row: one
// pipelined batch opens the transaction and claims and locks the offsets
// rows; the COPY runs with no savepoint; one pipelined batch stores the
// rejects and the offsets and commits. Only when the database refuses a
// row is the transaction rolled back and the batch written again with its
// rows under savepoints, to isolate the refused ones.
//
// Which field types go into which column types is chooseEnc's table (the
// README's type table): each is written in PostgreSQL's binary form, with
// narrowing integers and reals checked row by row, text parsed for uuid and
// date columns, and timestamps written into `timestamp` (without time
// zone) columns as wall-clock time in the timestamp_zone setting.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Plugin describes the postgres sink to the etl engine.
var Plugin = plugin.Plugin{Name: "postgres", Version: "0.1.0", Settings: plugin.MustSettingsOf(defaultConfig()), Sink: func() plugin.Sink { return New() },
	SinkAsksForRaw: true}

// ErrorTypeDBRejected is the error type of a row the database refused, or
// one holding a value its column's type cannot hold.
const ErrorTypeDBRejected = "DB_REJECTED"

// noPartition is the offsets row of the batches that carry no position,
// so that they are idempotent too. Checkpoint does not return it.
const noPartition = ""

// Sink writes batches into PostgreSQL. Create it with New; it is not safe
// for concurrent use.
type Sink struct {
	log *slog.Logger
	set *settings
	// checkOnly are the settings of a Configure whose mistakes leave what
	// Check reads intact: Check works with them, nothing else does.
	checkOnly *settings
	pipeline  string
	ncols     int

	conn      *pgx.Conn
	backend   backend   // the server process of conn
	lost      []backend // processes of lost connections, maybe still alive
	ready     bool      // tables checked and statements built
	setupDone bool

	cols []colEnc
	rej  rejectsPlan
	// rejectsSQL inserts rejects (rejectsInsert).
	rejectsSQL string
	copySQL    string
	sqlOff     offsetsSQL
	data       copyData

	// up is how mode upsert and merge write (nil in append mode);
	// stageDirty and stageFor track its staging table (upsert.go).
	up         *upsertPlan
	stageDirty bool
	stageFor   backend

	// noLineHints makes copyRows split refused ranges in halves only, to
	// test that path.
	noLineHints bool
}

// backend identifies a server process: a PID alone may be reused.
type backend struct {
	pid   uint32
	start time.Time
}

type offsetsSQL struct {
	create, claim, lock, upsert, read string
}

// New returns an unconfigured sink.
func New() *Sink { return &Sink{log: plugin.Logger("postgres")} }

func (s *Sink) logger() *slog.Logger {
	if s.log != nil {
		return s.log
	}
	return slog.Default()
}

// Configure checks the configuration against the input schema. Mistakes
// are returned together as plugin.ConfigErrors; those that need the
// database (a field without a column) are found by the first Checkpoint
// or Write.
func (s *Sink) Configure(ctx context.Context, cfg plugin.Config, in record.Schema) error {
	set, err := parseSettings(cfg.Raw, in)
	if err != nil {
		s.set, s.checkOnly = nil, nil
		if checkable(set, plugin.AsConfigErrors(err)) {
			// etl validate still checks the database (Check).
			s.checkOnly = set
		}
		return err
	}
	s.closeConn(ctx)
	*s = Sink{log: s.log, noLineHints: s.noLineHints, set: set, pipeline: cfg.Pipeline, ncols: len(in.Fields)}
	if _, ok := set.conn.RuntimeParams["application_name"]; !ok {
		// Shows in pg_stat_activity which pipeline a session belongs to.
		set.conn.RuntimeParams["application_name"] = truncateRunes("etl "+cfg.Pipeline+" sink", 63)
	}
	off := set.offsets.Sanitize()
	s.sqlOff = offsetsSQL{
		create: `CREATE TABLE IF NOT EXISTS ` + off + ` (
			pipeline     TEXT NOT NULL,
			partition    TEXT NOT NULL,
			"offset"     BIGINT NOT NULL,
			done         BOOLEAN NOT NULL DEFAULT false,
			batch_id     BIGINT NOT NULL,
			committed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
			PRIMARY KEY (pipeline, partition))`,
		// claim makes sure each partition has a row to lock; a row it adds
		// only lives in this transaction unless the upsert fills it.
		claim: `INSERT INTO ` + off + ` (pipeline, partition, "offset", done, batch_id)
			SELECT $1, p, 0, false, 0 FROM unnest($2::text[]) AS p ORDER BY p
			ON CONFLICT (pipeline, partition) DO NOTHING`,
		// lock locks the rows of the partitions and returns what is
		// committed there: batch id 0 for a row claim added.
		lock: `SELECT partition, "offset", batch_id FROM ` + off + ` WHERE pipeline = $1 AND partition = ANY($2::text[])
			ORDER BY partition FOR UPDATE`,
		upsert: `INSERT INTO ` + off + ` AS o (pipeline, partition, "offset", done, batch_id, committed_at)
			SELECT $1, t.p, t.o, t.d, $5, now() FROM unnest($2::text[], $3::bigint[], $4::boolean[]) AS t(p, o, d)
			ON CONFLICT (pipeline, partition) DO UPDATE SET "offset" = EXCLUDED."offset", done = EXCLUDED.done,
				batch_id = EXCLUDED.batch_id, committed_at = EXCLUDED.committed_at`,
		read: `SELECT partition, "offset", done, batch_id FROM ` + off + ` WHERE pipeline = $1 ORDER BY partition`,
	}
	return nil
}

// Checkpoint connects (retrying while the database is unreachable), runs
// setup_sql when set, creates the offsets table when missing, checks the
// tables against the configuration, and returns the positions committed
// for the pipeline and the highest batch id among them.
func (s *Sink) Checkpoint(ctx context.Context) (plugin.Checkpoint, error) {
	if s.set == nil {
		return plugin.Checkpoint{}, errors.New("postgres: Checkpoint before Configure")
	}
	if err := s.ensureReady(ctx); err != nil {
		return plugin.Checkpoint{}, err
	}
	var cp plugin.Checkpoint
	err := s.retry(ctx, "read the checkpoint", func(ctx context.Context) error {
		cp = plugin.Checkpoint{}
		conn, err := s.connection(ctx)
		if err != nil {
			return err
		}
		rows, err := conn.Query(ctx, s.sqlOff.read, s.pipeline)
		if err != nil {
			return fmt.Errorf("read %s: %w", s.set.offsets.Sanitize(), err)
		}
		defer rows.Close()
		for rows.Next() {
			var p record.Position
			var id int64
			if err := rows.Scan(&p.Partition, &p.Offset, &p.Done, &id); err != nil {
				return fmt.Errorf("read %s: %w", s.set.offsets.Sanitize(), err)
			}
			cp.BatchID = max(cp.BatchID, id)
			if p.Partition != noPartition {
				cp.Positions = append(cp.Positions, p)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read %s: %w", s.set.offsets.Sanitize(), err)
		}
		return nil
	})
	return cp, err
}

// Write commits the rows, the rejects and the positions of req in one
// transaction, or nothing. A batch already committed is skipped. Rows the
// database refuses go to the rejects table with error type DB_REJECTED.
func (s *Sink) Write(ctx context.Context, req plugin.WriteRequest) error {
	if s.set == nil {
		return errors.New("postgres: Write before Configure")
	}
	b := req.Batch
	rows := 0
	if b != nil {
		if err := b.Check(); err != nil {
			return fmt.Errorf("postgres: batch %d: %w", req.BatchID, err)
		}
		if b.Len() > 0 && b.Cols() != s.ncols {
			return fmt.Errorf("postgres: batch %d has %d columns, the input schema %d", req.BatchID, b.Cols(), s.ncols)
		}
		rows = b.Len()
	}
	if rows == 0 && len(req.Rejects) == 0 && len(req.Positions) == 0 {
		return nil
	}
	if req.BatchID <= 0 {
		return fmt.Errorf("postgres: batch id %d: want > 0", req.BatchID)
	}
	pos, err := normalizePositions(req.Positions)
	if err != nil {
		return fmt.Errorf("postgres: batch %d: %w", req.BatchID, err)
	}
	if err := s.ensureReady(ctx); err != nil {
		return err
	}
	s.data.reset()
	if rows > 0 {
		s.data.encode(b, s.cols)
		if s.up != nil {
			s.reduce(b, &s.data.refused)
		}
	}
	start := time.Now()
	var out writeOutcome
	isolate := false
	err = s.retry(ctx, fmt.Sprintf("write batch %d", req.BatchID), func(ctx context.Context) error {
		out = writeOutcome{}
		err := s.writeOnce(ctx, req, pos, isolate, &out)
		if errors.Is(err, errRefused) {
			isolate = true
			out = writeOutcome{}
			err = s.writeOnce(ctx, req, pos, isolate, &out)
		}
		return err
	})
	if err != nil {
		return err
	}
	if out.skipped {
		s.logger().Info("postgres: batch already committed, skipped", "batch", req.BatchID, "pipeline", s.pipeline)
		return nil
	}
	s.logger().Debug("postgres: batch committed", "batch", req.BatchID, "rows", len(s.data.rows)-out.dbRejected,
		"rejects", len(req.Rejects)+len(s.data.refused)+out.dbRejected, "db_rejected", out.dbRejected+len(s.data.refused),
		"took", time.Since(start))
	return nil
}

// Close closes the connection.
func (s *Sink) Close(ctx context.Context) error {
	s.closeConn(ctx)
	return nil
}

// writeOutcome tells Write what one attempt did.
type writeOutcome struct {
	skipped    bool
	dbRejected int
}

// normalizePositions keeps the last position of each partition, sorted by
// partition so that the rows are locked in the same order by everyone.
func normalizePositions(in []record.Position) ([]record.Position, error) {
	if len(in) == 0 {
		return []record.Position{{Partition: noPartition}}, nil
	}
	last := map[string]record.Position{}
	for _, p := range in {
		if !utf8.ValidString(p.Partition) || strings.IndexByte(p.Partition, 0) >= 0 {
			return nil, fmt.Errorf("partition %q is not valid UTF-8 text, which the offsets table cannot store", p.Partition)
		}
		if p.Partition == noPartition {
			return nil, errors.New("a position with an empty partition name")
		}
		last[p.Partition] = p
	}
	out := make([]record.Position, 0, len(last))
	for _, p := range last {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out, nil
}

// errRefused says that the optimistic COPY of a batch (no savepoint) was
// refused by the database: the transaction is lost and the batch is tried
// again with its rows isolated under savepoints.
var errRefused = errors.New("the database refused a row of the batch")

// writeOnce is one attempt at committing req, in three round trips when
// the database takes every row: one pipelined batch that opens the
// transaction, claims and locks the offsets rows; the COPY, with no
// savepoint; one pipelined batch with the rejects, the offsets and the
// COMMIT. When the COPY is refused (errRefused), the caller tries again
// with isolate set: the rows go in under savepoints, the refused ones
// found and stored as rejects (isolateRows).
func (s *Sink) writeOnce(ctx context.Context, req plugin.WriteRequest, pos []record.Position, isolate bool, out *writeOutcome) error {
	conn, err := s.connection(ctx)
	if err != nil {
		return err
	}
	finished := false
	defer func() {
		if !finished {
			s.rollback(ctx, conn)
		}
	}()

	names := make([]string, len(pos))
	offsets := make([]int64, len(pos))
	dones := make([]bool, len(pos))
	for i, p := range pos {
		names[i], offsets[i], dones[i] = p.Partition, p.Offset, p.Done
	}
	committed, err := s.begin(ctx, conn, req.BatchID, names)
	if err != nil {
		return err
	}
	if committed.batchID >= req.BatchID {
		out.skipped = true
		return nil // the deferred rollback releases the locks
	}
	if err := committed.fence(req.From); err != nil {
		return fmt.Errorf("batch %d: %w", req.BatchID, err)
	}

	var dbRejects []record.Reject
	if len(s.data.rows) > 0 {
		if err := s.writeRows(ctx, conn, req.Batch, isolate, &dbRejects); err != nil {
			if errors.Is(err, errRefused) {
				return err
			}
			return fmt.Errorf("copy batch %d into %s: %w", req.BatchID, s.set.table.Sanitize(), err)
		}
	}
	out.dbRejected = len(dbRejects)
	var rejects []record.Reject
	if n := len(req.Rejects) + len(s.data.refused) + len(dbRejects); n > 0 {
		rejects = make([]record.Reject, 0, n)
		rejects = append(append(append(rejects, req.Rejects...), s.data.refused...), dbRejects...)
	}
	if req.RawHeld || req.Raw != nil {
		if err := withRaw(rejects[len(req.Rejects):], req); err != nil {
			return err // NeedRaw: the deferred rollback undoes the attempt
		}
	}
	if len(dbRejects) > 0 {
		s.logger().Warn("postgres: the database refused rows; they go to the rejects table",
			"batch", req.BatchID, "rows", len(dbRejects), "first", dbRejects[0].Origin.String(), "reason", dbRejects[0].Reason)
	}
	finished = true
	return s.commit(ctx, conn, req.BatchID, rejects, names, offsets, dones)
}

// withRaw gives the rejects made from rows of the batch that came without
// raw text (a batch without it, as the engine sends it when it holds the
// raw text) the raw text the engine sent with req, or, for those whose raw
// text the engine holds and has not sent yet, returns plugin.NeedRaw
// naming their origins, so that nothing is committed and the engine sends
// it.
func withRaw(rejects []record.Reject, req plugin.WriteRequest) error {
	var need []record.Origin
	for i := range rejects {
		if rejects[i].Raw != "" {
			continue
		}
		if raw, ok := req.Raw[rejects[i].Origin]; ok {
			rejects[i].Raw = raw // "" when the engine has none either
		} else {
			need = append(need, rejects[i].Origin)
		}
	}
	if len(need) > 0 && req.RawHeld {
		return &plugin.NeedRaw{Origins: need}
	}
	return nil
}

// committedRows is what the offsets table holds for the partitions of a
// batch, their rows locked.
type committedRows struct {
	// batchID is the highest batch id committed for them.
	batchID int64
	// offsets are the committed offsets, by partition; a partition with
	// nothing committed is not there.
	offsets map[string]int64
}

// fence checks that what is committed is where the batch starts (from,
// plugin.WriteRequest.From; empty: not known, nothing to check): each
// partition committed at the offset from gives it, or nothing committed
// where from says so. Otherwise another process wrote a partition since
// this one was given it (this one is a zombie that lost it, say): the
// batch must not be written.
func (c committedRows) fence(from []record.Position) error {
	for _, p := range from {
		off, ok := c.offsets[p.Partition]
		switch {
		case p.Offset == plugin.NothingCommitted && !ok, ok && off == p.Offset:
			continue
		case !ok:
			return fmt.Errorf("%w: partition %q has nothing committed, but the batch starts from offset %d",
				errFenced, p.Partition, p.Offset)
		}
		start := "nothing committed"
		if p.Offset != plugin.NothingCommitted {
			start = fmt.Sprintf("offset %d", p.Offset)
		}
		return fmt.Errorf("%w: partition %q is committed at offset %d, but the batch starts from %s: "+
			"another process has written the partition since this one was given it", errFenced, p.Partition, off, start)
	}
	return nil
}

// errFenced marks a batch refused because its partitions moved on under
// another writer.
var errFenced = errors.New("fenced")

// begin opens the transaction of batch batchID, claims and locks the
// offsets rows of its partitions (names), in one round trip, and returns
// what is committed for them.
func (s *Sink) begin(ctx context.Context, conn *pgx.Conn, batchID int64, names []string) (committedRows, error) {
	var b pgx.Batch
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue("SET CONSTRAINTS ALL IMMEDIATE")
	b.Queue(s.sqlOff.claim, s.pipeline, names)
	b.Queue(s.sqlOff.lock, s.pipeline, names)
	br := conn.SendBatch(ctx, &b)
	defer br.Close()
	c := committedRows{offsets: map[string]int64{}}
	if _, err := br.Exec(); err != nil {
		return c, fmt.Errorf("begin: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return c, fmt.Errorf("begin: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return c, fmt.Errorf("claim the offsets of batch %d: %w", batchID, err)
	}
	rows, err := br.Query()
	if err != nil {
		return c, fmt.Errorf("lock the offsets of batch %d: %w", batchID, err)
	}
	for rows.Next() {
		var name string
		var off, id int64
		if err := rows.Scan(&name, &off, &id); err != nil {
			rows.Close()
			return c, fmt.Errorf("lock the offsets of batch %d: %w", batchID, err)
		}
		if id > 0 {
			c.offsets[name] = off
			c.batchID = max(c.batchID, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("lock the offsets of batch %d: %w", batchID, err)
	}
	if err := br.Close(); err != nil {
		return c, fmt.Errorf("begin batch %d: %w", batchID, err)
	}
	return c, nil
}

// commit stores the rejects and the offsets of batch batchID and commits,
// in one round trip. When the connection dies on the way, the outcome is
// unknown: the retry reads it back from the offsets table.
func (s *Sink) commit(ctx context.Context, conn *pgx.Conn, batchID int64, rejects []record.Reject, names []string, offsets []int64, dones []bool) error {
	var b pgx.Batch
	if len(rejects) > 0 {
		b.Queue(s.rejectsSQL, s.rejectsArgs(batchID, rejects)...)
	}
	b.Queue(s.sqlOff.upsert, s.pipeline, names, offsets, dones, batchID)
	b.Queue("COMMIT")
	var tag pgconn.CommandTag
	br := conn.SendBatch(ctx, &b)
	defer br.Close()
	err := func() error {
		if len(rejects) > 0 {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("write %d rejects into %s: %w", len(rejects), s.set.rejects.Sanitize(), err)
			}
		}
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("store the offsets: %w", err)
		}
		var err error
		if tag, err = br.Exec(); err == nil {
			err = br.Close()
		}
		return err
	}()
	if err != nil {
		// The COMMIT went out with the rest: a connection lost on the
		// way leaves its outcome unknown.
		if classify(err, conn.IsClosed()) == classConn {
			s.logger().Warn("postgres: connection lost during COMMIT; the outcome is unknown and will be read back from the offsets table",
				"batch", batchID, "addr", s.set.addr, "error", err.Error())
		}
		s.rollback(ctx, conn)
		return fmt.Errorf("commit batch %d: %w", batchID, err)
	}
	if tag.String() != "COMMIT" {
		return fmt.Errorf("commit batch %d: the server answered %q: the transaction was rolled back", batchID, tag.String())
	}
	return nil
}

// rollback ends a failed transaction; a connection that cannot do it is
// closed.
func (s *Sink) rollback(ctx context.Context, conn *pgx.Conn) {
	if conn.IsClosed() {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(rctx, "ROLLBACK"); err != nil {
		s.closeConn(ctx)
	}
}

// copyRows copies tuples [lo, hi) of s.data: at once, or with isolate
// under a savepoint, the refused rows isolated (see isolateRows). The
// optimistic COPY returns errRefused when the database refuses a row.
func (s *Sink) copyRows(ctx context.Context, conn *pgx.Conn, b *record.Batch, lo, hi int, isolate bool, rejects *[]record.Reject) error {
	if isolate {
		return s.isolateRows(ctx, conn, b, lo, hi, rejects, s.copyUnderSavepoint)
	}
	_, err := conn.PgConn().CopyFrom(ctx, newCopyReader(&s.data, lo, hi), s.copySQL)
	if err != nil && classify(err, conn.IsClosed()) == classData {
		s.logger().Debug("postgres: the database refused a row; the batch goes in again with its rows isolated", "error", err.Error())
		return fmt.Errorf("%w: %v", errRefused, err)
	}
	return err
}

// isolateRows writes tuples [lo, hi) of s.data with attempt, which works
// under a savepoint. When the database refuses a row (SQLSTATE class 22
// or 23), attempt has rolled back to the savepoint and the range is
// split: around the row the error names when it names one, else in
// halves; a single refused row becomes a reject with the database's
// message.
func (s *Sink) isolateRows(ctx context.Context, conn *pgx.Conn, b *record.Batch, lo, hi int, rejects *[]record.Reject,
	attempt func(ctx context.Context, conn *pgx.Conn, lo, hi int) error) error {
	if lo >= hi {
		return nil
	}
	err := attempt(ctx, conn, lo, hi)
	if err == nil || classify(err, conn.IsClosed()) != classData {
		return err
	}
	if hi-lo == 1 {
		*rejects = append(*rejects, b.Reject(s.data.rows[lo], ErrorTypeDBRejected, dbReason(err)))
		return nil
	}
	if line := copyErrorLine(err); !s.noLineHints && line >= 1 && line <= hi-lo {
		bad := lo + line - 1
		for _, r := range [][2]int{{lo, bad}, {bad, bad + 1}, {bad + 1, hi}} {
			if err := s.isolateRows(ctx, conn, b, r[0], r[1], rejects, attempt); err != nil {
				return err
			}
		}
		return nil
	}
	mid := lo + (hi-lo)/2
	if err := s.isolateRows(ctx, conn, b, lo, mid, rejects, attempt); err != nil {
		return err
	}
	return s.isolateRows(ctx, conn, b, mid, hi, rejects, attempt)
}

func (s *Sink) copyUnderSavepoint(ctx context.Context, conn *pgx.Conn, lo, hi int) error {
	if _, err := conn.Exec(ctx, "SAVEPOINT etl_rows"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	_, err := conn.PgConn().CopyFrom(ctx, newCopyReader(&s.data, lo, hi), s.copySQL)
	if err != nil {
		if classify(err, conn.IsClosed()) == classData {
			if _, rerr := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT etl_rows; RELEASE SAVEPOINT etl_rows"); rerr != nil {
				return fmt.Errorf("roll back to savepoint after %v: %w", err, rerr)
			}
		}
		return err
	}
	if _, err := conn.Exec(ctx, "RELEASE SAVEPOINT etl_rows"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// rejectsInsert returns the statement that inserts rejects into the
// columns of plan: one INSERT of unnested arrays, one array a column
// (line may be NULL), batch_id and pipeline as single values. It fits in
// the pipelined batch of the COMMIT, unlike a COPY. rejectsArgs gives its
// arguments, in the same order.
func rejectsInsert(table string, plan rejectsPlan) string {
	var cols, exprs, arrays, names []string
	n := 0
	param := func(typ string) string {
		n++
		return fmt.Sprintf("$%d::%s", n, typ)
	}
	for _, c := range plan.columns {
		cols = append(cols, pgx.Identifier{c}.Sanitize())
		switch c {
		case "batch_id":
			exprs = append(exprs, param("bigint"))
		case "pipeline":
			exprs = append(exprs, param("text"))
		case "line":
			arrays, names = append(arrays, param("bigint[]")), append(names, c)
			exprs = append(exprs, "t."+c)
		default:
			arrays, names = append(arrays, param("text[]")), append(names, c)
			exprs = append(exprs, "t."+c)
		}
	}
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(exprs, ", ") +
		" FROM unnest(" + strings.Join(arrays, ", ") + ") AS t(" + strings.Join(names, ", ") + ")"
}

// rejectsArgs returns the arguments of rejectsInsert for rejects of batch
// batchID, their text made valid for TEXT columns.
func (s *Sink) rejectsArgs(batchID int64, rejects []record.Reject) []any {
	args := make([]any, 0, len(s.rej.columns))
	for _, c := range s.rej.columns {
		switch c {
		case "batch_id":
			args = append(args, batchID)
		case "pipeline":
			args = append(args, s.pipeline)
		case "line":
			lines := make([]*int64, len(rejects))
			for i, r := range rejects {
				if r.Origin.Line > 0 {
					lines[i] = &rejects[i].Origin.Line
				}
			}
			args = append(args, lines)
		default:
			texts := make([]string, len(rejects))
			for i, r := range rejects {
				texts[i] = s.rejectText(c, r)
			}
			args = append(args, texts)
		}
	}
	return args
}

// rejectText is the text of reject r for text column c of the rejects
// table.
func (s *Sink) rejectText(c string, r record.Reject) string {
	switch c {
	case "corrupt_record":
		raw, _ := textSafe(r.Raw)
		return raw
	case "reason":
		reason, _ := textSafe(r.Reason)
		if !rawIsText(r.Raw) {
			reason += escapedNote // textSafe escapes the raw text
		}
		return reason
	case "source":
		source, _ := textSafe(r.Origin.Source)
		return source
	case "error_type":
		errType, _ := textSafe(r.ErrorType)
		if s.rej.errorTypeLen > 0 {
			errType = truncateRunes(errType, s.rej.errorTypeLen)
		}
		return errType
	}
	return ""
}

// ensureReady connects, runs setup_sql, creates the offsets table and
// checks the target and rejects tables, once.
func (s *Sink) ensureReady(ctx context.Context) error {
	if s.ready {
		return nil
	}
	return s.retry(ctx, "connect", func(ctx context.Context) error {
		conn, err := s.connection(ctx)
		if err != nil {
			return err
		}
		if s.set.cfg.SetupSQL != "" && !s.setupDone {
			text, err := os.ReadFile(s.set.cfg.SetupSQL)
			if err != nil {
				return plugin.ConfigErrors{{Path: "setup_sql", Message: err.Error()}}
			}
			if _, err := conn.Exec(ctx, string(text)); err != nil {
				return fmt.Errorf("run setup_sql %s: %w", s.set.cfg.SetupSQL, err)
			}
			s.setupDone = true
			s.logger().Info("postgres: setup_sql applied", "file", s.set.cfg.SetupSQL)
		}
		if err := s.createOffsets(ctx, conn); err != nil {
			return err
		}
		table := s.set.table.Sanitize()
		cols, err := s.prepareTables(ctx, conn)
		if err != nil {
			return err
		}
		if cols == nil {
			return plugin.ConfigErrors{{Path: "table", Message: fmt.Sprintf("table %s does not exist (create it, e.g. with sql/postgres_setup.sql or setup_sql)", table)}}
		}
		var es plugin.ConfigErrors
		plan, err := planColumns(s.set.fields, table, cols)
		es = append(es, plugin.AsConfigErrors(err)...)
		rejTable := s.set.rejects.Sanitize()
		rcols, err := loadColumns(ctx, conn, s.set.rejects)
		if err != nil {
			return err
		}
		if rcols == nil {
			es.Add("rejects_table", "table %s does not exist (create it, e.g. with sql/postgres_setup.sql or setup_sql)", rejTable)
		} else {
			rp, err := planRejects(rejTable, rcols)
			es = append(es, plugin.AsConfigErrors(err)...)
			s.rej = rp
			s.rejectsSQL = rejectsInsert(rejTable, rp)
		}
		if err := es.Err(); err != nil {
			return err
		}
		for i := range plan {
			plan[i].loc = s.set.zone
		}
		s.cols = plan
		cnames := make([]string, len(plan))
		for i, c := range plan {
			cnames[i] = pgx.Identifier{c.column}.Sanitize()
		}
		s.copySQL = fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", table, strings.Join(cnames, ", "))
		if s.set.up != nil {
			uniq, err := loadUniqueIndexes(ctx, conn, s.set.table)
			if err != nil {
				return err
			}
			if s.up, err = planUpsert(s.set.up, s.set.table, plan, uniq); err != nil {
				return err
			}
		}
		s.ready = true
		s.warmUp(ctx, conn)
		return nil
	})
}

// warmUp runs the statements of a batch once with nothing in them, in a
// transaction it rolls back: the server parses and plans them and opens
// the tables and their indexes, and pgx caches the statements, before the
// first batch comes (the first batch of each sink otherwise took 40-50 ms
// more than the next ones). A failure does no harm: the first batch runs
// the same statements and meets it there.
func (s *Sink) warmUp(ctx context.Context, conn *pgx.Conn) {
	defer s.rollback(ctx, conn)
	if _, err := s.begin(ctx, conn, 0, []string{}); err != nil {
		return
	}
	if s.up == nil {
		empty := newCopyReader(&copyData{off: []int{0}}, 0, 0) // header and trailer only
		if _, err := conn.PgConn().CopyFrom(ctx, empty, s.copySQL); err != nil {
			return
		}
	}
	var b pgx.Batch
	b.Queue(s.rejectsSQL, s.rejectsArgs(0, nil)...)
	b.Queue(s.sqlOff.upsert, s.pipeline, []string{}, []int64{}, []bool{}, int64(0))
	conn.SendBatch(ctx, &b).Close()
}

// createOffsets creates the offsets table when it is missing. Two sinks
// creating it at once may collide; the loser finds it made.
func (s *Sink) createOffsets(ctx context.Context, conn *pgx.Conn) error {
	var err error
	for range 2 {
		if _, err = conn.Exec(ctx, s.sqlOff.create); err == nil {
			return nil
		}
		var code string
		if pe := pgErrorOf(err); pe != nil {
			code = pe.Code
		}
		if code != "23505" && code != "42P07" {
			break
		}
	}
	return fmt.Errorf("create the offsets table %s: %w", s.set.offsets.Sanitize(), err)
}

// connection returns the open connection, or makes one. After a lost
// connection, the new one first ends the old server process if it still
// lives: a process whose client vanished without the server noticing (a
// network failure rather than a closed socket) would otherwise hold the
// locks of its transaction, and the retry would wait for them until the
// server's TCP keepalive gives up, hours later.
func (s *Sink) connection(ctx context.Context) (*pgx.Conn, error) {
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	s.closeConn(ctx)
	conn, err := pgx.ConnectConfig(ctx, s.set.conn.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.set.addr, redactErr(err, s.set.password))
	}
	var be backend
	if err := conn.QueryRow(ctx, `SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()`).Scan(&be.pid, &be.start); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("read the server process of the new connection: %w", err)
	}
	for _, old := range s.lost {
		var ended bool
		err := conn.QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity
			WHERE pid = $1 AND backend_start = $2`, int32(old.pid), old.start).Scan(&ended)
		if err != nil {
			s.logger().Warn("postgres: cannot end the server process of a lost connection", "pid", old.pid, "error", err.Error())
			continue
		}
		if ended {
			s.logger().Warn("postgres: ended the server process of a lost connection, still alive", "pid", old.pid)
		}
	}
	s.lost = s.lost[:0]
	s.conn, s.backend = conn, be
	return conn, nil
}

// closeConn closes the connection, if any, remembering its server process
// in case it lives on.
func (s *Sink) closeConn(ctx context.Context) {
	if s.conn == nil {
		return
	}
	if s.backend.pid != 0 {
		s.lost = append(s.lost, s.backend)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = s.conn.Close(cctx)
	s.conn, s.backend = nil, backend{}
}

// engineRetryWindow is how long a call retries a lost database by itself
// when the engine retries it afterwards (a streaming run): long enough to
// ride out a dropped connection, short enough that the engine learns of
// an outage, and a stop is obeyed, within about a second.
const engineRetryWindow = time.Second

// warnEvery is how often a retry that goes on says so at WARN.
const warnEvery = time.Minute

// retry runs f until it succeeds, fails with an error that a retry cannot
// mend, or its time is spent: retry.max_time, or engineRetryWindow for a
// lost database when the engine retries the call itself (a streaming run,
// see plugin.EngineRetries). A lost connection is dropped, so that f
// reconnects; the waits grow from retry.initial_backoff to
// retry.max_backoff. A database that stays unreachable ends in an error
// wrapping plugin.ErrUnavailable. The first failure is logged at WARN,
// then at most once a minute while it lasts (at DEBUG when the engine
// retries: it reports the outage itself); a context that ends stops the
// wait at once.
func (s *Sink) retry(ctx context.Context, what string, f func(context.Context) error) error {
	r := s.set.cfg.Retry
	engineRetries := plugin.EngineRetries(ctx)
	start := time.Now()
	backoff := time.Duration(r.InitialBackoff)
	var warned time.Time
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			if attempt > 1 {
				s.logger().Info("postgres: "+what+" succeeded after retrying", "addr", s.set.addr, "attempts", attempt,
					"after", time.Since(start).Round(time.Millisecond).String())
			}
			return nil
		}
		err = redactErr(err, s.set.password)
		if ctx.Err() != nil {
			return fmt.Errorf("postgres: %s: %w (%v)", what, ctx.Err(), err)
		}
		var ce plugin.ConfigErrors
		if errors.As(err, &ce) {
			return err
		}
		if _, ok := errors.AsType[*plugin.NeedRaw](err); ok {
			return err
		}
		class := classify(err, s.conn == nil || s.conn.IsClosed())
		if class != classConn && class != classTransient {
			return fmt.Errorf("postgres: %s: %w", what, err)
		}
		if class == classConn {
			s.closeConn(ctx)
		}
		limit := time.Duration(r.MaxTime)
		if engineRetries && class == classConn {
			limit = min(limit, engineRetryWindow)
		}
		elapsed := time.Since(start)
		if elapsed+backoff > limit {
			if class == classConn {
				return fmt.Errorf("postgres: %s: PostgreSQL at %s unavailable (%d attempts in %s): %w (%w)",
					what, s.set.addr, attempt, elapsed.Round(time.Millisecond), err, plugin.ErrUnavailable)
			}
			return fmt.Errorf("postgres: %s: PostgreSQL at %s still failing after %d attempts in %s: %w",
				what, s.set.addr, attempt, elapsed.Round(time.Millisecond), err)
		}
		level := slog.LevelWarn
		if engineRetries && class == classConn || !warned.IsZero() && time.Since(warned) < warnEvery {
			level = slog.LevelDebug
		} else {
			warned = time.Now()
		}
		s.logger().Log(ctx, level, "postgres: "+what+" failed, retrying", "addr", s.set.addr, "attempt", attempt,
			"retry_in", backoff, "kind", class.String(), "error", err.Error())
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("postgres: %s: %w (%v)", what, ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(2*backoff, time.Duration(r.MaxBackoff))
	}
}

package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Upsert and merge.
//
// In mode upsert and merge a batch is written in its one transaction
// (the same as append mode's, with the offsets and the rejects) as:
//
//  1. its rows encoded for COPY as in append mode (copy.go);
//  2. a row with a NULL in a key column becomes a MISSING_KEY reject;
//  3. the rows with the same key are reduced to one, in source order, by
//     the same rule the database applies between a stored row and a new
//     one (fold below), so that the result is that of writing the rows
//     one by one;
//  4. the rows are copied into a temporary staging table (pg_temp.etl_stage,
//     made once per connection, ON COMMIT DELETE ROWS), then moved into
//     the table by one INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE
//     (or DO NOTHING, or a plain INSERT for on_conflict: error).
//
// Rows the database refuses (a constraint, a duplicate key with
// on_conflict: error) are isolated as in append mode: the range is rolled
// back to a savepoint and split, and a single refused row becomes a
// DB_REJECTED reject with the database's message.

// ErrorTypeMissingKey is the error type of a row with a NULL in a key
// column, in mode upsert and merge.
const ErrorTypeMissingKey = "MISSING_KEY"

// stageTable is the staging table of mode upsert and merge, one per
// connection.
const stageTable = "etl_stage"

// upsertSettings are the checked keys of mode upsert and merge.
type upsertSettings struct {
	mode       string
	onConflict string
	key        []string // columns
	newerBy    string   // column, or ""
	greater    []string // keep_greater columns
	first      []string // keep_first columns
}

// orderedTypes are the field types newer_by and keep_greater compare.
var orderedTypes = []record.Type{record.Int16, record.Int32, record.Int64, record.Timestamp, record.Date}

// orderedEncs are the encodings whose binary form compares as a signed
// big-endian integer.
var orderedEncs = []encKind{encInt2, encInt4, encInt8, encTimestamp, encTimestampLocal, encDate, encDateFromText}

// checkUpsert checks mode, key, newer_by, on_conflict, keep_greater,
// keep_first and evolve against the written fields, adding mistakes to
// es. It returns nil in append mode.
func checkUpsert(cfg Config, fields []field, es *plugin.ConfigErrors) *upsertSettings {
	switch cfg.Evolve {
	case "", "none", evolveAddColumns:
	default:
		es.Add("evolve", "unknown value %q: want none or add_columns", cfg.Evolve)
	}
	mode := cfg.Mode
	if mode == "" {
		mode = modeAppend
	}
	byColumn := map[string]field{}
	var columns []string
	for _, f := range fields {
		byColumn[f.column] = f
		columns = append(columns, f.column)
	}
	written := strings.Join(columns, ", ")
	switch mode {
	case modeAppend:
		for _, k := range []struct {
			path string
			set  bool
		}{{"key", len(cfg.Key) > 0}, {"newer_by", cfg.NewerBy != ""}, {"on_conflict", cfg.OnConflict != ""},
			{"keep_greater", len(cfg.KeepGreater) > 0}, {"keep_first", len(cfg.KeepFirst) > 0}} {
			if k.set {
				es.Add(k.path, "only with mode: upsert or merge (mode is append, which adds every row)")
			}
		}
		return nil
	case modeUpsert, modeMerge:
	default:
		es.Add("mode", "unknown mode %q: want append, upsert or merge", cfg.Mode)
		return nil
	}
	u := &upsertSettings{mode: mode, onConflict: conflictUpdate, newerBy: cfg.NewerBy}
	before := len(*es)
	defer func() {
		if len(*es) > before {
			// etl validate's database check leaves the key alone: its
			// mistakes are reported already.
			u.key = nil
		}
	}()
	if mode == modeUpsert {
		if cfg.OnConflict != "" {
			es.Add("on_conflict", "only with mode: merge (mode: upsert always updates)")
		}
		for _, k := range []struct {
			path string
			set  bool
		}{{"keep_greater", len(cfg.KeepGreater) > 0}, {"keep_first", len(cfg.KeepFirst) > 0}} {
			if k.set {
				es.Add(k.path, "only with mode: merge")
			}
		}
	} else if cfg.OnConflict != "" {
		switch cfg.OnConflict {
		case conflictUpdate, conflictIgnore, conflictError:
			u.onConflict = cfg.OnConflict
		default:
			es.Add("on_conflict", "unknown value %q: want update, ignore or error", cfg.OnConflict)
		}
	}
	if len(cfg.Key) == 0 {
		es.Add("key", "required with mode: %s: the columns that identify a row, e.g. [user_id, product_id]", mode)
	}
	isKey := map[string]bool{}
	for i, k := range cfg.Key {
		path := fmt.Sprintf("key[%d]", i)
		if _, ok := byColumn[k]; !ok {
			es.Add(path, "no written column %q (the columns written: %s)", k, written)
			continue
		}
		if isKey[k] {
			es.Add(path, "column %q is twice in the key", k)
			continue
		}
		isKey[k] = true
		u.key = append(u.key, k)
	}
	ruled := map[string]string{}
	checkRule := func(path, col string, ordered bool) bool {
		f, ok := byColumn[col]
		switch {
		case !ok:
			es.Add(path, "no written column %q (the columns written: %s)", col, written)
		case isKey[col]:
			es.Add(path, "column %q is in the key: a key column never changes", col)
		case ruled[col] != "":
			es.Add(path, "column %q already has the rule %s", col, ruled[col])
		case ordered && !slices.Contains(orderedTypes, f.typ):
			es.Add(path, "field %q is %s: want int16, int32, int64, timestamp or date, which compare as numbers", f.name, f.typ)
		default:
			return true
		}
		return false
	}
	if cfg.NewerBy != "" && (u.onConflict != conflictUpdate) {
		es.Add("newer_by", "only with on_conflict: update (on_conflict is %s)", u.onConflict)
	} else if cfg.NewerBy != "" && checkRule("newer_by", cfg.NewerBy, true) {
		ruled[cfg.NewerBy] = "newer_by"
	}
	for _, r := range []struct {
		name    string
		cols    []string
		dst     *[]string
		ordered bool
	}{{"keep_greater", cfg.KeepGreater, &u.greater, true}, {"keep_first", cfg.KeepFirst, &u.first, false}} {
		if len(r.cols) > 0 && u.onConflict != conflictUpdate {
			es.Add(r.name, "only with on_conflict: update (on_conflict is %s)", u.onConflict)
			continue
		}
		for i, c := range r.cols {
			if checkRule(fmt.Sprintf("%s[%d]", r.name, i), c, r.ordered) {
				ruled[c] = r.name
				*r.dst = append(*r.dst, c)
			}
		}
	}
	return u
}

// upsertPlan is how the sink writes in mode upsert and merge, made once
// the table's columns are known.
type upsertPlan struct {
	u *upsertSettings
	// key, newer, greater, first are indexes into the columns (s.cols).
	key              []int
	newer            int // -1: none
	greater, first   []int
	createStage      string
	copyStage        string
	insert           string
	keyList          string // "(user_id, product_id)", for messages
	columnsByEncoded []string
}

// planUpsert builds the statements of mode upsert and merge for the
// columns cols of table, and checks that the ordered rules' columns
// encode as numbers. uniq lists the column sets of the table's unique
// indexes.
func planUpsert(u *upsertSettings, table pgx.Identifier, cols []colEnc, uniq [][]string) (*upsertPlan, error) {
	var es plugin.ConfigErrors
	p := &upsertPlan{u: u, newer: -1}
	at := map[string]int{}
	names := make([]string, len(cols))
	for i, c := range cols {
		at[c.column] = i
		names[i] = pgx.Identifier{c.column}.Sanitize()
	}
	keyNames := make([]string, len(u.key))
	for i, k := range u.key {
		p.key = append(p.key, at[k])
		keyNames[i] = pgx.Identifier{k}.Sanitize()
	}
	p.keyList = "(" + strings.Join(u.key, ", ") + ")"
	if !hasUniqueIndex(uniq, u.key) {
		es.Add("key", "table %s has no primary key or unique index on exactly %s, which ON CONFLICT needs (ALTER TABLE %s ADD PRIMARY KEY (%s), or create_table: true on a new table)",
			table.Sanitize(), p.keyList, table.Sanitize(), strings.Join(keyNames, ", "))
	}
	ordered := func(path string, i int) {
		if !slices.Contains(orderedEncs, cols[i].kind) {
			es.Add(path, "column %q is %s: want bigint, integer, smallint, timestamp, timestamptz or date, which compare as numbers", cols[i].column, cols[i].pgType)
		}
	}
	if u.newerBy != "" {
		p.newer = at[u.newerBy]
		ordered("newer_by", p.newer)
	}
	for j, c := range u.greater {
		p.greater = append(p.greater, at[c])
		ordered(fmt.Sprintf("keep_greater[%d]", j), at[c])
	}
	for _, c := range u.first {
		p.first = append(p.first, at[c])
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	list := strings.Join(names, ", ")
	stage := pgx.Identifier{"pg_temp", stageTable}.Sanitize()
	// The staging table has the target's column types (CREATE TABLE AS
	// keeps them), so the COPY encodings chosen for the table fit it.
	p.createStage = fmt.Sprintf("CREATE TEMP TABLE IF NOT EXISTS %s ON COMMIT DELETE ROWS AS SELECT %s FROM %s WITH NO DATA",
		pgx.Identifier{stageTable}.Sanitize(), list, table.Sanitize())
	p.copyStage = fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", stage, list)
	insert := fmt.Sprintf("INSERT INTO %s AS t (%s) SELECT %s FROM %s", table.Sanitize(), list, list, stage)
	switch {
	case u.onConflict == conflictError:
	case u.onConflict == conflictIgnore || len(p.key) == len(cols):
		insert += fmt.Sprintf(" ON CONFLICT (%s) DO NOTHING", strings.Join(keyNames, ", "))
	default:
		insert += fmt.Sprintf(" ON CONFLICT (%s) DO UPDATE SET %s", strings.Join(keyNames, ", "), p.updateSet(cols))
	}
	p.insert = insert
	return p, nil
}

// updateSet is the SET list (and WHERE) of DO UPDATE: the columns that
// follow the winning row take the new value when the new row wins (the
// newer_by condition), keep_greater columns the greater value, keep_first
// columns the stored one unless it is NULL.
func (p *upsertPlan) updateSet(cols []colEnc) string {
	cond := ""
	if p.newer >= 0 {
		n := pgx.Identifier{cols[p.newer].column}.Sanitize()
		cond = fmt.Sprintf("t.%s IS NULL OR EXCLUDED.%s >= t.%s", n, n, n)
	}
	ruled := len(p.greater) > 0 || len(p.first) > 0
	var sets []string
	for i, c := range cols {
		if slices.Contains(p.key, i) {
			continue
		}
		n := pgx.Identifier{c.column}.Sanitize()
		switch {
		case slices.Contains(p.greater, i):
			sets = append(sets, fmt.Sprintf("%s = GREATEST(t.%s, EXCLUDED.%s)", n, n, n))
		case slices.Contains(p.first, i):
			sets = append(sets, fmt.Sprintf("%s = COALESCE(t.%s, EXCLUDED.%s)", n, n, n))
		case cond != "" && ruled:
			sets = append(sets, fmt.Sprintf("%s = CASE WHEN %s THEN EXCLUDED.%s ELSE t.%s END", n, cond, n, n))
		default:
			sets = append(sets, fmt.Sprintf("%s = EXCLUDED.%s", n, n))
		}
	}
	set := strings.Join(sets, ", ")
	if cond != "" && !ruled {
		// Rows that lose change nothing: no new row version is written.
		set += " WHERE " + cond
	}
	return set
}

// hasUniqueIndex says whether one of uniq is exactly the set key.
func hasUniqueIndex(uniq [][]string, key []string) bool {
	for _, u := range uniq {
		if len(u) != len(key) {
			continue
		}
		all := true
		for _, k := range key {
			if !slices.Contains(u, k) {
				all = false
			}
		}
		if all {
			return true
		}
	}
	return false
}

// loadUniqueIndexes returns the column sets of the valid unique indexes
// (the primary key among them) of table without predicate or expression.
func loadUniqueIndexes(ctx context.Context, conn *pgx.Conn, table pgx.Identifier) ([][]string, error) {
	rows, err := conn.Query(ctx, `
		SELECT array_agg(a.attname::text ORDER BY a.attname)
		FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) AS k(attnum)
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
		GROUP BY i.indexrelid`, table.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("read the unique indexes of %s: %w", table.Sanitize(), err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]string])
	if err != nil {
		return nil, fmt.Errorf("read the unique indexes of %s: %w", table.Sanitize(), err)
	}
	return out, nil
}

// tupleCells splits the tuple t of a binary COPY stream into its cells,
// each with its 4-byte length (-1: NULL) in front.
func tupleCells(t []byte, dst [][]byte) [][]byte {
	dst = dst[:0]
	n := int(binary.BigEndian.Uint16(t))
	t = t[2:]
	for i := 0; i < n; i++ {
		l := int32(binary.BigEndian.Uint32(t))
		size := 4
		if l > 0 {
			size += int(l)
		}
		dst = append(dst, t[:size:size])
		t = t[size:]
	}
	return dst
}

// isNullCell says whether a cell of tupleCells is NULL.
func isNullCell(c []byte) bool { return int32(binary.BigEndian.Uint32(c)) == -1 }

// compareCells compares two non-NULL cells of the same ordered column
// (orderedEncs): signed big-endian integers of one width.
func compareCells(a, b []byte) int {
	a, b = a[4:], b[4:]
	if len(a) == 0 || len(b) == 0 || len(a) != len(b) {
		return bytes.Compare(a, b)
	}
	if sa, sb := a[0]^0x80, b[0]^0x80; sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	return bytes.Compare(a[1:], b[1:])
}

// greaterCell returns the greater of two cells of an ordered column, a
// NULL counting as no value (as GREATEST does).
func greaterCell(a, b []byte) []byte {
	switch {
	case isNullCell(a):
		return b
	case isNullCell(b):
		return a
	case compareCells(b, a) > 0:
		return b
	}
	return a
}

// reduced is one key's row while the batch is reduced: its cells as the
// rows so far make them, and the batch row it stands for in messages.
type reduced struct {
	cells [][]byte
	row   int
}

// reduce rewrites s.data in place for mode upsert and merge: rows with a
// NULL key become MISSING_KEY rejects (into *rejects), and the rows of
// each key are folded into one, in source order, so that no two tuples
// have the same key. The tuples are sorted by key (see below).
func (s *Sink) reduce(b *record.Batch, rejects *[]record.Reject) {
	p := s.up
	d := &s.data
	n := len(d.rows)
	if n == 0 {
		return
	}
	order := make([]string, 0, n)
	byKey := make(map[string]*reduced, n)
	var cells [][]byte
	var keyBuf []byte
	changed := false
	for i := 0; i < n; i++ {
		cells = tupleCells(d.buf[d.off[i]:d.off[i+1]], cells)
		keyBuf = keyBuf[:0]
		var null []string
		for _, k := range p.key {
			if isNullCell(cells[k]) {
				null = append(null, s.cols[k].column)
			}
			keyBuf = append(keyBuf, cells[k]...)
		}
		if len(null) > 0 {
			*rejects = append(*rejects, b.Reject(d.rows[i], ErrorTypeMissingKey,
				fmt.Sprintf("key column %s is NULL; the key %s identifies the row (mode %s)", strings.Join(null, ", "), p.keyList, p.u.mode)))
			changed = true
			continue
		}
		prev, ok := byKey[string(keyBuf)]
		if !ok {
			byKey[string(keyBuf)] = &reduced{cells: slices.Clone(cells), row: d.rows[i]}
			order = append(order, string(keyBuf))
			continue
		}
		changed = true
		if p.u.onConflict == conflictError {
			o := b.Origin(prev.row)
			*rejects = append(*rejects, b.Reject(d.rows[i], ErrorTypeDBRejected,
				fmt.Sprintf("duplicate key %s: an earlier row of its batch (%s) has the same key, and on_conflict is error", p.keyList, o.String())))
			continue
		}
		p.fold(prev, cells, d.rows[i])
	}
	// The tuples go in the order of their keys' encoded bytes: two
	// writers of the pipeline then lock the rows of the keys they share in
	// the same order, and wait for each other instead of deadlocking.
	if !changed && slices.IsSorted(order) {
		return
	}
	slices.Sort(order)
	// Rebuild the tuples: each of the new ones is made of cells that
	// alias the old buffer, so the new buffer is a fresh one.
	buf := make([]byte, 0, len(d.buf))
	d.off, d.rows = d.off[:0], d.rows[:0]
	for _, k := range order {
		r := byKey[k]
		d.off = append(d.off, len(buf))
		d.rows = append(d.rows, r.row)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(r.cells)))
		for _, c := range r.cells {
			buf = append(buf, c...)
		}
	}
	d.off = append(d.off, len(buf))
	d.buf = buf
}

// fold applies a new row (cells, batch row) to the row stored so far for
// its key, as the database's DO UPDATE (or DO NOTHING) does.
func (p *upsertPlan) fold(stored *reduced, cells [][]byte, row int) {
	if p.u.onConflict == conflictIgnore {
		return
	}
	wins := true
	if p.newer >= 0 {
		old, nw := stored.cells[p.newer], cells[p.newer]
		wins = isNullCell(old) || !isNullCell(nw) && compareCells(nw, old) >= 0
	}
	for i := range cells {
		switch {
		case slices.Contains(p.key, i):
		case slices.Contains(p.greater, i):
			stored.cells[i] = greaterCell(stored.cells[i], cells[i])
		case slices.Contains(p.first, i):
			if isNullCell(stored.cells[i]) {
				stored.cells[i] = cells[i]
			}
		case wins:
			stored.cells[i] = cells[i]
		}
	}
	if wins {
		stored.row = row
	}
}

// upsertRows writes tuples [lo, hi) of s.data through the staging table
// under a savepoint; refused rows are isolated as copyRows does and
// become DB_REJECTED rejects with the database's message.
func (s *Sink) upsertRows(ctx context.Context, conn *pgx.Conn, b *record.Batch, lo, hi int, rejects *[]record.Reject) error {
	return s.isolateRows(ctx, conn, b, lo, hi, rejects, s.upsertUnderSavepoint)
}

// upsertUnderSavepoint copies tuples [lo, hi) into the staging table and
// moves them into the table, under a savepoint. The staging table is
// made when the connection has none yet, and emptied when an earlier
// range of the transaction left rows in it.
func (s *Sink) upsertUnderSavepoint(ctx context.Context, conn *pgx.Conn, lo, hi int) error {
	pre := "SAVEPOINT etl_rows"
	if s.stageDirty {
		pre = "TRUNCATE " + pgx.Identifier{"pg_temp", stageTable}.Sanitize() + "; " + pre
	}
	if s.stageFor != s.backend {
		pre = s.up.createStage + "; " + pre
	}
	if _, err := conn.Exec(ctx, pre); err != nil {
		return fmt.Errorf("staging table and savepoint: %w", err)
	}
	s.stageFor = s.backend // in this transaction at least; CREATE ... IF NOT EXISTS is harmless again
	_, err := conn.PgConn().CopyFrom(ctx, newCopyReader(&s.data, lo, hi), s.up.copyStage)
	if err == nil {
		_, err = conn.Exec(ctx, s.up.insert)
	}
	if err != nil {
		if classify(err, conn.IsClosed()) == classData {
			if _, rerr := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT etl_rows; RELEASE SAVEPOINT etl_rows"); rerr != nil {
				return fmt.Errorf("roll back to savepoint after %v: %w", err, rerr)
			}
		}
		return err
	}
	s.stageDirty = true
	if _, err := conn.Exec(ctx, "RELEASE SAVEPOINT etl_rows"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// writeRows writes the encoded rows of a batch in the configured mode,
// inside writeOnce's transaction.
func (s *Sink) writeRows(ctx context.Context, conn *pgx.Conn, b *record.Batch, isolate bool, rejects *[]record.Reject) error {
	n := len(s.data.rows)
	if n == 0 {
		return nil
	}
	if s.up == nil {
		return s.copyRows(ctx, conn, b, 0, n, isolate, rejects)
	}
	// A rolled back transaction (an earlier attempt) took the staging
	// table's rows, and maybe the table itself, with it.
	s.stageDirty = false
	s.stageFor = backend{}
	return s.upsertRows(ctx, conn, b, 0, n, rejects)
}

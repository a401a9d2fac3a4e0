package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/plugin"
)

var _ plugin.Checker = (*Sink)(nil)

// checkConnectTimeout bounds Check's connection attempt: validate should
// answer promptly, not wait out a 10s connect_timeout.
const checkConnectTimeout = 5 * time.Second

// offsetsColumns are the columns of the offsets table the sink reads and
// writes.
var offsetsColumns = []string{"pipeline", "partition", "offset", "done", "batch_id", "committed_at"}

// Check looks at the database for etl validate, strictly read-only: it
// connects once (no retry, within 5s or a shorter connect_timeout), then in
// a READ ONLY transaction that it rolls back checks that the target and
// rejects tables exist, that every written field has a column of a type
// the sink can write it into, that the offsets table exists with its
// columns (or notes that a run creates it, and then checks the CREATE
// privilege on its schema), and that the role may INSERT into the tables
// (and SELECT and UPDATE the offsets table). Mistakes are
// plugin.ConfigErrors at the config key they come from; a type mismatch
// carries the field's name. With setup_sql, which a run applies first, a
// missing table is a note rather than a mistake: the file may create it.
func (s *Sink) Check(ctx context.Context) (plugin.CheckResult, error) {
	set := s.set
	if set == nil {
		set = s.checkOnly
	}
	if set == nil {
		return plugin.CheckResult{}, errors.New("postgres: Check before Configure, or after one whose mistakes leave nothing to check")
	}
	var res plugin.CheckResult
	cc := set.conn.Copy()
	if cc.ConnectTimeout == 0 || cc.ConnectTimeout > checkConnectTimeout {
		cc.ConnectTimeout = checkConnectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return res, plugin.ConfigErrors{{Path: "dsn", Message: fmt.Sprintf("cannot connect with %s: %s",
			redact(set.cfg.DSN, set.password), connectFailure(err, cc, set.password))}}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return res, fmt.Errorf("begin a read-only transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	c := &checker{conn: conn, setup: set.cfg.SetupSQL}
	if c.setup != "" {
		c.notef("a run applies setup_sql %s first; the tables are checked as they are now", c.setup)
	}
	if err := conn.QueryRow(ctx, `SELECT current_user`).Scan(&c.role); err != nil {
		return res, fmt.Errorf("read the current role: %w", err)
	}
	if err := s.checkTables(ctx, c, set); err != nil {
		return res, err
	}
	res.Notes = c.notes
	return res, c.errs.Err()
}

// checker collects what Check finds.
type checker struct {
	conn  *pgx.Conn
	role  string
	setup string // setup_sql, when set
	errs  plugin.ConfigErrors
	notes []string
}

func (c *checker) notef(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// missing reports a table that does not exist at path: a mistake, or a
// note when setup_sql may create it.
func (c *checker) missing(path, table string) {
	if c.setup != "" {
		c.notef("table %s does not exist now; setup_sql %s must create it, or the run fails", table, c.setup)
		return
	}
	c.errs.Add(path, "table %s does not exist (create it, e.g. with sql/postgres_setup.sql or setup_sql)", table)
}

// privileges reports at path each of privs the role lacks on table.
func (c *checker) privileges(ctx context.Context, path string, table pgx.Identifier, why string, privs ...string) error {
	var lack []string
	for _, p := range privs {
		var ok bool
		if err := c.conn.QueryRow(ctx, `SELECT has_table_privilege(to_regclass($1), $2)`, table.Sanitize(), p).Scan(&ok); err != nil {
			return fmt.Errorf("check the %s privilege on %s: %w", p, table.Sanitize(), err)
		}
		if !ok {
			lack = append(lack, p)
		}
	}
	if len(lack) > 0 {
		c.errs.Add(path, "role %q may not %s table %s, which %s (GRANT %s ON %s TO %s)", c.role, strings.Join(lack, " or "),
			table.Sanitize(), why, strings.Join(lack, ", "), table.Sanitize(), pgx.Identifier{c.role}.Sanitize())
	}
	return nil
}

// checkTables checks the target, rejects and offsets tables.
func (s *Sink) checkTables(ctx context.Context, c *checker, set *settings) error {
	table := set.table.Sanitize()
	cols, err := loadColumns(ctx, c.conn, set.table)
	if err != nil {
		return err
	}
	switch {
	case cols == nil && set.cfg.CreateTable:
		c.notef("table %s does not exist; a run creates it (create_table: true)", table)
	case cols == nil:
		c.missing("table", table)
	default:
		fields := set.fields
		if set.cfg.Evolve == evolveAddColumns {
			fields = nil
			add := missingFields(set, cols)
			for _, f := range add {
				c.notef("table %s has no column %q; a run adds it as %s (evolve: add_columns)", table, f.column, columnType(f.typ, f.scale))
			}
			for _, f := range set.fields {
				if _, ok := cols[f.column]; ok {
					fields = append(fields, f)
				}
			}
		}
		plan, err := planColumns(fields, table, cols)
		c.errs = append(c.errs, plugin.AsConfigErrors(err)...)
		privs := []string{"INSERT"}
		if set.up != nil {
			privs = append(privs, "UPDATE")
		}
		if err == nil && set.up != nil && len(set.up.key) > 0 && len(fields) == len(set.fields) {
			uniq, err := loadUniqueIndexes(ctx, c.conn, set.table)
			if err != nil {
				return err
			}
			_, err = planUpsert(set.up, set.table, plan, uniq)
			c.errs = append(c.errs, plugin.AsConfigErrors(err)...)
		}
		if err := c.privileges(ctx, "table", set.table, "a run writes the rows into", privs...); err != nil {
			return err
		}
	}

	rejTable := set.rejects.Sanitize()
	rcols, err := loadColumns(ctx, c.conn, set.rejects)
	if err != nil {
		return err
	}
	if rcols == nil && set.cfg.CreateTable {
		c.notef("table %s does not exist; a run creates it (create_table: true)", rejTable)
	} else if rcols == nil {
		c.missing("rejects_table", rejTable)
	} else {
		_, err := planRejects(rejTable, rcols)
		c.errs = append(c.errs, plugin.AsConfigErrors(err)...)
		if err := c.privileges(ctx, "rejects_table", set.rejects, "a run writes the rejected rows into", "INSERT"); err != nil {
			return err
		}
	}
	return s.checkOffsets(ctx, c, set)
}

// checkOffsets checks the offsets table, or that the role may create it.
func (s *Sink) checkOffsets(ctx context.Context, c *checker, set *settings) error {
	off := set.offsets.Sanitize()
	ocols, err := loadColumns(ctx, c.conn, set.offsets)
	if err != nil {
		return err
	}
	if ocols != nil {
		var lack []string
		for _, n := range offsetsColumns {
			if _, ok := ocols[n]; !ok {
				lack = append(lack, n)
			}
		}
		if len(lack) > 0 {
			c.errs.Add("offsets_table", "table %s has no column %s: it is not an offsets table of etl (name another with offsets_table)", off, strings.Join(lack, ", "))
			return nil
		}
		return c.privileges(ctx, "offsets_table", set.offsets, "a run stores the source positions in", "SELECT", "INSERT", "UPDATE")
	}
	c.notef("table %s does not exist; a run creates it", off)
	schema := ""
	if len(set.offsets) == 2 {
		schema = set.offsets[0]
	}
	var name string
	var exists, may bool
	if err := c.conn.QueryRow(ctx, `
		SELECT w.name, n.oid IS NOT NULL, coalesce(has_schema_privilege(n.oid, 'CREATE'), false)
		FROM (SELECT coalesce(nullif($1::text, ''), current_schema(), '') AS name) AS w
		LEFT JOIN pg_namespace n ON n.nspname = w.name`, schema).Scan(&name, &exists, &may); err != nil {
		return fmt.Errorf("check the CREATE privilege for %s: %w", off, err)
	}
	switch {
	case name == "":
		c.errs.Add("offsets_table", "no schema of the search_path exists, so a run cannot create table %s", off)
	case !exists:
		c.errs.Add("offsets_table", "schema %q does not exist, so a run cannot create table %s", schema, off)
	case !may:
		c.errs.Add("offsets_table", "role %q may not CREATE in schema %q, which a run needs to create table %s (create it beforehand, or GRANT CREATE ON SCHEMA %s TO %s)",
			c.role, name, off, pgx.Identifier{name}.Sanitize(), pgx.Identifier{c.role}.Sanitize())
	}
	return nil
}

// connectFailure says what failed when connecting: the server refused the
// login (and why), nothing listens at host:port, or no answer came.
func connectFailure(err error, cc *pgx.ConnConfig, password string) string {
	addr := addresses(cc)
	if pe := pgErrorOf(err); pe != nil {
		switch pe.Code {
		case "28P01":
			return fmt.Sprintf("password authentication failed for user %q", cc.User)
		case "3D000", "28000":
			return pe.Message // database "x" does not exist; role "x" does not exist; no pg_hba.conf entry ...
		}
		return redact(pe.Message, password) + " (SQLSTATE " + pe.Code + ")"
	}
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused at " + addr + " (is PostgreSQL running there?)"
	case errors.As(err, &dns):
		return fmt.Sprintf("cannot resolve host %q", dns.Name)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("no answer from %s within %s", addr, cc.ConnectTimeout)
	}
	return redactErr(err, password).Error()
}

// isTimeout says whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

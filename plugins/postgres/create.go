package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/record"
)

// Tables made and evolved from the pipeline's schema (create_table,
// evolve: add_columns).

// columnType is the PostgreSQL type create_table and evolve give a field
// of type t (the README's type table, first column type of each row).
func columnType(t record.Type, scale int) string {
	switch t {
	case record.Int16:
		return "smallint"
	case record.Int32:
		return "integer"
	case record.Int64:
		return "bigint"
	case record.Decimal:
		return fmt.Sprintf("numeric(38,%d)", scale)
	case record.Float64:
		return "double precision"
	case record.Bool:
		return "boolean"
	case record.Timestamp:
		return "timestamptz"
	case record.Date:
		return "date"
	case record.UUID:
		return "uuid"
	case record.JSON:
		return "jsonb"
	case record.Bytes:
		return "bytea"
	}
	return "text"
}

// createTableSQL creates the table from the written fields: every column
// nullable, the key (in mode upsert and merge) its primary key.
func createTableSQL(set *settings) string {
	var defs []string
	for _, f := range set.fields {
		defs = append(defs, pgx.Identifier{f.column}.Sanitize()+" "+columnType(f.typ, f.scale))
	}
	if set.up != nil && len(set.up.key) > 0 {
		keys := make([]string, len(set.up.key))
		for i, k := range set.up.key {
			keys[i] = pgx.Identifier{k}.Sanitize()
		}
		defs = append(defs, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
	}
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n\t%s\n)", set.table.Sanitize(), strings.Join(defs, ",\n\t"))
}

// createRejectsSQL creates the rejects table as sql/postgres_setup.sql
// makes corrupt_records.
func createRejectsSQL(rejects pgx.Identifier) string {
	return `CREATE TABLE IF NOT EXISTS ` + rejects.Sanitize() + ` (
	id             BIGSERIAL PRIMARY KEY,
	corrupt_record TEXT,
	detected_at    TIMESTAMPTZ DEFAULT now(),
	batch_id       BIGINT,
	error_type     VARCHAR(100),
	source         TEXT,
	line           BIGINT,
	reason         TEXT,
	pipeline       TEXT
)`
}

// missingFields returns the written fields that table's columns cols
// lack, which evolve: add_columns adds.
func missingFields(set *settings, cols map[string]pgColumn) []field {
	var out []field
	for _, f := range set.fields {
		if _, ok := cols[f.column]; !ok {
			out = append(out, f)
		}
	}
	return out
}

// addColumnSQL adds f's column, nullable.
func addColumnSQL(table pgx.Identifier, f field) string {
	return fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", table.Sanitize(), pgx.Identifier{f.column}.Sanitize(), columnType(f.typ, f.scale))
}

// execDDL runs a CREATE or ALTER that another sink of the pipeline (a
// second writer) may run at the same moment: the loser of such a race
// gets a unique violation from the catalog, and finds the work done
// when it tries again.
func execDDL(ctx context.Context, conn *pgx.Conn, sql string) error {
	var err error
	for range 3 {
		if _, err = conn.Exec(ctx, sql); err == nil {
			return nil
		}
		pe := pgErrorOf(err)
		if pe == nil || (pe.Code != "23505" && pe.Code != "42P07" && pe.Code != "42701") {
			return err
		}
	}
	return err
}

// prepareTables creates the table and the rejects table when missing and
// create_table is set, adds the columns the pipeline gained with evolve:
// add_columns (logged at INFO), and returns the table's columns (nil when
// it does not exist).
func (s *Sink) prepareTables(ctx context.Context, conn *pgx.Conn) (map[string]pgColumn, error) {
	set := s.set
	table := set.table.Sanitize()
	cols, err := loadColumns(ctx, conn, set.table)
	if err != nil {
		return nil, err
	}
	if set.cfg.CreateTable {
		if cols == nil {
			if err := execDDL(ctx, conn, createTableSQL(set)); err != nil {
				return nil, fmt.Errorf("create table %s (create_table: true): %w", table, err)
			}
			s.logger().Info("postgres: created the table from the pipeline's schema (create_table: true)", "table", table, "sql", createTableSQL(set))
			if cols, err = loadColumns(ctx, conn, set.table); err != nil {
				return nil, err
			}
		}
		rcols, err := loadColumns(ctx, conn, set.rejects)
		if err != nil {
			return nil, err
		}
		if rcols == nil {
			if err := execDDL(ctx, conn, createRejectsSQL(set.rejects)); err != nil {
				return nil, fmt.Errorf("create the rejects table %s (create_table: true): %w", set.rejects.Sanitize(), err)
			}
			s.logger().Info("postgres: created the rejects table (create_table: true)", "table", set.rejects.Sanitize())
		}
	}
	if set.cfg.Evolve == evolveAddColumns && cols != nil {
		add := missingFields(set, cols)
		for _, f := range add {
			sql := addColumnSQL(set.table, f)
			if err := execDDL(ctx, conn, sql); err != nil {
				return nil, fmt.Errorf("add column %q to %s (evolve: add_columns): %w", f.column, table, err)
			}
			s.logger().Info("postgres: added a column the pipeline gained (evolve: add_columns)", "table", table,
				"column", f.column, "type", columnType(f.typ, f.scale), "field", f.name)
		}
		if len(add) > 0 {
			if cols, err = loadColumns(ctx, conn, set.table); err != nil {
				return nil, err
			}
		}
	}
	return cols, nil
}

package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// pgColumn is a column of a table, as the catalog describes it.
type pgColumn struct {
	name     string
	baseType uint32 // the type's OID, or its base type's for a domain
	typ      string // e.g. "character varying(50)"
	// typeName is the catalog name of baseType, e.g. "citext": the types
	// of extensions have no fixed OID and are known by name.
	typeName  string
	typmod    int32
	generated bool
}

// Type OIDs of the built-in types the sink writes.
const (
	oidBool        = 16
	oidBytea       = 17
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidTimestamp   = 1114
	oidDate        = 1082
	oidTimestamptz = 1184
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

// loadColumns returns the columns of table by name, or nil when the table
// does not exist.
func loadColumns(ctx context.Context, conn *pgx.Conn, table pgx.Identifier) (map[string]pgColumn, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table.Sanitize()).Scan(&exists); err != nil {
		return nil, fmt.Errorf("look up table %s: %w", table.Sanitize(), err)
	}
	if !exists {
		return nil, nil
	}
	rows, err := conn.Query(ctx, `
		SELECT a.attname, coalesce(nullif(t.typbasetype, 0), a.atttypid)::oid,
		       format_type(a.atttypid, a.atttypmod), a.atttypmod, a.attgenerated <> '',
		       bt.typname::text
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		JOIN pg_type bt ON bt.oid = coalesce(nullif(t.typbasetype, 0), a.atttypid)
		WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY a.attnum`, table.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", table.Sanitize(), err)
	}
	cols := map[string]pgColumn{}
	for rows.Next() {
		var c pgColumn
		if err := rows.Scan(&c.name, &c.baseType, &c.typ, &c.typmod, &c.generated, &c.typeName); err != nil {
			return nil, fmt.Errorf("read the columns of %s: %w", table.Sanitize(), err)
		}
		cols[c.name] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", table.Sanitize(), err)
	}
	return cols, nil
}

// isTextType says whether oid takes text in binary COPY as plain bytes.
func isTextType(oid uint32) bool {
	switch oid {
	case oidText, oidVarchar, oidBpchar, oidName:
		return true
	}
	return false
}

// columnOID returns the OID chooseEnc knows the column by: its base
// type's, or text's for citext, whose binary form is text's but whose OID
// depends on the database.
func columnOID(c pgColumn) uint32 {
	if c.typeName == "citext" {
		return oidText
	}
	return c.baseType
}

// chooseEnc returns how a field of type t goes into a column of base type
// oid, and false when the sink cannot do it. Narrowing integers and reals
// are range checked row by row, and text into uuid or date parsed: a value
// that does not fit refuses its row (DB_REJECTED).
func chooseEnc(t record.Type, scale int, oid uint32) (encKind, bool) {
	if isTextType(oid) {
		switch t {
		case record.String, record.JSON:
			return encRaw, true
		case record.Bytes:
			return 0, false // not text: bytes go into bytea
		}
		return encText, true
	}
	switch t {
	case record.String:
		switch oid {
		case oidJSON, oidBytea:
			return encRaw, true
		case oidJSONB:
			return encJSONB, true
		case oidUUID:
			return encUUIDFromText, true
		case oidDate:
			return encDateFromText, true
		}
	case record.JSON:
		switch oid {
		case oidJSON:
			return encRaw, true
		case oidJSONB:
			return encJSONB, true
		}
	case record.Bytes:
		if oid == oidBytea {
			return encRaw, true
		}
	case record.UUID:
		if oid == oidUUID {
			return encRaw, true
		}
	case record.Date:
		if oid == oidDate {
			return encDate, true
		}
	case record.Int64, record.Int32, record.Int16:
		switch oid {
		case oidInt8:
			return encInt8, true
		case oidInt4:
			return encInt4, true
		case oidInt2:
			return encInt2, true
		case oidNumeric:
			return encNumeric, true
		case oidFloat8:
			return encFloat8FromInt, true
		}
	case record.Float64:
		switch oid {
		case oidFloat8:
			return encFloat8, true
		case oidFloat4:
			return encFloat4, true
		}
	case record.Bool:
		if oid == oidBool {
			return encBool, true
		}
	case record.Timestamp:
		switch oid {
		case oidTimestamptz:
			return encTimestamp, true
		case oidTimestamp:
			return encTimestampLocal, true
		}
	case record.Decimal:
		switch oid {
		case oidNumeric:
			return encNumeric, true
		case oidFloat8:
			return encFloat8FromDec, true
		case oidInt8:
			if scale == 0 {
				return encInt8, true
			}
		}
	}
	return 0, false
}

// takes lists the field types a column of base type oid takes, for
// messages: "uuid or string".
func takes(oid uint32) string {
	var names []string
	for _, n := range record.TypeNames() {
		t, _ := record.ParseType(n)
		if _, ok := chooseEnc(t, 1, oid); ok {
			names = append(names, n)
		} else if _, ok := chooseEnc(t, 0, oid); ok {
			names = append(names, n+" of scale 0")
		}
	}
	switch len(names) {
	case 0:
		return "no field type"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// planColumns matches the written fields with the target table's columns
// and chooses their encodings. Fields without a column, or whose type the
// column cannot take, are configuration mistakes, all reported together.
func planColumns(fields []field, table string, cols map[string]pgColumn) ([]colEnc, error) {
	var es plugin.ConfigErrors
	var missing []string
	var plan []colEnc
	names := make([]string, 0, len(cols))
	for n := range cols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, f := range fields {
		path := "table"
		if f.mapped {
			path = "columns." + f.name
		}
		c, ok := cols[f.column]
		if !ok {
			if f.mapped {
				es.Add(path, "table %s has no column %q", table, f.column)
			} else {
				missing = append(missing, f.column)
			}
			continue
		}
		if c.generated {
			es.Add(path, "column %q of %s is generated and cannot be written", f.column, table)
			continue
		}
		oid := columnOID(c)
		kind, ok := chooseEnc(f.typ, f.scale, oid)
		if !ok {
			es.Add(path, "field %q is %s but column %q of %s is %s, which the sink cannot write it into (it takes %s)", f.name, f.typ, f.column, table, c.typ, takes(oid))
			es[len(es)-1].Field = f.name // etl validate points at the step that made the field
			continue
		}
		plan = append(plan, colEnc{kind: kind, idx: f.index, typ: f.typ, scale: f.scale, column: f.column, pgType: c.typ})
	}
	if len(missing) > 0 {
		es.Add("table", "table %s has no column for the input fields %s (its columns: %s); map them with columns: {field: column} or leave them out with columns: {field: %q}",
			table, strings.Join(missing, ", "), strings.Join(names, ", "), skipColumn)
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	return plan, nil
}

// rejectsColumns are the columns of the rejects table, in the order the
// sink writes them. Only corrupt_record is required; the others are
// written when the table has them.
var rejectsColumns = []string{"corrupt_record", "batch_id", "error_type", "source", "line", "reason", "pipeline"}

// rejectsPlan is what the sink writes into the rejects table.
type rejectsPlan struct {
	columns []string
	// errorTypeLen is the length limit of error_type, 0 when none.
	errorTypeLen int
}

func planRejects(table string, cols map[string]pgColumn) (rejectsPlan, error) {
	var p rejectsPlan
	if _, ok := cols["corrupt_record"]; !ok {
		return p, plugin.ConfigErrors{{Path: "rejects_table", Message: fmt.Sprintf("table %s has no column corrupt_record (see sql/postgres_setup.sql)", table)}}
	}
	for _, n := range rejectsColumns {
		c, ok := cols[n]
		if !ok {
			continue
		}
		p.columns = append(p.columns, n)
		if n == "error_type" && c.baseType == oidVarchar && c.typmod > 4 {
			p.errorTypeLen = int(c.typmod - 4)
		}
	}
	return p, nil
}

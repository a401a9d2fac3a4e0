package postgres

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // timestamp_zone works on machines without a zoneinfo database

	"github.com/jackc/pgx/v5"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Config is the sink's `config:` block. The tags describe each key once
// (see plugin.SettingsOf): `etl plugins postgres` and the README show them.
type Config struct {
	// DSN's password never appears in a log line or an error.
	DSN     string            `yaml:"dsn" required:"true" doc:"Where the database is, as a URL (postgres://user:pw@host:5432/db?sslmode=disable) or key=value pairs; its password never appears in logs or errors."`
	Table   string            `yaml:"table" required:"true" doc:"The table the rows go into, optionally schema-qualified (public.events)."`
	Columns map[string]string `yaml:"columns" doc:"Maps an input field to the column it goes into; a field not listed goes into the column of its name, one mapped to - is not written."`
	// RejectsTable and OffsetsTable are created when missing.
	RejectsTable string      `yaml:"rejects_table" doc:"The table the rejects go into, with their raw text, error type, reason, file and line."`
	OffsetsTable string      `yaml:"offsets_table" doc:"The table of the committed source positions; created when missing."`
	SetupSQL     string      `yaml:"setup_sql" doc:"An SQL file run once at start, e.g. sql/postgres_setup.sql."`
	Retry        RetryConfig `yaml:"retry" doc:"How long and how often the sink retries after a connection failure, with exponential backoff."`
	// StatementTimeout is sent as statement_timeout in milliseconds.
	StatementTimeout plugin.Duration `yaml:"statement_timeout" default:"0" doc:"Bounds each statement; 0: the server's setting."`
	ConnectTimeout   plugin.Duration `yaml:"connect_timeout" doc:"Bounds each connection attempt; when not set, the DSN's connect_timeout, else 10s."`
	TimestampZone    string          `yaml:"timestamp_zone" default:"UTC" doc:"The IANA zone whose wall-clock time a timestamp field is written as in a timestamp (without time zone) column; a timestamptz column holds the instant."`
	// The keys of mode upsert and merge, and of the tables made for the
	// pipeline: see upsert.go and create.go.
	Mode        string   `yaml:"mode" allowed:"append,upsert,merge" doc:"How rows are written: append (binary COPY, every row added), upsert (insert, or update the non-key columns of the row with the same key), merge (upsert with on_conflict and the column rules keep_greater and keep_first). Upsert and merge go through a temporary staging table, in the batch's one transaction."`
	Key         []string `yaml:"key" doc:"(upsert, merge) The columns that identify a row; the table needs a primary key or unique index on exactly them. Rows of one batch with the same key are reduced to one first; a row whose key has a NULL is rejected as MISSING_KEY."`
	NewerBy     string   `yaml:"newer_by" doc:"(upsert, merge with on_conflict: update) A column (bigint, integer, smallint, timestamp, timestamptz or date) such as event_time or version: a row replaces the stored one only when its value is not smaller (ties: the later row wins) or the stored value is NULL; a NULL never replaces a value."`
	OnConflict  string   `yaml:"on_conflict" allowed:"update,ignore,error" doc:"(merge) What a row whose key is already stored does: update it (with newer_by and the column rules), ignore it (the first row of a key wins, in the batch too), or error (the row is rejected as DB_REJECTED with the database's message; a repeat in its batch too). Default update."`
	KeepGreater []string `yaml:"keep_greater" doc:"(merge, on_conflict: update) Non-key columns (of the types of newer_by) that keep the greater of the stored and the new value, whichever row wins; NULL counts as no value."`
	KeepFirst   []string `yaml:"keep_first" doc:"(merge, on_conflict: update) Non-key columns that keep the first value stored (e.g. first_seen): a later row only fills them while they are NULL."`
	CreateTable bool     `yaml:"create_table" doc:"Create the table and the rejects table when missing, from the pipeline's schema (types as the README's type table: bigint, numeric(38,scale), text, timestamptz, ...), the key as primary key in upsert and merge."`
	Evolve      string   `yaml:"evolve" allowed:"none,add_columns" default:"none" doc:"What happens when the pipeline has a field the table has no column for: none (a configuration error), or add_columns (a nullable column of the field's type is added, logged at INFO). Columns are never dropped or retyped."`
}

// The modes of Config.Mode and Config.OnConflict.
const (
	modeAppend = "append"
	modeUpsert = "upsert"
	modeMerge  = "merge"

	conflictUpdate = "update"
	conflictIgnore = "ignore"
	conflictError  = "error"

	evolveAddColumns = "add_columns"
)

// RetryConfig is the sink's retry policy.
type RetryConfig struct {
	MaxTime        plugin.Duration `yaml:"max_time" doc:"How long one operation keeps retrying; 0: no retry."`
	InitialBackoff plugin.Duration `yaml:"initial_backoff" doc:"The first wait; it doubles each time up to max_backoff."`
	MaxBackoff     plugin.Duration `yaml:"max_backoff" doc:"The longest wait between two attempts."`
}

func defaultConfig() Config {
	return Config{
		Mode:         modeAppend,
		RejectsTable: "corrupt_records",
		OffsetsTable: "etl_offsets",
		Retry: RetryConfig{
			MaxTime:        plugin.Duration(time.Minute),
			InitialBackoff: plugin.Duration(100 * time.Millisecond),
			MaxBackoff:     plugin.Duration(5 * time.Second),
		},
	}
}

// defaultConnectTimeout bounds a connection attempt when neither
// connect_timeout nor the DSN does.
const defaultConnectTimeout = 10 * time.Second

// skipColumn, as the column of a field in Config.Columns, leaves the field
// out.
const skipColumn = "-"

// field is one input field that is written, and the column it goes to.
type field struct {
	index  int // in the input schema and the batch
	name   string
	column string
	typ    record.Type
	scale  int
	// mapped says the column came from Config.Columns, for error paths.
	mapped bool
}

// settings is a checked Config, ready to use.
type settings struct {
	cfg      Config
	conn     *pgx.ConnConfig
	addr     string // host:port (every host when there are several), for messages
	password string
	table    pgx.Identifier
	rejects  pgx.Identifier
	offsets  pgx.Identifier
	fields   []field
	// zone is TimestampZone, loaded.
	zone *time.Location
	// up says how mode upsert and merge write; nil in append mode.
	up *upsertSettings
}

// parseSettings decodes and checks raw against the input schema, returning
// every mistake together as plugin.ConfigErrors, and with them the
// settings as far as they could be read (nil when raw is not YAML).
func parseSettings(raw []byte, in record.Schema) (*settings, error) {
	cfg := defaultConfig()
	decodeErrs := plugin.AsConfigErrors(plugin.DecodeConfig(raw, &cfg))
	for _, e := range decodeErrs {
		if e.Path == "" {
			// The block is not valid YAML: nothing else can be checked.
			return nil, decodeErrs
		}
	}
	// The keys that decoded are checked too, so that every mistake is
	// reported at once; a key that did not decode is not checked again.
	var es plugin.ConfigErrors
	s := checkSettings(cfg, in, &es)
	for _, e := range es {
		if !hasPath(decodeErrs, e.Path) {
			decodeErrs = append(decodeErrs, e)
		}
	}
	if len(decodeErrs) > 0 {
		return s, decodeErrs
	}
	return s, nil
}

// checkable says whether settings with mistakes es still say everything
// Check reads: the connection, the tables and the fields' columns.
func checkable(s *settings, es plugin.ConfigErrors) bool {
	if s == nil || s.conn == nil {
		return false
	}
	for _, e := range es {
		for _, key := range []string{"", "dsn", "table", "rejects_table", "offsets_table", "columns", "connect_timeout"} {
			if e.Path == key || strings.HasPrefix(e.Path, key+".") {
				return false
			}
		}
	}
	return true
}

// checkSettings checks a decoded configuration, adding its mistakes to es.
func checkSettings(cfg Config, in record.Schema, es *plugin.ConfigErrors) *settings {
	s := &settings{cfg: cfg}

	if strings.TrimSpace(cfg.DSN) == "" {
		es.Add("dsn", "required: the database to write to, e.g. postgres://data_user@127.0.0.1:5432/ecommerce_database?sslmode=disable")
	} else {
		pw := dsnPassword(cfg.DSN)
		cc, err := pgx.ParseConfig(cfg.DSN)
		if err != nil {
			es.Add("dsn", "%s", redact(err.Error(), pw))
		} else {
			s.conn = cc
			s.password = cc.Password
			s.addr = addresses(cc)
			if cfg.ConnectTimeout > 0 {
				cc.ConnectTimeout = time.Duration(cfg.ConnectTimeout)
			} else if cc.ConnectTimeout == 0 {
				cc.ConnectTimeout = defaultConnectTimeout
			}
			if cfg.StatementTimeout > 0 {
				cc.RuntimeParams["statement_timeout"] = strconv.FormatInt(time.Duration(cfg.StatementTimeout).Milliseconds(), 10)
			}
		}
	}

	var err error
	if strings.TrimSpace(cfg.Table) == "" {
		es.Add("table", "required: the table the rows go into, e.g. events or public.events")
	} else if s.table, err = parseIdent(cfg.Table); err != nil {
		es.Add("table", "%v", err)
	}
	if s.rejects, err = parseIdent(cfg.RejectsTable); err != nil {
		es.Add("rejects_table", "%v", err)
	}
	if s.offsets, err = parseIdent(cfg.OffsetsTable); err != nil {
		es.Add("offsets_table", "%v", err)
	}

	keys := make([]string, 0, len(cfg.Columns))
	for k := range cfg.Columns {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if in.Index(k) < 0 {
			es.Add("columns."+k, "no input field %q (the input has %s)", k, strings.Join(in.Names(), ", "))
		}
		if strings.TrimSpace(cfg.Columns[k]) == "" {
			es.Add("columns."+k, "empty column name (write %q to leave the field out)", skipColumn)
		}
	}
	taken := map[string]string{}
	for i, f := range in.Fields {
		col, mapped := cfg.Columns[f.Name]
		if !mapped {
			col = f.Name
		}
		if col == skipColumn || strings.TrimSpace(col) == "" {
			continue
		}
		if prev, ok := taken[col]; ok {
			path := "columns." + f.Name
			if !mapped {
				path = "columns"
			}
			es.Add(path, "fields %q and %q both go into column %q", prev, f.Name, col)
			continue
		}
		taken[col] = f.Name
		s.fields = append(s.fields, field{index: i, name: f.Name, column: col, typ: f.Type, scale: f.Scale, mapped: mapped})
	}
	if len(in.Fields) > 0 && len(s.fields) == 0 {
		es.Add("columns", "every input field is left out: nothing to write")
	}

	if cfg.SetupSQL != "" {
		if st, err := os.Stat(cfg.SetupSQL); err != nil {
			es.Add("setup_sql", "%v", err)
		} else if st.IsDir() {
			es.Add("setup_sql", "%s is a directory, want an SQL file", cfg.SetupSQL)
		}
	}

	r := cfg.Retry
	if r.InitialBackoff <= 0 {
		es.Add("retry.initial_backoff", "must be > 0")
	}
	if r.MaxBackoff <= 0 {
		es.Add("retry.max_backoff", "must be > 0")
	} else if r.MaxBackoff < r.InitialBackoff {
		es.Add("retry.max_backoff", "must be >= retry.initial_backoff (%s)", r.InitialBackoff)
	}
	if cfg.StatementTimeout > 0 && time.Duration(cfg.StatementTimeout) < time.Millisecond {
		// PostgreSQL counts it in milliseconds: less would mean none.
		es.Add("statement_timeout", "must be at least 1ms")
	}
	s.up = checkUpsert(cfg, s.fields, es)
	s.zone = time.UTC
	if cfg.TimestampZone != "" {
		if loc, err := time.LoadLocation(cfg.TimestampZone); err != nil || cfg.TimestampZone == "Local" {
			es.Add("timestamp_zone", "unknown time zone %q (use an IANA name such as Europe/Paris, or UTC)", cfg.TimestampZone)
		} else {
			s.zone = loc
		}
	}
	return s
}

// hasPath says whether es holds a mistake at path.
func hasPath(es plugin.ConfigErrors, path string) bool {
	for _, e := range es {
		if e.Path == path {
			return true
		}
	}
	return false
}

// parseIdent splits a possibly schema-qualified table name.
func parseIdent(name string) (pgx.Identifier, error) {
	if strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("empty table name")
	}
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("table name %q: want table or schema.table", name)
	}
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("table name %q has an empty part", name)
		}
		if strings.ContainsRune(p, 0) {
			return nil, fmt.Errorf("table name %q contains a NUL byte", name)
		}
	}
	return pgx.Identifier(parts), nil
}

// addresses lists the host:port pairs the configuration connects to.
func addresses(cc *pgx.ConnConfig) string {
	seen := map[string]bool{}
	var out []string
	add := func(host string, port uint16) {
		a := net.JoinHostPort(host, strconv.Itoa(int(port)))
		if strings.HasPrefix(host, "/") {
			a = fmt.Sprintf("%s/.s.PGSQL.%d", host, port)
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	add(cc.Host, cc.Port)
	for _, f := range cc.Fallbacks {
		add(f.Host, f.Port)
	}
	return strings.Join(out, ",")
}

var (
	urlPasswordRE = regexp.MustCompile(`(?i)(postgres(?:ql)?://[^:@/\s]*:)([^@\s]*)@`)
	kvPasswordRE  = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
)

// dsnPassword returns the password written in dsn, if any, so that it can
// be redacted even from the errors of a DSN that does not parse.
func dsnPassword(dsn string) string {
	if m := urlPasswordRE.FindStringSubmatch(dsn); m != nil {
		return m[2]
	}
	if m := kvPasswordRE.FindStringSubmatch(dsn); m != nil {
		return strings.Trim(m[2], "'")
	}
	return ""
}

// redact removes passwords from s: the one given and any written in a URL
// or as password=... .
func redact(s, password string) string {
	if password != "" {
		s = strings.ReplaceAll(s, password, "xxxxx")
	}
	s = urlPasswordRE.ReplaceAllString(s, "${1}xxxxx@")
	return kvPasswordRE.ReplaceAllString(s, "${1}xxxxx")
}

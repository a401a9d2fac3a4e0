package cleanser

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time_zone works on machines without a zoneinfo database

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// Config is the cleanser's `config:` block.
type Config struct {
	// Fields are the output fields, in output order. Each is matched by
	// name with an input field; input fields not listed are dropped.
	Fields []FieldConfig `yaml:"fields"`
	// Rules must hold for every row; a row breaking one is rejected.
	Rules []RuleConfig `yaml:"rules"`
	// Derive computes more output fields, appended after Fields.
	Derive []DeriveConfig `yaml:"derive"`
}

// FieldConfig types and cleans one field.
type FieldConfig struct {
	// Name is the input field's name, and the output field's.
	Name string `yaml:"name"`
	// Type is string, int16, int32, int64, decimal, float64, bool,
	// timestamp, date, uuid, json or bytes.
	Type string `yaml:"type"`
	// Required rejects a row whose value is null (MISSING_REQUIRED); the
	// output field is nullable unless the field is required.
	Required bool `yaml:"required"`
	// Trim removes leading and trailing white space (default true).
	Trim *bool `yaml:"trim"`
	// NullValues are the texts, after trimming, that mean null. Default:
	// "", "null", "NULL", "N/A", "none". An explicit empty list means none.
	NullValues []string `yaml:"null_values"`

	// MaxLength (string) is the most characters a value may have; 0 means
	// no limit. OnOverflow is reject (TOO_LONG, the default) or truncate.
	MaxLength  int    `yaml:"max_length"`
	OnOverflow string `yaml:"on_overflow"`
	// Case (string) is upper or lower.
	Case string `yaml:"case"`
	// Aliases (string) maps spellings to a canonical value. A spelling
	// matches after normalisation: lower-cased, with spaces, '-' and '_'
	// removed, so "Page View" matches the alias page_view.
	Aliases map[string]string `yaml:"aliases"`
	// Allowed (string) lists the values accepted; they also match their own
	// normalised spellings. Otherwise is what replaces any other value, or
	// reject to refuse the row (RULE_VIOLATION).
	Allowed   []string `yaml:"allowed"`
	Otherwise string   `yaml:"otherwise"`

	// Precision and Scale (decimal) are the total digits, at most 18, and
	// the digits after the point, as in NUMERIC(precision, scale).
	Precision *int `yaml:"precision"`
	Scale     *int `yaml:"scale"`

	// Formats (timestamp) are tried in order: Go layouts, or rfc3339,
	// rfc3339nano, unix, unix_ms, unix_us. Default: [rfc3339].
	// Formats (date) are Go layouts giving a full date, tried in order.
	// Default: [2006-01-02].
	Formats []string `yaml:"formats"`
	// TimeZone (timestamp) is the IANA zone of layouts that carry none;
	// default UTC.
	TimeZone string `yaml:"time_zone"`
	// NotBefore (timestamp) rejects earlier times: a date (2006-01-02, in
	// TimeZone) or an RFC 3339 time.
	NotBefore string `yaml:"not_before"`
	// MaxFuture (timestamp) rejects times further than this duration after
	// the moment the batch is processed, e.g. 1h.
	MaxFuture string `yaml:"max_future"`

	// Encoding (bytes) is how the text holds the bytes: text (the default:
	// the bytes of the text as they are), hex (pairs of hex digits, with an
	// optional \x prefix as PostgreSQL writes bytea) or base64 (standard,
	// with padding).
	Encoding string `yaml:"encoding"`
}

// RuleConfig is a validation rule: a boolean expr expression over the
// typed fields that must hold.
type RuleConfig struct {
	// Name names the rule in rejects and errors.
	Name string `yaml:"name"`
	// Expr is the expression, e.g. `price == nil || price >= 0`.
	Expr string `yaml:"expr"`
	// ErrorType is the reject's error type; default RULE_VIOLATION.
	ErrorType string `yaml:"error_type"`
	// Message explains the rule in the reject's reason.
	Message string `yaml:"message"`
}

// DeriveConfig computes an output field from the others.
type DeriveConfig struct {
	// Name is the output field's name.
	Name string `yaml:"name"`
	// Expr computes the value from the fields (and earlier derived ones);
	// nil gives null.
	Expr string `yaml:"expr"`
	// Type is the output type; Precision and Scale as for a field (a
	// float result is rounded to Scale, half away from zero).
	Type      string `yaml:"type"`
	Precision *int   `yaml:"precision"`
	Scale     *int   `yaml:"scale"`
}

// DefaultNullValues are the texts that mean null when a field does not set
// null_values.
var DefaultNullValues = []string{"", "null", "NULL", "N/A", "none"}

// Error types of rejects.
const (
	ErrMissingRequired  = "MISSING_REQUIRED"
	ErrInvalidNumber    = "INVALID_NUMBER"
	ErrInvalidTimestamp = "INVALID_TIMESTAMP"
	ErrInvalidBoolean   = "INVALID_BOOLEAN"
	ErrInvalidText      = "INVALID_TEXT"
	ErrInvalidDate      = "INVALID_DATE"
	ErrInvalidUUID      = "INVALID_UUID"
	ErrInvalidJSON      = "INVALID_JSON"
	ErrInvalidBytes     = "INVALID_BYTES"
	ErrTooLong          = "TOO_LONG"
	ErrRuleViolation    = "RULE_VIOLATION"
	ErrDeriveFailed     = "DERIVE_FAILED"
)

// typeList names the field types, for messages.
var typeList = strings.Join(record.TypeNames(), ", ")

var errorTypeRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,99}$`)

// compile checks cfg against the input schema and builds the plan that
// Process runs, reporting every mistake at once. With mistakes, it returns
// no plan, but still the best output schema it knows (see bestSchema).
func compile(cfg Config, in record.Schema) (*plan, record.Schema, error) {
	var es plugin.ConfigErrors
	p := &plan{inCols: len(in.Fields)}
	if len(cfg.Fields) == 0 {
		es.Add("fields", "list at least one field")
	}
	names := map[string]string{} // output name -> path that declared it
	for i, fc := range cfg.Fields {
		path := fmt.Sprintf("fields[%d]", i)
		f := compileField(fc, path, in, &es)
		if fc.Name != "" {
			if prev, dup := names[fc.Name]; dup {
				es.Add(path+".name", "%q is already declared at %s", fc.Name, prev)
			}
			names[fc.Name] = path
		}
		p.fields = append(p.fields, f)
	}
	env := newEnvBuilder(p.fields)
	for i, dc := range cfg.Derive {
		path := fmt.Sprintf("derive[%d]", i)
		d := derived{name: dc.Name}
		if dc.Name == "" {
			es.Add(path+".name", "missing")
		} else if prev, dup := names[dc.Name]; dup {
			es.Add(path+".name", "%q is already declared at %s", dc.Name, prev)
		} else {
			names[dc.Name] = path
		}
		typeOK := false
		if dc.Type == "" {
			es.Add(path+".type", "missing (one of %s)", typeList)
		} else if t, err := record.ParseType(dc.Type); err != nil {
			es.Add(path+".type", "%v", err)
		} else {
			d.typ, typeOK = t, true
		}
		if typeOK {
			d.precision, d.scale = checkDecimal(d.typ, dc.Precision, dc.Scale, path, &es)
		}
		if dc.Expr == "" {
			es.Add(path+".expr", "missing")
		} else if dc.Name != "" && typeOK {
			prog, err := env.compileDerive(dc.Expr, d.typ)
			if err != nil {
				es.Add(path+".expr", "derive %q: %v", dc.Name, err)
			}
			d.prog = prog
		}
		if dc.Name != "" && typeOK {
			env.add(dc.Name, d.typ, true)
		}
		p.derived = append(p.derived, d)
	}
	ruleNames := map[string]int{}
	for i, rc := range cfg.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		r := rule{name: rc.Name, message: rc.Message, errorType: rc.ErrorType}
		if rc.Name == "" {
			es.Add(path+".name", "missing")
		} else if prev, dup := ruleNames[rc.Name]; dup {
			es.Add(path+".name", "%q is already the name of rules[%d]", rc.Name, prev)
		} else {
			ruleNames[rc.Name] = i
		}
		if r.errorType == "" {
			r.errorType = ErrRuleViolation
		} else if !errorTypeRE.MatchString(r.errorType) {
			es.Add(path+".error_type", "%q: use upper-case letters, digits and '_', at most 100", r.errorType)
		}
		if rc.Expr == "" {
			es.Add(path+".expr", "missing")
		} else {
			prog, refs, err := env.compileRule(rc.Expr)
			if err != nil {
				es.Add(path+".expr", "rule %q: %v", rc.Name, err)
			}
			r.prog, r.src, r.refNames = prog, rc.Expr, refs
		}
		p.rules = append(p.rules, r)
	}
	if err := es.Err(); err != nil {
		return nil, bestSchema(p), err
	}
	p.env = env.finish(p)
	return p, p.schema, nil
}

// bestSchema is the output schema of a configuration with mistakes, so
// that the steps after the cleanser can be checked in the same run: every
// field and derived field that has a name, typed as configured, or as
// string when its type is what is wrong.
func bestSchema(p *plan) record.Schema {
	var s record.Schema
	for _, f := range p.fields {
		if f.name != "" {
			s.Fields = append(s.Fields, record.Field{Name: f.name, Type: f.typ, Scale: f.scale, Nullable: !f.required})
		}
	}
	for _, d := range p.derived {
		if d.name != "" {
			s.Fields = append(s.Fields, record.Field{Name: d.name, Type: d.typ, Scale: d.scale, Nullable: true})
		}
	}
	return s
}

// compileField checks one field's configuration.
func compileField(fc FieldConfig, path string, in record.Schema, es *plugin.ConfigErrors) *field {
	f := &field{name: fc.Name, required: fc.Required, trim: true, nulls: DefaultNullValues, in: -1}
	if fc.Trim != nil {
		f.trim = *fc.Trim
	}
	if fc.NullValues != nil {
		f.nulls = fc.NullValues
	}
	for _, n := range f.nulls {
		if len(n) < 64 {
			f.nullLens |= 1 << len(n)
		}
	}
	if fc.Name == "" {
		es.Add(path+".name", "missing")
	} else if f.in = in.Index(fc.Name); f.in < 0 {
		es.Add(path+".name", "%q is not an input field (the input has %s)", fc.Name, strings.Join(in.Names(), ", "))
	}
	typeOK := false
	if fc.Type == "" {
		es.Add(path+".type", "missing (one of %s)", typeList)
	} else if t, err := record.ParseType(fc.Type); err != nil {
		es.Add(path+".type", "%v", err)
	} else {
		f.typ, typeOK, f.typed = t, true, true
	}
	if !typeOK {
		return f
	}
	f.precision, f.scale = checkDecimal(f.typ, fc.Precision, fc.Scale, path, es)
	if f.in >= 0 {
		f.inType = in.Fields[f.in].Type
		if f.inType != record.String && f.inType != f.typ {
			es.Add(path+".type", "input field %q is %s: the cleanser types text, or keeps a field of the same type", fc.Name, f.inType)
		} else if f.inType == record.Decimal && in.Fields[f.in].Scale != f.scale {
			es.Add(path+".scale", "input field %q has scale %d", fc.Name, in.Fields[f.in].Scale)
		}
	}
	only := func(key string, set bool, want record.Type) {
		if set && f.typ != want {
			es.Add(path+"."+key, "only for %s fields, not %s", want, f.typ)
		}
	}
	only("max_length", fc.MaxLength != 0, record.String)
	only("on_overflow", fc.OnOverflow != "", record.String)
	only("case", fc.Case != "", record.String)
	only("aliases", fc.Aliases != nil, record.String)
	only("allowed", fc.Allowed != nil, record.String)
	only("otherwise", fc.Otherwise != "", record.String)
	if fc.Formats != nil && f.typ != record.Timestamp && f.typ != record.Date {
		es.Add(path+".formats", "only for timestamp and date fields, not %s", f.typ)
	}
	only("encoding", fc.Encoding != "", record.Bytes)
	only("time_zone", fc.TimeZone != "", record.Timestamp)
	only("not_before", fc.NotBefore != "", record.Timestamp)
	only("max_future", fc.MaxFuture != "", record.Timestamp)
	if f.typ == record.String {
		compileString(f, fc, path, es)
	}
	switch f.typ {
	case record.Timestamp:
		compileTimestamp(f, fc, path, es)
	case record.Date:
		compileDate(f, fc, path, es)
	case record.Bytes:
		switch fc.Encoding {
		case "", "text":
			f.encoding = encText
		case "hex":
			f.encoding = encHex
		case "base64":
			f.encoding = encBase64
		default:
			es.Add(path+".encoding", "%q: want text, hex or base64", fc.Encoding)
		}
	}
	return f
}

// compileDate checks a date field's formats: Go layouts that give a full
// date, the time of day and zone (if any) being ignored.
func compileDate(f *field, fc FieldConfig, path string, es *plugin.ConfigErrors) {
	formats := fc.Formats
	if formats == nil {
		formats = []string{time.DateOnly}
	}
	if len(formats) == 0 {
		es.Add(path+".formats", "list at least one format")
	}
	ref := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for i, layout := range formats {
		at := fmt.Sprintf("%s.formats[%d]", path, i)
		s := ref.Format(layout)
		if s == layout {
			es.Add(at, "%q has no Go layout elements: write the reference date 2006-01-02 (Jan 2, 2006) the way the input does, e.g. \"02/01/2006\"", layout)
			continue
		}
		t, err := time.Parse(layout, s)
		if err != nil || t.Year() != 2001 || t.Month() != 2 || t.Day() != 3 {
			es.Add(at, "layout %q does not give a full date (year, month and day)", layout)
			continue
		}
		f.dateLayouts = append(f.dateLayouts, layout)
	}
	f.formatList = strings.Join(formats, ", ")
}

// checkDecimal checks precision and scale, set for decimals only.
func checkDecimal(t record.Type, precision, scale *int, path string, es *plugin.ConfigErrors) (int, int) {
	if t != record.Decimal {
		if precision != nil {
			es.Add(path+".precision", "only for decimal fields, not %s", t)
		}
		if scale != nil {
			es.Add(path+".scale", "only for decimal fields, not %s", t)
		}
		return 0, 0
	}
	p, s := 18, 0
	if precision == nil {
		es.Add(path+".precision", "missing: a decimal needs precision (1 to 18) and scale")
	} else if p = *precision; p < 1 || p > 18 {
		es.Add(path+".precision", "%d is not in [1, 18]", p)
	}
	if scale == nil {
		es.Add(path+".scale", "missing: a decimal needs precision and scale (0 to precision)")
	} else if s = *scale; s < 0 || s > p {
		es.Add(path+".scale", "%d is not in [0, precision %d]", s, p)
	}
	return p, s
}

func compileString(f *field, fc FieldConfig, path string, es *plugin.ConfigErrors) {
	if fc.MaxLength < 0 {
		es.Add(path+".max_length", "%d is negative", fc.MaxLength)
	}
	f.maxLen = fc.MaxLength
	switch fc.OnOverflow {
	case "", "reject":
	case "truncate":
		f.truncate = true
	default:
		es.Add(path+".on_overflow", "%q: want truncate or reject", fc.OnOverflow)
	}
	if fc.OnOverflow != "" && fc.MaxLength == 0 {
		es.Add(path+".on_overflow", "needs max_length")
	}
	switch fc.Case {
	case "":
	case "upper":
		f.caseMode = caseUpper
	case "lower":
		f.caseMode = caseLower
	default:
		es.Add(path+".case", "%q: want upper or lower", fc.Case)
	}
	if len(fc.Aliases) == 0 && len(fc.Allowed) == 0 {
		if fc.Otherwise != "" {
			es.Add(path+".otherwise", "needs allowed")
		}
		return
	}
	f.lookup = map[string]*canon{}
	canons := map[string]*canon{}
	intern := func(v string) *canon {
		if c, ok := canons[v]; ok {
			return c
		}
		c := &canon{b: []byte(v), boxed: v}
		canons[v] = c
		return c
	}
	spelled := map[string]string{} // normalised key -> spelling that claimed it
	claim := func(key, spelling, target, at string) {
		c := intern(target)
		if prev, ok := f.lookup[key]; ok && prev != c {
			es.Add(at, "%q and %q both normalise to %q but mean %q and %q", spelling, spelled[key], key, target, string(prev.b))
			return
		}
		f.lookup[key], spelled[key] = c, spelling
	}
	allowed := map[string]bool{}
	for i, a := range fc.Allowed {
		allowed[a] = true
		claim(string(normalise(nil, []byte(a))), a, a, fmt.Sprintf("%s.allowed[%d]", path, i))
	}
	spellings := make([]string, 0, len(fc.Aliases))
	for s := range fc.Aliases {
		spellings = append(spellings, s)
	}
	slices.Sort(spellings) // report collisions in a stable order
	for _, s := range spellings {
		target := fc.Aliases[s]
		at := path + ".aliases." + s
		if len(allowed) > 0 && !allowed[target] {
			es.Add(at, "%q is not in allowed", target)
			continue
		}
		claim(string(normalise(nil, []byte(s))), s, target, at)
	}
	if len(fc.Allowed) == 0 {
		if fc.Otherwise != "" {
			es.Add(path+".otherwise", "needs allowed")
		}
		return
	}
	f.restricted, f.allowed = true, fc.Allowed
	switch fc.Otherwise {
	case "":
	case "reject":
		f.rejectOther = true
	default:
		f.otherwise = intern(fc.Otherwise)
	}
}

func compileTimestamp(f *field, fc FieldConfig, path string, es *plugin.ConfigErrors) {
	f.loc = time.UTC
	if fc.TimeZone != "" {
		loc, err := time.LoadLocation(fc.TimeZone)
		if err != nil {
			es.Add(path+".time_zone", "unknown time zone %q (use an IANA name such as Europe/Paris, or UTC)", fc.TimeZone)
		} else {
			f.loc = loc
		}
	}
	formats := fc.Formats
	if formats == nil {
		formats = []string{"rfc3339"}
	}
	if len(formats) == 0 {
		es.Add(path+".formats", "list at least one format")
	}
	for i, name := range formats {
		tf, err := compileFormat(name)
		if err != nil {
			es.Add(fmt.Sprintf("%s.formats[%d]", path, i), "%v", err)
			continue
		}
		f.formats = append(f.formats, tf)
	}
	f.formatList = strings.Join(formats, ", ")
	if fc.NotBefore != "" {
		t, err := time.ParseInLocation(time.DateOnly, fc.NotBefore, f.loc)
		if err != nil {
			t, err = time.Parse(time.RFC3339, fc.NotBefore)
		}
		if err != nil {
			es.Add(path+".not_before", "%q is neither a date (2006-01-02) nor an RFC 3339 time", fc.NotBefore)
		} else {
			f.notBefore, f.hasNotBefore = t.UnixMicro(), true
		}
	}
	if fc.MaxFuture != "" {
		d, err := time.ParseDuration(fc.MaxFuture)
		if err != nil || d < 0 {
			es.Add(path+".max_future", "%q is not a duration >= 0 such as 1h or 90m", fc.MaxFuture)
		} else {
			f.maxFuture, f.hasMaxFuture = d.Microseconds(), true
		}
	}
}

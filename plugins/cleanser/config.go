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

// Config is the cleanser's `config:` block. The tags describe each key
// once (see plugin.SettingsOf): `etl plugins cleanser` and the README show
// them; plugins/cleanser/doc.go tells more of each type.
type Config struct {
	Fields []FieldConfig  `yaml:"fields" required:"true" doc:"The output fields, in output order, each matched by name with an input field; input fields not listed are dropped."`
	Rules  []RuleConfig   `yaml:"rules" doc:"Rules every row must hold; a row breaking one is rejected."`
	Derive []DeriveConfig `yaml:"derive" doc:"More output fields computed from the others, appended after fields."`
}

// FieldConfig types and cleans one field. The keys for one type (marked
// so in their doc) are mistakes on fields of another.
type FieldConfig struct {
	Name       string   `yaml:"name" required:"true" doc:"The input field's name, and the output field's."`
	Type       string   `yaml:"type" required:"true" allowed:"string,int64,float64,bool,timestamp,decimal,int16,int32,date,uuid,json,bytes" doc:"The output type (see the type table)."`
	Required   bool     `yaml:"required" doc:"A null value is rejected (MISSING_REQUIRED); the output field is nullable unless required."`
	Trim       *bool    `yaml:"trim" default:"true" doc:"Remove leading and trailing white space."`
	NullValues []string `yaml:"null_values" default:"[\"\", \"null\", \"NULL\", N/A, none]" doc:"The texts, after trimming, that mean null; an empty list means none."`

	MaxLength  int               `yaml:"max_length" default:"0" doc:"(string) The most characters a value may have; 0: no limit."`
	OnOverflow string            `yaml:"on_overflow" default:"reject" allowed:"reject,truncate" doc:"(string) What happens to a longer value: rejected (TOO_LONG) or truncated."`
	Case       string            `yaml:"case" allowed:"upper,lower" doc:"(string) Change the value to upper or lower case."`
	Aliases    map[string]string `yaml:"aliases" doc:"(string) Maps spellings to a canonical value; a spelling matches lower-cased, without spaces, - and _ (Page View matches page_view)."`
	Allowed    []string          `yaml:"allowed" doc:"(string) The values accepted; they also match their own normalised spellings."`
	Otherwise  string            `yaml:"otherwise" doc:"(string, with allowed) The value that replaces any other, or reject to refuse the row (RULE_VIOLATION)."`

	Precision *int `yaml:"precision" doc:"(decimal) The total digits, 1 to 18, as in NUMERIC(precision, scale)."`
	Scale     *int `yaml:"scale" doc:"(decimal) The digits after the point, 0 to precision."`

	Formats   []string         `yaml:"formats" doc:"(timestamp, date) The formats tried in order: Go layouts, or for timestamps rfc3339, rfc3339nano, unix, unix_ms, unix_us. When not set, [rfc3339] for timestamps, [2006-01-02] for dates."`
	TimeZone  string           `yaml:"time_zone" default:"UTC" doc:"(timestamp) The IANA zone of layouts that carry none."`
	NotBefore string           `yaml:"not_before" doc:"(timestamp) Earlier times are rejected: a date (2006-01-02, in time_zone) or an RFC 3339 time."`
	MaxFuture *plugin.Duration `yaml:"max_future" doc:"(timestamp) Times further than this after the moment the batch is processed are rejected."`

	// Encoding hex accepts PostgreSQL's \x prefix.
	Encoding string `yaml:"encoding" default:"text" allowed:"text,hex,base64" doc:"(bytes) How the text holds the bytes: as they are, pairs of hex digits (with an optional \\x prefix), or standard base64."`
}

// RuleConfig is a validation rule: a boolean expr expression over the
// typed fields that must hold.
type RuleConfig struct {
	Name      string `yaml:"name" required:"true" doc:"Names the rule in rejects and errors."`
	Expr      string `yaml:"expr" required:"true" doc:"The expression that must hold, e.g. price == nil || price >= 0."`
	ErrorType string `yaml:"error_type" default:"RULE_VIOLATION" doc:"The reject's error type: upper-case letters, digits and _."`
	Message   string `yaml:"message" doc:"Explains the rule in the reject's reason."`
}

// DeriveConfig computes an output field from the others.
type DeriveConfig struct {
	Name string `yaml:"name" required:"true" doc:"The output field's name."`
	Expr string `yaml:"expr" required:"true" doc:"Computes the value from the fields and earlier derived ones; nil gives null."`
	// A float result is rounded to Scale, half away from zero.
	Type      string `yaml:"type" required:"true" doc:"The output type, as for a field."`
	Precision *int   `yaml:"precision" doc:"(decimal) As for a field."`
	Scale     *int   `yaml:"scale" doc:"(decimal) As for a field; a float result is rounded to it, half away from zero."`
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
	only("max_future", fc.MaxFuture != nil, record.Timestamp)
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
	if fc.MaxFuture != nil {
		f.maxFuture, f.hasMaxFuture = time.Duration(*fc.MaxFuture).Microseconds(), true
	}
}

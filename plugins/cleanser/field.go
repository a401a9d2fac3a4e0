package cleanser

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed-etl/etl/core/record"
)

// field is a compiled FieldConfig.
type field struct {
	name     string
	typ      record.Type
	typed    bool        // typ was configured correctly
	in       int         // input column
	inType   record.Type // record.String, or typ itself
	required bool
	trim     bool
	nulls    []string
	nullLens uint64 // bit n is set when a null value has n bytes (n < 64)

	// string
	maxLen      int
	truncate    bool
	caseMode    byte
	lookup      map[string]*canon // normalised spelling -> canonical value
	restricted  bool              // allowed is set
	allowed     []string
	otherwise   *canon // replaces a value not allowed, when set
	rejectOther bool
	scratch     []byte // case-mapped value of the current row
	keyBuf      []byte // normalised value of the current row

	// decimal
	precision, scale int

	// timestamp
	formats      []tsFormat
	formatList   string // the formats' names, for reasons
	loc          *time.Location
	notBefore    int64 // µs
	hasNotBefore bool
	maxFuture    int64 // µs
	hasMaxFuture bool

	// date: the Go layouts of formats (formatList names them)
	dateLayouts []string

	// bytes: how the text holds them
	encoding byte

	// inEnv says some expression reads the field.
	inEnv bool
}

const (
	caseUpper = 'u'
	caseLower = 'l'
)

// The encodings of a bytes field's text.
const (
	encText   = 't'
	encHex    = 'x'
	encBase64 = 'b'
)

// canon is a canonical string value, boxed once for the expression
// environment.
type canon struct {
	b     []byte
	boxed any
}

// value is one typed cell of the row being processed.
type value struct {
	null  bool
	i     int64    // int16, int32, int64, decimal (unscaled), timestamp (µs), date (days), bool (0/1)
	f     float64  // float64
	s     []byte   // string, json, bytes; aliases the input batch or a scratch buffer
	canon *canon   // string, when s is a canonical value
	u     [16]byte // uuid
}

// failure says why a value was refused; the reason is built only then.
type failure uint8

const (
	ok failure = iota
	failMissing
	failNotNumber
	failIntRange
	failDecimalRange
	failNotFloat
	failNotBool
	failTimestamp
	failZone
	failTooEarly
	failTooLate
	failTooLong
	failNotAllowed
	failBadText
	failDate
	failUUID
	failJSON
	failJSONText
	failBytes
)

// errorType returns the reject's error type for a failure.
func (f failure) errorType() string {
	switch f {
	case failMissing:
		return ErrMissingRequired
	case failNotNumber, failIntRange, failDecimalRange, failNotFloat:
		return ErrInvalidNumber
	case failNotBool:
		return ErrInvalidBoolean
	case failTimestamp, failZone, failTooEarly, failTooLate:
		return ErrInvalidTimestamp
	case failTooLong:
		return ErrTooLong
	case failNotAllowed:
		return ErrRuleViolation
	case failBadText:
		return ErrInvalidText
	case failDate:
		return ErrInvalidDate
	case failUUID:
		return ErrInvalidUUID
	case failJSON, failJSONText:
		return ErrInvalidJSON
	case failBytes:
		return ErrInvalidBytes
	}
	return "INVALID"
}

// read types cell (row, f.in) of b into v. now is the batch's time in µs.
func (f *field) read(b *record.Batch, row int, now int64, v *value) failure {
	*v = value{}
	if b.IsNull(row, f.in) {
		v.null = true
		if f.required {
			return failMissing
		}
		return ok
	}
	if f.inType != record.String {
		return f.readTyped(b, row, v, now)
	}
	raw := b.Bytes(row, f.in)
	if f.trim {
		raw = trimSpace(raw)
	}
	if len(raw) >= 64 || f.nullLens&(1<<len(raw)) != 0 {
		for _, n := range f.nulls {
			if string(raw) == n {
				v.null = true
				if f.required {
					return failMissing
				}
				return ok
			}
		}
	}
	switch f.typ {
	case record.String:
		return f.readString(raw, v)
	case record.Int64:
		n, fail := parseInt(raw)
		v.i = n
		return fail
	case record.Int16, record.Int32:
		n, fail := parseInt(raw)
		if lo, hi := intRange(f.typ); fail == ok && (n < lo || n > hi) {
			fail = failIntRange
		}
		v.i = n
		return fail
	case record.Date:
		for _, layout := range f.dateLayouts {
			if t, err := time.Parse(layout, string(raw)); err == nil {
				v.i = int64(record.DaysOf(t))
				return ok
			}
		}
		return failDate
	case record.UUID:
		u, err := record.ParseUUID(raw)
		if err != nil {
			return failUUID
		}
		v.u = u
		return ok
	case record.JSON:
		if !json.Valid(raw) {
			return failJSON
		}
		if !utf8.Valid(raw) {
			return failJSONText
		}
		v.s = raw
		return ok
	case record.Bytes:
		return f.readBytes(raw, v)
	case record.Decimal:
		n, fail := parseDecimal(raw, f.precision, f.scale)
		v.i = n
		return fail
	case record.Float64:
		x, fail := parseFloat(raw)
		v.f = x
		return fail
	case record.Bool:
		t, fail := parseBool(raw)
		if t {
			v.i = 1
		}
		return fail
	case record.Timestamp:
		for i := range f.formats {
			if us, good := f.formats[i].parse(raw, f.loc); good {
				v.i = us
				return f.checkBounds(us, now)
			}
		}
		for i := range f.formats {
			if _, bad := f.formats[i].unknownZone(raw, f.loc); bad {
				return failZone
			}
		}
		return failTimestamp
	}
	return ok
}

// readTyped takes a cell that already has the field's type.
func (f *field) readTyped(b *record.Batch, row int, v *value, now int64) failure {
	switch f.typ {
	case record.Int64, record.Decimal, record.Timestamp:
		v.i = b.Int64(row, f.in)
	case record.Int16:
		v.i = int64(b.Int16(row, f.in))
	case record.Int32:
		v.i = int64(b.Int32(row, f.in))
	case record.Date:
		v.i = int64(b.Days(row, f.in))
	case record.UUID:
		v.u = b.UUID(row, f.in)
	case record.JSON, record.Bytes:
		v.s = b.Bytes(row, f.in)
	case record.Float64:
		v.f = b.Float64(row, f.in)
	case record.Bool:
		if b.Bool(row, f.in) {
			v.i = 1
		}
	}
	if f.typ == record.Timestamp {
		return f.checkBounds(v.i, now)
	}
	return ok
}

// intRange returns the smallest and largest values of an integer type.
func intRange(t record.Type) (int64, int64) {
	switch t {
	case record.Int16:
		return math.MinInt16, math.MaxInt16
	case record.Int32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

// readBytes decodes a bytes field's text as its encoding says.
func (f *field) readBytes(raw []byte, v *value) failure {
	switch f.encoding {
	case encHex:
		if len(raw) >= 2 && raw[0] == '\\' && raw[1] == 'x' {
			raw = raw[2:]
		}
		if len(raw)%2 != 0 {
			return failBytes
		}
		f.scratch = slices.Grow(f.scratch[:0], len(raw)/2)[:len(raw)/2]
		if _, err := hex.Decode(f.scratch, raw); err != nil {
			return failBytes
		}
		v.s = f.scratch
	case encBase64:
		size := base64.StdEncoding.DecodedLen(len(raw))
		f.scratch = slices.Grow(f.scratch[:0], size)[:size]
		n, err := base64.StdEncoding.Strict().Decode(f.scratch, raw)
		if err != nil {
			return failBytes
		}
		v.s = f.scratch[:n]
	default:
		v.s = raw
	}
	return ok
}

func (f *field) checkBounds(us, now int64) failure {
	if f.hasNotBefore && us < f.notBefore {
		return failTooEarly
	}
	if f.hasMaxFuture && us > now+f.maxFuture {
		return failTooLate
	}
	return ok
}

// readString cleans a text value: valid UTF-8 without NUL (which
// PostgreSQL would refuse), aliases, case, allowed values, length.
func (f *field) readString(raw []byte, v *value) failure {
	s := raw
	if f.lookup != nil {
		f.keyBuf = normalise(f.keyBuf[:0], raw)
		if c, found := f.lookup[string(f.keyBuf)]; found {
			v.canon, v.s = c, c.b
			return f.checkLength(v)
		}
	}
	if !cleanText(raw) {
		return failBadText
	}
	if f.restricted {
		if f.rejectOther || f.otherwise == nil {
			return failNotAllowed
		}
		v.canon, v.s = f.otherwise, f.otherwise.b
		return f.checkLength(v)
	}
	switch f.caseMode {
	case caseUpper:
		f.scratch = toUpper(f.scratch[:0], s)
		s = f.scratch
	case caseLower:
		f.scratch = toLower(f.scratch[:0], s)
		s = f.scratch
	}
	v.s = s
	return f.checkLength(v)
}

func (f *field) checkLength(v *value) failure {
	if f.maxLen == 0 || len(v.s) <= f.maxLen {
		return ok
	}
	n := utf8.RuneCount(v.s)
	if n <= f.maxLen {
		return ok
	}
	if !f.truncate {
		return failTooLong
	}
	cut, i := 0, 0
	for i < f.maxLen {
		_, size := utf8.DecodeRune(v.s[cut:])
		cut += size
		i++
	}
	v.s, v.canon = v.s[:cut], nil
	return ok
}

// reason explains a failure, naming the field and the value.
func (f *field) reason(fail failure, b *record.Batch, row int, v *value) string {
	var text string
	if !b.IsNull(row, f.in) {
		if f.inType == record.String {
			text = string(b.Bytes(row, f.in))
			if f.trim {
				text = strings.TrimSpace(text)
			}
		} else {
			text = formatTyped(f.typ, f.scale, v)
		}
	}
	q := quote(text)
	switch fail {
	case failMissing:
		if b.IsNull(row, f.in) {
			return f.name + ": required but null"
		}
		if text == "" {
			return f.name + ": required but empty"
		}
		return fmt.Sprintf("%s: required but %s", f.name, q)
	case failNotNumber:
		return fmt.Sprintf("%s: %s is not a number", f.name, q)
	case failIntRange:
		if f.typ == record.Int64 {
			return fmt.Sprintf("%s: %s is out of range for int64", f.name, q)
		}
		lo, hi := intRange(f.typ)
		return fmt.Sprintf("%s: %s is out of range for %s (%d to %d)", f.name, q, f.typ, lo, hi)
	case failDecimalRange:
		return decimalRangeReason(f.name, q, text, f.precision, f.scale)
	case failNotFloat:
		return fmt.Sprintf("%s: %s is not a finite number", f.name, q)
	case failNotBool:
		return fmt.Sprintf("%s: %s is not a boolean (true/false, t/f, yes/no, y/n, on/off, 1/0)", f.name, q)
	case failTimestamp:
		return fmt.Sprintf("%s: %s matches none of the formats %s", f.name, q, f.formatList)
	case failZone:
		for i := range f.formats {
			if name, bad := f.formats[i].unknownZone([]byte(text), f.loc); bad {
				return zoneReason(f.name, name, text, f.loc)
			}
		}
	case failDate:
		return fmt.Sprintf("%s: %s matches none of the date formats %s", f.name, q, f.formatList)
	case failUUID:
		return fmt.Sprintf("%s: %s is not a UUID (32 hex digits, as 8-4-4-4-12 with hyphens or without any)", f.name, q)
	case failJSON:
		return fmt.Sprintf("%s: %s is not valid JSON", f.name, q)
	case failJSONText:
		return fmt.Sprintf("%s: %s is not valid UTF-8", f.name, q)
	case failBytes:
		if f.encoding == encHex {
			return fmt.Sprintf("%s: %s is not hex (pairs of digits 0-9 a-f, optionally after \\x)", f.name, q)
		}
		return fmt.Sprintf("%s: %s is not standard base64 with padding", f.name, q)
	case failTooEarly:
		return fmt.Sprintf("%s: %s (%s) is before %s", f.name, q, formatMicros(v.i), formatMicros(f.notBefore))
	case failTooLate:
		return fmt.Sprintf("%s: %s (%s) is more than %s in the future", f.name, q, formatMicros(v.i), time.Duration(f.maxFuture)*time.Microsecond)
	case failTooLong:
		return fmt.Sprintf("%s: %s has %d characters, more than %d", f.name, q, utf8.RuneCount(v.s), f.maxLen)
	case failNotAllowed:
		return fmt.Sprintf("%s: %s is not one of %s", f.name, q, strings.Join(f.allowed, ", "))
	case failBadText:
		if !utf8.ValidString(text) {
			return fmt.Sprintf("%s: %s is not valid UTF-8", f.name, q)
		}
		return fmt.Sprintf("%s: %s contains a NUL byte", f.name, q)
	}
	return fmt.Sprintf("%s: %s refused", f.name, q)
}

// trimSpace is bytes.TrimSpace, quick for the common value that has no
// space to trim.
func trimSpace(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	first, last := b[0], b[len(b)-1]
	if first > ' ' && first < utf8.RuneSelf && last > ' ' && last < utf8.RuneSelf {
		return b
	}
	return bytes.TrimSpace(b)
}

// cleanText reports whether b is valid UTF-8 without NUL bytes.
func cleanText(b []byte) bool {
	for i, c := range b {
		if c == 0 {
			return false
		}
		if c >= utf8.RuneSelf {
			return utf8.Valid(b[i:]) && bytes.IndexByte(b[i:], 0) < 0
		}
	}
	return true
}

// quote quotes s for a reason, shortened past 60 characters.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		r := []rune(s)
		return strconv.Quote(string(r[:57])) + "…"
	}
	return strconv.Quote(s)
}

func formatMicros(us int64) string {
	return time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
}

// formatTyped formats a typed value for a reason.
func formatTyped(t record.Type, scale int, v *value) string {
	if v.null {
		return "null"
	}
	switch t {
	case record.String:
		return string(v.s)
	case record.Int64, record.Int16, record.Int32:
		return strconv.FormatInt(v.i, 10)
	case record.Date:
		return string(record.AppendDateText(nil, int32(v.i)))
	case record.UUID:
		return string(record.AppendUUIDText(nil, v.u[:]))
	case record.JSON, record.Bytes:
		return string(v.s)
	case record.Decimal:
		return record.FormatDecimal(v.i, scale)
	case record.Float64:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case record.Bool:
		return strconv.FormatBool(v.i != 0)
	case record.Timestamp:
		return formatMicros(v.i)
	}
	return ""
}

// parseInt parses an optionally signed base-10 int64 as strconv.ParseInt
// does, without converting b to a string.
func parseInt(b []byte) (int64, failure) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, failNotNumber
	}
	const limit = uint64(1) << 63 // |math.MinInt64|
	var u uint64
	over := false
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, failNotNumber
		}
		if over {
			continue // keep checking the syntax
		}
		if u > limit/10 {
			over = true
			continue
		}
		u = u*10 + uint64(c-'0')
		over = u > limit
	}
	if over || !neg && u == limit {
		return 0, failIntRange
	}
	if neg {
		return -int64(u), ok
	}
	return int64(u), ok
}

// parseDecimal parses b exactly with record.ParseDecimal: more digits than
// precision or scale allow is an error, never a rounding.
func parseDecimal(b []byte, precision, scale int) (int64, failure) {
	n, err := record.ParseDecimalBytes(b, precision, scale)
	if err != nil {
		if errors.Is(err, record.ErrDecimalRange) {
			return 0, failDecimalRange
		}
		return 0, failNotNumber
	}
	return n, ok
}

// decimalRangeReason explains why text, quoted q, does not fit
// decimal(precision, scale): as record.ParseDecimal checks, first a nonzero
// digit past the scale, then the digits before the point.
func decimalRangeReason(field, q, text string, precision, scale int) string {
	if point := strings.IndexByte(text, '.'); point >= 0 && len(text) > point+1+scale &&
		strings.Trim(text[point+1+scale:], "0") != "" {
		switch scale {
		case 0:
			return fmt.Sprintf("%s: %s has decimal places; decimal(%d,0) holds whole numbers", field, q, precision)
		case 1:
			return fmt.Sprintf("%s: %s has more than 1 decimal place for decimal(%d,1)", field, q, precision)
		}
		return fmt.Sprintf("%s: %s has more than %d decimal places for decimal(%d,%d)", field, q, scale, precision, scale)
	}
	switch digits := precision - scale; digits {
	case 0:
		return fmt.Sprintf("%s: %s has digits before the decimal point; decimal(%d,%d) holds less than 1", field, q, precision, scale)
	case 1:
		return fmt.Sprintf("%s: %s has more than 1 digit before the decimal point for decimal(%d,%d)", field, q, precision, scale)
	default:
		return fmt.Sprintf("%s: %s has more than %d digits before the decimal point for decimal(%d,%d)", field, q, digits, precision, scale)
	}
}

// parseFloat parses a finite float64.
func parseFloat(b []byte) (float64, failure) {
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, failNotFloat
	}
	return x, ok
}

// parseBool accepts true/false, t/f, yes/no, y/n, on/off and 1/0, in any
// case.
func parseBool(b []byte) (bool, failure) {
	if len(b) > 5 {
		return false, failNotBool
	}
	var buf [5]byte
	l := toLower(buf[:0], b)
	switch string(l) {
	case "true", "t", "yes", "y", "on", "1":
		return true, ok
	case "false", "f", "no", "n", "off", "0":
		return false, ok
	}
	return false, failNotBool
}

// normalise appends the alias key of s to dst: lower-cased, without
// spaces, '-' and '_'.
func normalise(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			lower := bytes.ToLower(s[i:])
			for _, c := range lower {
				if c != ' ' && c != '-' && c != '_' {
					dst = append(dst, c)
				}
			}
			return dst
		}
		switch {
		case c == ' ' || c == '-' || c == '_':
		case c >= 'A' && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// toUpper appends s upper-cased to dst.
func toUpper(dst, s []byte) []byte {
	for i, c := range s {
		if c >= utf8.RuneSelf {
			return append(dst, bytes.ToUpper(s[i:])...)
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// toLower appends s lower-cased to dst.
func toLower(dst, s []byte) []byte {
	for i, c := range s {
		if c >= utf8.RuneSelf {
			return append(dst, bytes.ToLower(s[i:])...)
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

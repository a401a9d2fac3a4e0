package cleanser

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/seed-etl/etl/core/record"
)

// Run a target for a minute with, for example:
//
//	go test -run XXX -fuzz FuzzParseDecimal -fuzztime 60s ./plugins/cleanser/

var intSyntax = regexp.MustCompile(`^[+-]?[0-9]+$`)

// FuzzParseInt checks parseInt against strconv.ParseInt, except that text
// that is not an integer is not a number even when strconv first finds it
// out of range ("99999999999999999999x").
func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "42", "-42", "+42", "007", "", "-", "+", "--1", "4.2", "1e3", " 1",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551616", "99999999999999999999x", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, fail := parseInt([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err == nil:
			if fail != ok || got != want {
				t.Fatalf("parseInt(%q) = %d, %d; strconv says %d", s, got, fail, want)
			}
		case errors.Is(err, strconv.ErrRange) && intSyntax.MatchString(s):
			if fail != failIntRange {
				t.Fatalf("parseInt(%q) = %d, %d; strconv says out of range", s, got, fail)
			}
		default:
			if fail != failNotNumber {
				t.Fatalf("parseInt(%q) = %d, %d; strconv says %v", s, got, fail, err)
			}
		}
	})
}

var decimalSyntax = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// refDecimal parses s into an unscaled value at scale with math/big, as
// NUMERIC(precision, scale) holds it without rounding. valid says that s
// has the syntax of a number, inRange that it has no digit too many.
func refDecimal(s string, precision, scale int) (n *big.Int, valid, inRange bool) {
	if !decimalSyntax.MatchString(s) {
		return nil, false, false
	}
	neg := s[0] == '-'
	s = strings.TrimLeft(s, "+-")
	intPart, frac, _ := strings.Cut(s, ".")
	intPart = strings.TrimLeft(intPart, "0")
	frac = strings.TrimRight(frac, "0")
	if len(frac) > scale || len(intPart) > precision-scale {
		return nil, true, false
	}
	n, _ = new(big.Int).SetString("0"+intPart+frac+strings.Repeat("0", scale-len(frac)), 10)
	if neg {
		n.Neg(n)
	}
	return n, true, true
}

// FuzzParseDecimal checks parseDecimal against math/big, and that what it
// accepts formats back to text that parses to the same value.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"19.99", "0.1", "-0.01", ".5", "5.", "+1.5", "-.5", "1.990", "00012.3", "19.999",
		"1000", "0", "-0", "", ".", "-", "1e2", "1,5", "1..2", "NaN", "999999999999999999", "9999999999999999999",
		"0.000000000000000001", "-999999999999999999", "12345678901234.5678"} {
		f.Add(s, uint8(12), uint8(2))
	}
	f.Add(".1A", uint8(0), uint8(0)) // once "too many digits"
	f.Add("123456789012345678", uint8(18), uint8(0))
	f.Add("0.123456789012345678", uint8(18), uint8(18))
	f.Fuzz(func(t *testing.T, s string, precision, scale uint8) {
		p := int(precision%18) + 1
		sc := int(scale) % (p + 1)
		got, fail := parseDecimal([]byte(s), p, sc)
		want, valid, inRange := refDecimal(s, p, sc)
		switch {
		case !valid:
			if fail != failNotNumber {
				t.Fatalf("parseDecimal(%q, %d, %d) = %d, %d; want not a number", s, p, sc, got, fail)
			}
			return
		case !inRange:
			if fail != failDecimalRange {
				t.Fatalf("parseDecimal(%q, %d, %d) = %d, %d; want too many digits", s, p, sc, got, fail)
			}
			// The reason blames the part that record.ParseDecimal blames.
			_, err := record.ParseDecimal(s, p, sc)
			reason := decimalRangeReason("v", strconv.Quote(s), s, p, sc)
			if strings.Contains(err.Error(), "after the point") != strings.Contains(reason, "decimal place") {
				t.Fatalf("decimal(%d,%d) %q: reason %q, but ParseDecimal says %v", p, sc, s, reason, err)
			}
			return
		case fail != ok || big.NewInt(got).Cmp(want) != 0:
			t.Fatalf("parseDecimal(%q, %d, %d) = %d, %d; want %s", s, p, sc, got, fail, want)
		}
		// Round trip: the exact text of the value parses to the same value,
		// and means the same number as s.
		text := record.FormatDecimal(got, sc)
		back, fail := parseDecimal([]byte(text), p, sc)
		if fail != ok || back != got {
			t.Fatalf("%q: %d formats as %q, which parses to %d, %d", s, got, text, back, fail)
		}
		exact := new(big.Rat).SetFrac(want, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(sc)), nil))
		if r, isNumber := new(big.Rat).SetString(text); !isNumber || r.Cmp(exact) != 0 {
			t.Fatalf("%q parses to %d, formatted %q: not %s", s, got, text, exact.FloatString(sc))
		}
	})
}

// fuzzFormat is a timestamp format of FuzzTimestamp; zoned says that its
// values carry their zone.
type fuzzFormat struct {
	name  string
	zoned bool
}

var fuzzFormats = []fuzzFormat{
	{"rfc3339", true},
	{"rfc3339nano", true},
	{"unix", true},
	{"unix_ms", true},
	{"unix_us", true},
	{time.RFC3339, true},
	{"2006-01-02 15:04:05", false},
	{"2006-01-02T15:04:05", false},
	{"2006/01/02 15:04:05", false},
	{"01/02/2006 15:04:05", false},
	{"2006-01-02", false},
	{"20060102150405", false},
	{"15:04 2006-01-02", false},
	{"02 Jan 2006 15:04:05", false},
	{"Jan 2, 2006 3:04 PM", false},
	{"2006-01-02 15:04:05.000", false},
	{"2006-01-02 15:04:05 -0700", true},
	{"Mon, 02 Jan 2006 15:04:05 -0700", true},
	{"2006-01-02T15:04:05.000Z07:00", true},
	{"2006-01-02 15:04:05 MST", true},
	{time.UnixDate, true},
	{"2006-01-02 15:04:05 -0700 MST", true},
}

var fuzzZones = []string{"UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"}

var unixSyntax = regexp.MustCompile(`^(-?)([0-9]+)(?:\.([0-9]{1,9}))?$`)

// refUnix parses s as format kind with strconv: digit counts tell the
// formats apart and only unix seconds may have a fraction.
func refUnix(kind tsKind, s string) (int64, bool) {
	m := unixSyntax.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	digits, frac := len(m[2]), m[3]
	var unit int64
	switch {
	case kind == kindUnix && digits <= unixMaxDigits:
		unit = 1e6
	case kind == kindUnixMs && digits > unixMaxDigits && digits <= unixMsMaxDigits && frac == "":
		unit = 1e3
	case kind == kindUnixUs && digits > unixMsMaxDigits && digits <= unixUsMaxDigits && frac == "":
		unit = 1
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return 0, false
	}
	us := n * unit
	if frac != "" {
		f, _ := strconv.ParseInt((frac + "00000")[:6], 10, 64)
		us += f
	}
	if m[1] == "-" {
		us = -us
	}
	return us, true
}

// formatUnix writes us in a Unix format as that format reads it.
func formatUnix(kind tsKind, us int64) string {
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	switch kind {
	case kindUnixMs:
		return fmt.Sprintf("%s%012d", sign, us/1e3)
	case kindUnixUs:
		return fmt.Sprintf("%s%015d", sign, us)
	}
	if us%1e6 != 0 {
		return fmt.Sprintf("%s%d.%06d", sign, us/1e6, us%1e6)
	}
	return fmt.Sprintf("%s%d", sign, us/1e6)
}

// FuzzTimestamp checks every kind of timestamp format in several zones:
// layouts give what time.ParseInLocation gives (the numeric and RFC 3339
// fast paths included), Unix formats what strconv gives, and an accepted
// value formatted back in the same format parses again to a value that
// formats the same.
func FuzzTimestamp(f *testing.F) {
	seeds := []string{"2024-03-01T14:05:09Z", "2024-03-01T14:05:09.123456789+02:00", "2024-03-01T14:05:09,5-04:30",
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59",
		"2024-03-01T24:00:00Z", "2024-03-01T14:05:09.Z", "2024-03-01 14:05:09", "2024-03-01  4:05:09.25",
		"2024/03/01 14:05:09", "03/01/2024 14:05:09", "2024-03-01", "20240301140509", "14:05 2024-03-01",
		"01 Mar 2024 14:05:09", "Mar 1, 2024 2:05 PM", "2024-03-01 14:05:09.123", "2024-03-01 14:05:09 +0100",
		"Fri, 01 Mar 2024 15:05:09 +0100", "2024-03-01T14:05:09.250+00:00", "2024-03-31 02:30:00", "2024-10-27 02:30:00",
		"1709301909", "1709301909.5", "-1.5", "0", "99999999999", "1709301909123", "-100000000000", "1709301909123456",
		"", "-", "1e9", "2024-03-01T14:05:09", "2024-03-01 14:05:09 PST", "2024-07-01 14:05:09 CEST", "2024-03-01 14:05:09 XYZ",
		"2024-03-01 14:05:09 Z", "2024-03-01 14:05:09 UT", "2024-03-01 14:05:09 GMT+3", "2024-03-01 14:05:09 +07", "2024-03-01 14:05:09 IST",
		"2024-03-01 14:05:09 CST", "2024-10-27 02:30:00 CET", "Fri Mar  1 14:05:09 PDT 2024", "2024-03-01 14:05:09 -0800 PST"}
	for i, s := range seeds {
		for format := range fuzzFormats {
			f.Add(uint8(format), uint8(i%len(fuzzZones)), s, int64(i)*86399999999)
		}
	}
	locs := make([]*time.Location, len(fuzzZones))
	for i, z := range fuzzZones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			f.Fatal(err)
		}
		locs[i] = loc
	}
	compiled := make([]tsFormat, len(fuzzFormats))
	for i, ff := range fuzzFormats {
		tf, err := compileFormat(ff.name)
		if err != nil {
			f.Fatal(err)
		}
		compiled[i] = tf
	}
	f.Fuzz(func(t *testing.T, format, zone uint8, s string, us int64) {
		ff, tf := fuzzFormats[int(format)%len(fuzzFormats)], &compiled[int(format)%len(fuzzFormats)]
		loc := locs[int(zone)%len(locs)]
		checkTimestamp(t, ff, tf, loc, s)
		// The same format writing a valid time of the years 0000 to 9999.
		us = minMicros + int64(uint64(us)%uint64(maxMicros-minMicros))
		checkTimestamp(t, ff, tf, loc, writer(ff, tf, loc)(us))
	})
}

// The microseconds of 0000-01-01 and 10000-01-01, UTC.
const (
	minMicros = -62167219200 * 1e6
	maxMicros = 253402300800 * 1e6
)

// writer returns a function writing a time in format tf as it is read in
// loc, or "" for a time that the format cannot write.
func writer(ff fuzzFormat, tf *tsFormat, loc *time.Location) func(us int64) string {
	switch tf.kind {
	case kindUnix, kindUnixMs, kindUnixUs:
		return func(us int64) string { return formatUnix(tf.kind, us) }
	}
	out := loc
	if ff.zoned {
		out = time.UTC
	}
	return func(us int64) string {
		t := time.UnixMicro(us).In(out)
		if t.Year() < 0 || t.Year() > 9999 {
			return "" // a four-digit year cannot hold it
		}
		return t.Format(tf.layout)
	}
}

// checkTimestamp checks that tf reads s in loc as the reference does, and
// that what it reads it writes back to a text that reads to the same.
func checkTimestamp(t *testing.T, ff fuzzFormat, tf *tsFormat, loc *time.Location, s string) {
	us, good := tf.parse([]byte(s), loc)
	var wantUS int64
	var wantGood bool
	switch {
	case tf.abbrev:
		checkAbbrev(t, ff, tf, loc, s, us, good)
		wantUS, wantGood = us, good
	case tf.kind == kindUnix || tf.kind == kindUnixMs || tf.kind == kindUnixUs:
		wantUS, wantGood = refUnix(tf.kind, s)
	default:
		tm, err := time.ParseInLocation(tf.layout, s, loc)
		wantUS, wantGood = tm.UnixMicro(), err == nil
	}
	if good != wantGood || good && us != wantUS {
		t.Fatalf("%s in %s: %q gives %d, %v; want %d, %v", ff.name, loc, s, us, good, wantUS, wantGood)
	}
	if !good {
		return
	}
	wr := writer(ff, tf, loc)
	s2 := wr(us)
	if s2 == "" {
		return
	}
	us2, good2 := tf.parse([]byte(s2), loc)
	if !good2 || wr(us2) != s2 {
		t.Fatalf("%s in %s: %q gives %d, written %q, which gives %d, %v", ff.name, loc, s, us, s2, us2, good2)
	}
}

// checkAbbrev checks what a layout with a zone abbreviation read from s
// against time.Parse, which reads the wall clock and the abbreviation N
// (in UTC, where it makes up a zero offset for N): an accepted value is
// that wall clock at the offset of the table, of GMT+h or +hh, or of loc
// when loc calls its zone N then; a value time.Parse refuses is refused,
// but for the abbreviations Z and UT that time.Parse does not take.
func checkAbbrev(t *testing.T, ff fuzzFormat, tf *tsFormat, loc *time.Location, s string, us int64, good bool) {
	t.Helper()
	wall, err := time.ParseInLocation(tf.layout, s, time.UTC)
	if err != nil {
		if good && !strings.Contains(s, "Z") && !strings.Contains(s, "UT") {
			t.Fatalf("%s in %s: %q gives %d; time.Parse refuses it: %v", ff.name, loc, s, us, err)
		}
		return
	}
	if !good {
		return // an abbreviation found nowhere: TestTimestampZoneAbbreviations
	}
	name, goOffset := wall.Zone()
	offset := int(wall.UnixMicro()-us) / 1e6
	inLoc, locOffset := time.UnixMicro(us).In(loc).Zone()
	tableOffset, inTable := zoneOffsets[name]
	switch {
	case (wall.UnixMicro()-us)%1e6 != 0:
		t.Fatalf("%s in %s: %q gives %d, not a whole second from %s", ff.name, loc, s, us, wall)
	case inLoc == name && locOffset == offset:
	case inTable && offset == tableOffset:
	case strings.HasPrefix(name, "GMT") && len(name) > 3 && offset == goOffset:
	case name != "" && (name[0] == '+' || name[0] == '-') && offset == goOffset+mustAtoi(t, name)*3600:
	default:
		t.Fatalf("%s in %s: %q gives %d, %s at %+d s, which is neither %s's zone then nor the table's", ff.name, loc, s, us, name, offset, loc)
	}
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// FuzzProcess puts arbitrary cells through the e-commerce configuration
// between two good rows: nothing panics, each row is either output or
// rejected, never both, the good rows pass, and what passes keeps the
// rules.
func FuzzProcess(f *testing.F) {
	f.Add("42", "view", "7", "Blue Mug", "19.99", "2024-03-01T14:05:09Z", "s-1", uint8(0))
	f.Add(" 42 ", "Add To Cart", "007", `Mug, "Blue"`, "5.5", "2024-03-01 14:05:09", "", uint8(0))
	f.Add("0", "bought", "-7", "", "", "1709301909", "null", uint8(0))
	f.Add("", "buy", "x", strings.Repeat("é", 101), "-5.00", "yesterday", "N/A", uint8(0))
	f.Add("1", "refund", "1", "Mug \xff", "19.999", "1709301909123", "a\x00b", uint8(0))
	f.Add("9223372036854775808", "PURCHASE", "1", "x", "1e3", "2024-02-30 10:00:00", "none", uint8(0x7f))
	f.Add("1", "remove", "1", "x", "12345678901", "03/01/2024 14:05:09", strings.Repeat("s", 51), uint8(0x10))
	c, schema := configure(f, string(ecommerceConfig(f)), textSchema(ecommerceColumns...))
	good := goodEvent().cells()
	actions := []string{"VIEW", "PURCHASE", "ADD_TO_CART", "REMOVE_FROM_CART", "UNKNOWN"}
	errorTypes := []string{ErrMissingRequired, ErrInvalidNumber, ErrInvalidTimestamp, ErrTooLong, ErrRuleViolation, ErrInvalidText}
	f.Fuzz(func(t *testing.T, user, action, product, name, price, eventTime, session string, nulls uint8) {
		row := []string{user, action, product, name, price, eventTime, session}
		for i := range row {
			if nulls&(1<<i) != 0 {
				row[i] = null
			}
		}
		in := textBatch(good, row, good)
		out, rejects, err := c.Process(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Check(); err != nil {
			t.Fatalf("output batch: %v", err)
		}
		if out.Len()+len(rejects) != in.Len() {
			t.Fatalf("%d rows and %d rejects from %d rows", out.Len(), len(rejects), in.Len())
		}
		seen := map[int64]bool{}
		for i := range out.Len() {
			seen[out.Origin(i).Line] = true
		}
		for _, r := range rejects {
			if seen[r.Origin.Line] {
				t.Fatalf("line %d is both output and rejected (%s)", r.Origin.Line, r.Reason)
			}
			seen[r.Origin.Line] = true
			if r.Origin != in.Origin(1) || r.Raw != string(in.Raw(1)) {
				t.Fatalf("reject %+v is not of the fuzzed row", r)
			}
			if !slices.Contains(errorTypes, r.ErrorType) || r.Reason == "" || !utf8.ValidString(r.Reason) {
				t.Fatalf("reject %s %q", r.ErrorType, r.Reason)
			}
		}
		if len(seen) != in.Len() {
			t.Fatalf("rows seen: %v", seen)
		}
		for i := range out.Len() {
			if out.Int64(i, 0) <= 0 || out.Int64(i, 2) <= 0 || !slices.Contains(actions, out.Text(i, 1)) ||
				!out.IsNull(i, 4) && out.Decimal(i, 4) < 0 || out.IsNull(i, 4) && out.Text(i, 1) == "PURCHASE" ||
				utf8.RuneCount(out.Bytes(i, 3)) > 100 || utf8.RuneCount(out.Bytes(i, 6)) > 50 {
				t.Fatalf("output row %d breaks the configuration: %q", i, rowText(schema, out, i))
			}
			for _, col := range []int{1, 3, 6} {
				if v := out.Bytes(i, col); !utf8.Valid(v) || slices.Contains(v, 0) {
					t.Fatalf("output row %d column %d is not clean text: %q", i, col, v)
				}
			}
		}
	})
}

package cleanser

import (
	"fmt"
	"strings"
	"time"
)

// tsKind says how a timestamp format parses.
type tsKind uint8

const (
	// kindLayout is any Go layout, parsed by time.ParseInLocation.
	kindLayout tsKind = iota
	// kindNumeric is a Go layout made only of 2006, 01, 02, 15, 04, 05 and
	// the separators - / : space T, parsed by numLayout with exactly the
	// semantics of time.ParseInLocation but without allocating.
	kindNumeric
	// kindRFC3339 is time.RFC3339 or time.RFC3339Nano: a hand-written
	// parser for the strict shape, time.ParseInLocation for the rest.
	kindRFC3339
	// kindUnix, kindUnixMs and kindUnixUs are integers counting seconds,
	// milliseconds or microseconds since the Unix epoch.
	kindUnix
	kindUnixMs
	kindUnixUs
)

// Digit counts that tell the Unix formats apart, whatever their order in
// `formats`: seconds have 1 to 11 digits (up to the year 5138), milliseconds
// 12 to 14 and microseconds 15 to 17. A value now has 10, 13 or 16 digits.
const (
	unixMaxDigits   = 11
	unixMsMaxDigits = 14
	unixUsMaxDigits = 17
)

// tsFormat is one entry of a timestamp field's `formats`.
type tsFormat struct {
	name   string // as written in the configuration
	kind   tsKind
	layout string
	// num is the whole layout for kindNumeric, and the numeric start of
	// the layout for kindLayout.
	num numLayout
	// abbrev is set for a kindLayout whose only zone element is an
	// abbreviation (MST), read by parseAbbrev.
	abbrev bool
}

// namedFormats are the format names accepted besides Go layouts.
var namedFormats = map[string]tsFormat{
	"rfc3339":     {kind: kindRFC3339, layout: time.RFC3339},
	"rfc3339nano": {kind: kindRFC3339, layout: time.RFC3339Nano},
	"unix":        {kind: kindUnix},
	"unix_ms":     {kind: kindUnixMs},
	"unix_us":     {kind: kindUnixUs},
}

// compileFormat turns a configured format into a tsFormat, checking that a
// Go layout can parse what it formats, date included.
func compileFormat(name string) (tsFormat, error) {
	if f, ok := namedFormats[name]; ok {
		f.name = name
		return f, nil
	}
	f := tsFormat{name: name, kind: kindLayout, layout: name}
	if name == time.RFC3339 || name == time.RFC3339Nano {
		f.kind = kindRFC3339
		return f, nil
	}
	ref := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	s := ref.Format(name)
	if s == name {
		return f, fmt.Errorf("%q has no Go layout elements: write the reference time Mon Jan 2 15:04:05 MST 2006 the way the input does, e.g. \"2006-01-02 15:04:05\", or one of rfc3339, rfc3339nano, unix, unix_ms, unix_us", name)
	}
	t, err := time.Parse(name, s)
	if err != nil || t.Year() != 2001 || t.Month() != 2 || t.Day() != 3 {
		return f, fmt.Errorf("layout %q does not give a full date (year, month and day)", name)
	}
	num, full := compileNumeric(name)
	f.num = num
	if full {
		f.kind = kindNumeric
	}
	f.abbrev = hasAbbrevOnly(name)
	return f, nil
}

// parse returns v as microseconds since the Unix epoch. Layouts without a
// zone are read in loc; a zone abbreviation is read by parseAbbrev, and one
// it does not know is a failure (unknownZone tells it apart).
func (f *tsFormat) parse(v []byte, loc *time.Location) (int64, bool) {
	switch f.kind {
	case kindNumeric:
		return f.num.parse(v, loc)
	case kindRFC3339:
		if us, ok := parseRFC3339(v); ok {
			return us, true
		}
		if !mayBeRFC3339(v) {
			return 0, false
		}
	case kindUnix:
		return parseUnix(v, unixMaxDigits, true, 1e6)
	case kindUnixMs:
		return parseUnixRange(v, unixMaxDigits+1, unixMsMaxDigits, 1e3)
	case kindUnixUs:
		return parseUnixRange(v, unixMsMaxDigits+1, unixUsMaxDigits, 1)
	case kindLayout:
		// The layout's numeric start refuses most values of other formats
		// without the cost of a time.ParseError.
		if _, _, ok := f.num.scan(v); !ok {
			return 0, false
		}
		if f.abbrev {
			us, _, st := f.parseAbbrev(v, loc)
			return us, st == zoneOK
		}
	}
	t, err := time.ParseInLocation(f.layout, string(v), loc)
	if err != nil {
		return 0, false
	}
	return t.UnixMicro(), true
}

// parseUnixRange parses an optionally negative integer of minDigits to
// maxDigits digits counting units of unitMicros microseconds.
func parseUnixRange(v []byte, minDigits, maxDigits int, unitMicros int64) (int64, bool) {
	digits := len(v)
	if digits > 0 && v[0] == '-' {
		digits--
	}
	if digits < minDigits {
		return 0, false
	}
	return parseUnix(v, maxDigits, false, unitMicros)
}

// parseUnix parses an optionally negative integer of at most maxDigits
// digits, with a fraction of up to 9 digits when frac is set (kept to the
// microsecond), counting units of unitMicros microseconds.
func parseUnix(v []byte, maxDigits int, frac bool, unitMicros int64) (int64, bool) {
	neg := false
	if len(v) > 0 && v[0] == '-' {
		neg = true
		v = v[1:]
	}
	i := 0
	var n int64
	for ; i < len(v) && isDigit(v[i]); i++ {
		if i == maxDigits {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	if i == 0 {
		return 0, false
	}
	us := n * unitMicros
	if i < len(v) {
		if !frac || v[i] != '.' {
			return 0, false
		}
		v = v[i+1:]
		if len(v) == 0 || len(v) > 9 {
			return 0, false
		}
		var f int64
		scale := int64(100000)
		for j, c := range v {
			if !isDigit(c) {
				return 0, false
			}
			if j < 6 {
				f += int64(c-'0') * scale
				scale /= 10
			}
		}
		us += f
	}
	if neg {
		us = -us
	}
	return us, true
}

// parseRFC3339 parses the strict RFC 3339 shape 2006-01-02T15:04:05, an
// optional fraction after a '.', then Z or ±hh:mm, as time.Parse's own
// fast path does, to microseconds without building a time.Location.
func parseRFC3339(v []byte) (int64, bool) {
	if len(v) < 20 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' {
		return 0, false
	}
	year, ok1 := num(v[0:4])
	month, ok2 := num(v[5:7])
	day, ok3 := num(v[8:10])
	hour, ok4 := num(v[11:13])
	min, ok5 := num(v[14:16])
	sec, ok6 := num(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || min > 59 || sec > 59 {
		return 0, false
	}
	v = v[19:]
	var us int64
	if len(v) >= 2 && v[0] == '.' && isDigit(v[1]) {
		n := 1
		scale := int64(100000)
		for ; n < len(v) && isDigit(v[n]); n++ {
			if n <= 6 {
				us += int64(v[n]-'0') * scale
				scale /= 10
			}
		}
		v = v[n:]
	}
	offset := 0
	switch {
	case len(v) == 1 && v[0] == 'Z':
	case len(v) == 6 && (v[0] == '+' || v[0] == '-') && v[3] == ':':
		hh, ok1 := num(v[1:3])
		mm, ok2 := num(v[4:6])
		if !ok1 || !ok2 || hh > 23 || mm > 59 {
			return 0, false
		}
		offset = (hh*60 + mm) * 60
		if v[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+min*60+sec) - int64(offset)
	return secs*1e6 + us, true
}

// mayBeRFC3339 reports whether time.Parse could still accept v as RFC 3339
// once parseRFC3339 has refused it. It refuses what the general parser
// surely refuses, so that a value of another format does not pay for a
// time.ParseError: a date that does not start as 2006-01-02T, or a full
// date and time with no zone at all.
func mayBeRFC3339(v []byte) bool {
	if len(v) < 11 || v[4] != '-' || v[7] != '-' || v[10] != 'T' {
		return false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9} {
		if !isDigit(v[i]) {
			return false
		}
	}
	if len(v) < 19 || v[13] != ':' || v[16] != ':' {
		return true
	}
	for _, i := range [...]int{11, 12, 14, 15, 17, 18} {
		if !isDigit(v[i]) {
			return true
		}
	}
	rest := v[19:]
	if len(rest) >= 2 && (rest[0] == '.' || rest[0] == ',') && isDigit(rest[1]) {
		n := 2
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		rest = rest[n:]
	}
	return len(rest) != 0
}

// numTok is one element of a numLayout.
type numTok struct {
	kind byte   // one of the tok constants
	lit  string // for tokLit, a run of separators
}

const (
	tokLit byte = iota
	tokYear
	tokMonth
	tokDay
	tokHour
	tokMinute
	tokSecond
)

// numLayout is a Go layout made only of 2006, 01, 02, 15, 04, 05 and
// separators. Its parse follows time.Parse to the letter (runs of spaces,
// a one-digit hour, a fraction of second after the seconds, range checks)
// and so gives the same answers; the fuzz target checks that it does.
type numLayout struct {
	toks []numTok
}

// compileNumeric splits layout into numeric tokens and separators. It
// reports full when that is all the layout has, with a year, a month and a
// day. Otherwise the tokens are those before the first other element (less
// a '-' just before it, which may begin a zone such as -07:00): a value
// they refuse, the whole layout refuses.
func compileNumeric(layout string) (l numLayout, full bool) {
	seen := map[byte]bool{}
	dup := false
	for i := 0; i < len(layout); {
		var k byte
		n := 2
		switch {
		case strings.HasPrefix(layout[i:], "2006"):
			k, n = tokYear, 4
		case strings.HasPrefix(layout[i:], "01"):
			k = tokMonth
		case strings.HasPrefix(layout[i:], "02"):
			k = tokDay
		case strings.HasPrefix(layout[i:], "15"):
			k = tokHour
		case strings.HasPrefix(layout[i:], "04"):
			k = tokMinute
		case strings.HasPrefix(layout[i:], "05"):
			k = tokSecond
		case strings.IndexByte("-/: T", layout[i]) >= 0:
			if len(l.toks) > 0 && l.toks[len(l.toks)-1].kind == tokLit {
				l.toks[len(l.toks)-1].lit += layout[i : i+1]
			} else {
				l.toks = append(l.toks, numTok{kind: tokLit, lit: layout[i : i+1]})
			}
			i++
			continue
		default:
			if last := len(l.toks) - 1; last >= 0 && l.toks[last].kind == tokLit {
				if lit := strings.TrimSuffix(l.toks[last].lit, "-"); lit != "" {
					l.toks[last].lit = lit
				} else {
					l.toks = l.toks[:last]
				}
			}
			return l, false
		}
		dup = dup || seen[k]
		seen[k] = true
		l.toks = append(l.toks, numTok{kind: k})
		i += n
	}
	return l, !dup && seen[tokYear] && seen[tokMonth] && seen[tokDay]
}

// date is what a numLayout reads.
type date struct {
	year, month, day, hour, min, sec, us int
}

// scan reads the tokens from the front of v as time.Parse does and
// returns what remains of v, or false where time.Parse fails.
func (l *numLayout) scan(v []byte) (date, []byte, bool) {
	var d date
	ok := true
	for _, t := range l.toks {
		switch t.kind {
		case tokLit:
			v, ok = skipLiteral(v, t.lit)
		case tokYear:
			if len(v) < 4 {
				return d, v, false
			}
			d.year, ok = num(v[:4])
			v = v[4:]
		case tokMonth:
			d.month, v, ok = getnum(v, true)
			ok = ok && d.month >= 1 && d.month <= 12
		case tokDay:
			d.day, v, ok = getnum(v, true)
		case tokHour:
			d.hour, v, ok = getnum(v, false)
			ok = ok && d.hour < 24
		case tokMinute:
			d.min, v, ok = getnum(v, true)
			ok = ok && d.min < 60
		case tokSecond:
			d.sec, v, ok = getnum(v, true)
			ok = ok && d.sec < 60
			// time.Parse takes a fraction of second here even when the
			// layout has none.
			if ok && len(v) >= 2 && (v[0] == '.' || v[0] == ',') && isDigit(v[1]) {
				n := 1
				scale := 100000
				for ; n < len(v) && isDigit(v[n]); n++ {
					if n <= 6 {
						d.us += int(v[n]-'0') * scale
						scale /= 10
					}
				}
				v = v[n:]
			}
		}
		if !ok {
			return d, v, false
		}
	}
	return d, v, true
}

// parse reads v as a full numeric layout does, in loc, to microseconds.
func (l *numLayout) parse(v []byte, loc *time.Location) (int64, bool) {
	d, rest, ok := l.scan(v)
	if !ok || len(rest) != 0 || d.day < 1 || d.day > daysIn(d.month, d.year) {
		return 0, false
	}
	if loc == time.UTC {
		secs := daysFromCivil(d.year, d.month, d.day)*86400 + int64(d.hour*3600+d.min*60+d.sec)
		return secs*1e6 + int64(d.us), true
	}
	return time.Date(d.year, time.Month(d.month), d.day, d.hour, d.min, d.sec, d.us*1000, loc).UnixMicro(), true
}

// skipLiteral removes lit from the front of v as time.Parse does: a space
// in lit matches a run of spaces (or the end of v), any other byte itself.
func skipLiteral(v []byte, lit string) ([]byte, bool) {
	for len(lit) > 0 {
		if lit[0] == ' ' {
			if len(v) > 0 && v[0] != ' ' {
				return v, false
			}
			for len(lit) > 0 && lit[0] == ' ' {
				lit = lit[1:]
			}
			for len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			continue
		}
		if len(v) == 0 || v[0] != lit[0] {
			return v, false
		}
		lit, v = lit[1:], v[1:]
	}
	return v, true
}

// getnum reads a two-digit number, or a one-digit one unless fixed, as
// time.Parse does.
func getnum(v []byte, fixed bool) (int, []byte, bool) {
	if len(v) == 0 || !isDigit(v[0]) {
		return 0, v, false
	}
	if len(v) == 1 || !isDigit(v[1]) {
		if fixed {
			return 0, v, false
		}
		return int(v[0] - '0'), v[1:], true
	}
	return int(v[0]-'0')*10 + int(v[1]-'0'), v[2:], true
}

// num parses v, all digits, as a small number.
func num(v []byte) (int, bool) {
	n := 0
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLeap(year int) bool { return year%4 == 0 && (year%100 != 0 || year%400 == 0) }

// daysIn returns the number of days of month (1-12) in year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// date of the proleptic Gregorian calendar.
func daysFromCivil(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	m := int64(month)
	if m > 2 {
		m -= 3
	} else {
		m += 9
	}
	doy := (153*m+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

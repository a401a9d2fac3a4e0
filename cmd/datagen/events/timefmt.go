package events

import "strconv"

// timeFormat is one way of writing an event time. Every one of them is
// among the formats of configs/ecommerce.yaml.
type timeFormat uint8

const (
	tfClean           timeFormat = iota // 2006-01-02T15:04:05.000Z (rfc3339, the clean rows')
	tfRFC3339Z                          // 2006-01-02T15:04:05Z
	tfRFC3339OffsetMs                   // 2006-01-02T15:04:05.000+02:00
	tfRFC3339Offset                     // 2006-01-02T15:04:05-05:00
	tfSpace                             // 2006-01-02 15:04:05
	tfT                                 // 2006-01-02T15:04:05
	tfSlash                             // 2006/01/02 15:04:05
	tfMonthFirst                        // 01/02/2006 15:04:05
	tfText                              // 02 Jan 2006 15:04:05
	tfUnix                              // 1136214245
	tfUnixMs                            // 1136214245000
	numTimeFormats
)

// keepsMillis reports whether f carries milliseconds; the others carry
// whole seconds.
func (f timeFormat) keepsMillis() bool {
	return f == tfClean || f == tfRFC3339OffsetMs || f == tfUnixMs
}

// offsets are the zone offsets, in minutes, of the rfc3339 times written
// with an offset.
var offsets = []int{120, -300, 330, 540, -180, 60, 0}

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendTime appends the time ms (milliseconds since 1970, UTC) written in
// format f; offsetMin is the zone offset of the two formats with one.
func appendTime(dst []byte, ms int64, f timeFormat, offsetMin int) []byte {
	switch f {
	case tfUnix:
		return strconv.AppendInt(dst, floorDiv(ms, 1000), 10)
	case tfUnixMs:
		return strconv.AppendInt(dst, ms, 10)
	}
	if f != tfRFC3339OffsetMs && f != tfRFC3339Offset {
		offsetMin = 0
	}
	secs := floorDiv(ms, 1000) + int64(offsetMin)*60
	milli := int(ms - floorDiv(ms, 1000)*1000)
	days := floorDiv(secs, 86400)
	sod := int(secs - days*86400)
	y, m, d := civil(days)
	hh, mm, ss := sod/3600, sod/60%60, sod%60
	switch f {
	case tfMonthFirst:
		dst = append2(dst, m)
		dst = append(dst, '/')
		dst = append2(dst, d)
		dst = append(dst, '/')
		dst = append4(dst, y)
	case tfText:
		dst = append2(dst, d)
		dst = append(dst, ' ')
		dst = append(dst, monthNames[m-1]...)
		dst = append(dst, ' ')
		dst = append4(dst, y)
	default:
		sep := byte('-')
		if f == tfSlash {
			sep = '/'
		}
		dst = append4(dst, y)
		dst = append(dst, sep)
		dst = append2(dst, m)
		dst = append(dst, sep)
		dst = append2(dst, d)
	}
	if f == tfSpace || f == tfSlash || f == tfMonthFirst || f == tfText {
		dst = append(dst, ' ')
	} else {
		dst = append(dst, 'T')
	}
	dst = append2(dst, hh)
	dst = append(dst, ':')
	dst = append2(dst, mm)
	dst = append(dst, ':')
	dst = append2(dst, ss)
	switch f {
	case tfClean, tfRFC3339OffsetMs:
		dst = append(dst, '.', byte('0'+milli/100), byte('0'+milli/10%10), byte('0'+milli%10))
	}
	switch f {
	case tfClean, tfRFC3339Z:
		dst = append(dst, 'Z')
	case tfRFC3339OffsetMs, tfRFC3339Offset:
		o := offsetMin
		sign := byte('+')
		if o < 0 {
			sign, o = '-', -o
		}
		dst = append(dst, sign)
		dst = append2(dst, o/60)
		dst = append(dst, ':')
		dst = append2(dst, o%60)
	}
	return dst
}

// civil returns the proleptic Gregorian date of a day count since
// 1970-01-01 (Howard Hinnant's civil_from_days).
func civil(days int64) (year, month, day int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return int(y), int(m), int(d)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10%10), byte('0'+n%10))
}

func append4(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/1000%10), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

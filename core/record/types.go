package record

import (
	"errors"
	"time"
)

const secondsPerDay = 86400

// DaysOf returns the Date value of the calendar day of t in t's location:
// days since 1970-01-01.
func DaysOf(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay)
}

// DateTime returns midnight UTC of the day days after 1970-01-01.
func DateTime(days int32) time.Time {
	return time.Unix(int64(days)*secondsPerDay, 0).UTC()
}

// AppendDateText appends the Date days as ISO text, 2006-01-02.
func AppendDateText(dst []byte, days int32) []byte {
	return DateTime(days).AppendFormat(dst, time.DateOnly)
}

// ErrUUIDSyntax is returned by ParseUUID for text that is not a UUID.
var ErrUUIDSyntax = errors.New("not a UUID")

// ParseUUID parses the canonical text of a UUID, 8-4-4-4-12 hexadecimal
// digits with hyphens (123e4567-e89b-12d3-a456-426614174000), or the same 32
// digits without hyphens, in either case. Braces, a urn:uuid: prefix and
// any other form are refused.
func ParseUUID(s []byte) ([16]byte, error) {
	var u [16]byte
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return u, ErrUUIDSyntax
		}
	case 32:
	default:
		return u, ErrUUIDSyntax
	}
	j := 0
	for i := 0; i < 16; i++ {
		if len(s) == 36 && (j == 8 || j == 13 || j == 18 || j == 23) {
			j++
		}
		hi, ok1 := unhex(s[j])
		lo, ok2 := unhex(s[j+1])
		if !ok1 || !ok2 {
			return u, ErrUUIDSyntax
		}
		u[i] = hi<<4 | lo
		j += 2
	}
	return u, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// AppendUUIDText appends the canonical lower-case text of the 16 bytes u,
// 8-4-4-4-12 with hyphens.
func AppendUUIDText(dst, u []byte) []byte {
	const hex = "0123456789abcdef"
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&15])
	}
	return dst
}

package record

import (
	"errors"
	"fmt"
	"strconv"
)

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
	1000000000, 10000000000, 100000000000, 1000000000000, 10000000000000,
	100000000000000, 1000000000000000, 10000000000000000, 100000000000000000,
	1000000000000000000}

// ErrDecimalRange is returned by ParseDecimal for a value with more digits
// than its precision or scale allow.
var ErrDecimalRange = errors.New("out of range")

// ParseDecimal parses a plain decimal number such as "-19.9" into an
// unscaled int64 with the given scale (digits after the point): with scale
// 2, "19.9" gives 1990. It never rounds: more fractional digits than scale
// (other than trailing zeros) is an error, as is more than precision digits
// in all (precision 0 means 18). Exponents, spaces and thousands separators
// are not accepted.
func ParseDecimal(s string, precision, scale int) (int64, error) {
	return parseDecimal(s, precision, scale)
}

// ParseDecimalBytes is ParseDecimal for text held in bytes, which it does
// not keep: a stage that parses cells in place needs no string for each.
func ParseDecimalBytes(b []byte, precision, scale int) (int64, error) {
	return parseDecimal(b, precision, scale)
}

func parseDecimal[T string | []byte](s T, precision, scale int) (int64, error) {
	if scale < 0 || scale > 18 {
		return 0, fmt.Errorf("decimal %q: scale %d not in [0,18]", s, scale)
	}
	if precision <= 0 || precision > 18 {
		precision = 18
	}
	i := 0
	neg := false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var v int64
	intDigits, fracDigits := 0, 0
	seenDigit, seenPoint := false, false
	tooPrecise := false // a nonzero digit past the scale: reported once the syntax is known good
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			seenDigit = true
			if seenPoint {
				if fracDigits >= scale {
					tooPrecise = tooPrecise || c != '0'
					continue
				}
				fracDigits++
			} else {
				if v == 0 && c == '0' {
					continue
				}
				intDigits++
			}
			v = v*10 + int64(c-'0')
		case c == '.' && !seenPoint:
			seenPoint = true
		default:
			return 0, fmt.Errorf("decimal %q: not a number", s)
		}
	}
	if !seenDigit {
		return 0, fmt.Errorf("decimal %q: not a number", s)
	}
	if tooPrecise {
		return 0, fmt.Errorf("decimal %q: more than %d digits after the point: %w", s, scale, ErrDecimalRange)
	}
	if intDigits > precision-scale {
		return 0, fmt.Errorf("decimal %q: more than %d digits before the point: %w", s, precision-scale, ErrDecimalRange)
	}
	v *= pow10[scale-fracDigits]
	if neg {
		v = -v
	}
	return v, nil
}

// FormatDecimal formats unscaled / 10^scale exactly, e.g. (1990, 2) as "19.90".
func FormatDecimal(unscaled int64, scale int) string {
	return string(AppendDecimal(nil, unscaled, scale))
}

// AppendDecimal appends FormatDecimal(unscaled, scale) to dst.
func AppendDecimal(dst []byte, unscaled int64, scale int) []byte {
	if scale <= 0 {
		return strconv.AppendInt(dst, unscaled, 10)
	}
	u := uint64(unscaled)
	if unscaled < 0 {
		dst = append(dst, '-')
		u = uint64(-unscaled)
	}
	var buf [24]byte
	digits := strconv.AppendUint(buf[:0], u, 10)
	for len(digits) <= scale {
		digits = append([]byte{'0'}, digits...)
	}
	n := len(digits) - scale
	dst = append(dst, digits[:n]...)
	dst = append(dst, '.')
	return append(dst, digits[n:]...)
}

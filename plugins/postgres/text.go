package postgres

import (
	"strings"
	"unicode/utf8"
)

// escapedNote is added to the reason of a reject whose raw text had to be
// escaped, so that a reader knows how to read it back.
const escapedNote = ` [raw text escaped: \xNN is a byte that is not UTF-8 or a NUL, \\ is a backslash]`

// rawIsText says whether s goes into a TEXT column as it is: valid UTF-8
// without NUL bytes; textSafe escapes any other string.
func rawIsText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// textSafe returns s as it can be stored in a TEXT column, which takes
// neither NUL bytes nor invalid UTF-8. Text that needs no change is
// returned as it is (escaped false). Otherwise every byte that is NUL or
// not part of valid UTF-8 becomes \xNN and every backslash \\, so that the
// original bytes can be recovered exactly; nothing is dropped.
func textSafe(s string) (out string, escaped bool) {
	if rawIsText(s) {
		return s, false
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0:
			b.WriteString(`\x00`)
			i++
		case c == '\\':
			b.WriteString(`\\`)
			i++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteString(`\x`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
		}
	}
	return b.String(), true
}

// truncateRunes cuts s to at most n characters, for a VARCHAR(n) column.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

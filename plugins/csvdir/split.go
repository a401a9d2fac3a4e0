package csvdir

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// splitter cuts one physical line into its fields. It keeps its buffers
// between lines, so that a line costs no allocation: the fields it returns
// alias the line or its scratch buffer and are valid until the next call.
type splitter struct {
	delim   byte
	fields  [][]byte
	scratch []byte // unquoted content of fields holding doubled quotes
}

// split returns the fields of line, which holds no line end. When the line
// is not well-formed CSV it returns a description of the problem instead,
// e.g. "unterminated quote in field 3". Quoted fields lose their quotes and
// a doubled quote inside becomes one; nothing is trimmed.
func (sp *splitter) split(line []byte) ([][]byte, string) {
	if !utf8.Valid(line) {
		return nil, fmt.Sprintf("invalid UTF-8 at byte %d", invalidUTF8At(line)+1)
	}
	fields := sp.fields[:0]
	d := sp.delim
	if bytes.IndexByte(line, '"') < 0 {
		// Fast path: no quote anywhere, every delimiter ends a field.
		for {
			i := bytes.IndexByte(line, d)
			if i < 0 {
				break
			}
			fields = append(fields, line[:i:i])
			line = line[i+1:]
		}
		fields = append(fields, line)
		sp.fields = fields
		return fields, ""
	}
	// The unquoted content of all fields fits in len(line) bytes, so the
	// scratch buffer never moves while fields point into it.
	if cap(sp.scratch) < len(line) {
		sp.scratch = make([]byte, 0, len(line))
	}
	scratch := sp.scratch[:0]
	i := 0
	for {
		n := len(fields) + 1 // the field's 1-based number
		if i < len(line) && line[i] == '"' {
			start := i + 1
			j := start
			escaped := false
			for {
				k := bytes.IndexByte(line[j:], '"')
				if k < 0 {
					sp.fields = fields
					return nil, fmt.Sprintf("unterminated quote in field %d", n)
				}
				j += k
				if j+1 < len(line) && line[j+1] == '"' {
					escaped = true
					j += 2
					continue
				}
				break
			}
			field := line[start:j:j]
			if escaped {
				from := len(scratch)
				for rest := field; len(rest) > 0; {
					k := bytes.IndexByte(rest, '"')
					if k < 0 {
						scratch = append(scratch, rest...)
						break
					}
					scratch = append(scratch, rest[:k+1]...)
					rest = rest[k+2:] // skip the second quote of the pair
				}
				field = scratch[from:len(scratch):len(scratch)]
			}
			fields = append(fields, field)
			j++ // past the closing quote
			if j == len(line) {
				break
			}
			if line[j] != d {
				sp.fields = fields
				return nil, fmt.Sprintf("stray character %q after the closing quote of field %d", line[j], n)
			}
			i = j + 1
			continue
		}
		end := len(line)
		if k := bytes.IndexByte(line[i:], d); k >= 0 {
			end = i + k
		}
		field := line[i:end:end]
		if bytes.IndexByte(field, '"') >= 0 {
			sp.fields = fields
			return nil, fmt.Sprintf("stray quote in unquoted field %d", n)
		}
		fields = append(fields, field)
		if end == len(line) {
			break
		}
		i = end + 1
	}
	sp.fields = fields
	sp.scratch = scratch
	return fields, ""
}

// invalidUTF8At returns the index of the first byte of b that is not part
// of valid UTF-8, or -1.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

package kafka

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The error types of the rejects of messages that cannot be parsed.
const (
	// ErrorTypeCSV is a value that is not one well-formed CSV line of the
	// configured columns; the same type as csvdir's.
	ErrorTypeCSV = "CSV_PARSE_ERROR"
	// ErrorTypeJSON is a value that is not one JSON object.
	ErrorTypeJSON = "JSON_PARSE_ERROR"
	// ErrorTypeTooLarge is a value longer than max_message_bytes.
	ErrorTypeTooLarge = "MESSAGE_TOO_LARGE"
)

// csvSplitter cuts one CSV line into fields, reusing its buffers: the
// fields returned alias the line or the scratch buffer and are valid until
// the next call.
type csvSplitter struct {
	delim   byte
	fields  [][]byte
	scratch []byte
}

// split returns the fields of line (a trailing line end is dropped), or a
// description of why it is not well-formed CSV.
func (sp *csvSplitter) split(line []byte) ([][]byte, string) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !utf8.Valid(line) {
		return nil, "invalid UTF-8"
	}
	if bytes.ContainsAny(line, "\r\n") {
		return nil, "more than one line"
	}
	fields := sp.fields[:0]
	d := sp.delim
	if bytes.IndexByte(line, '"') < 0 {
		for {
			i := bytes.IndexByte(line, d)
			if i < 0 {
				break
			}
			fields = append(fields, line[:i:i])
			line = line[i+1:]
		}
		sp.fields = append(fields, line)
		return sp.fields, ""
	}
	if cap(sp.scratch) < len(line) {
		sp.scratch = make([]byte, 0, len(line))
	}
	scratch := sp.scratch[:0] // never grows beyond len(line): fields stay valid
	for n := 1; ; n++ {
		if len(line) > 0 && line[0] == '"' {
			start := len(scratch)
			i := 1
			for {
				k := bytes.IndexByte(line[i:], '"')
				if k < 0 {
					sp.fields = fields
					return nil, fmt.Sprintf("unterminated quote in field %d", n)
				}
				scratch = append(scratch, line[i:i+k]...)
				i += k + 1
				if i < len(line) && line[i] == '"' {
					scratch = append(scratch, '"')
					i++
					continue
				}
				break
			}
			fields = append(fields, scratch[start:len(scratch):len(scratch)])
			line = line[i:]
			if len(line) == 0 {
				break
			}
			if line[0] != d {
				sp.fields = fields
				return nil, fmt.Sprintf("unexpected text after the closing quote of field %d", n)
			}
			line = line[1:]
			continue
		}
		i := bytes.IndexByte(line, d)
		field := line
		if i >= 0 {
			field = line[:i:i]
		}
		if bytes.IndexByte(field, '"') >= 0 {
			sp.fields = fields
			return nil, fmt.Sprintf("stray quote in unquoted field %d", n)
		}
		fields = append(fields, field)
		if i < 0 {
			break
		}
		line = line[i+1:]
	}
	sp.fields = fields
	return fields, ""
}

// jsonObject parses value as one JSON object and returns, for each of
// columns, its member's text: a string member unquoted, null or a missing
// member nil (with null set), any other member its JSON text. problem says
// why value is not a JSON object.
type jsonObject struct {
	members map[string]json.RawMessage
	out     [][]byte
	null    []bool
}

func (j *jsonObject) parse(value []byte, columns []string) (problem string) {
	trimmed := bytes.TrimSpace(value)
	if len(trimmed) == 0 {
		return "empty message, want a JSON object"
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return "invalid JSON"
		}
		return "JSON " + jsonKind(trimmed[0]) + ", want an object"
	}
	clear(j.members)
	if j.members == nil {
		j.members = make(map[string]json.RawMessage, len(columns))
	}
	if err := json.Unmarshal(trimmed, &j.members); err != nil {
		return "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	j.out = j.out[:0]
	j.null = j.null[:0]
	for _, c := range columns {
		m, ok := j.members[c]
		if !ok || string(m) == "null" {
			j.out = append(j.out, nil)
			j.null = append(j.null, true)
			continue
		}
		if m[0] == '"' {
			var s string
			if err := json.Unmarshal(m, &s); err != nil {
				return fmt.Sprintf("member %q: %v", c, err)
			}
			j.out = append(j.out, []byte(s))
		} else {
			j.out = append(j.out, m)
		}
		j.null = append(j.null, false)
	}
	return ""
}

// jsonKind names the kind of the JSON value starting with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

package kafka

import (
	"strings"
	"testing"
)

// A CSV value splits into its fields, quotes removed, or says why it is
// not one well-formed line.
func TestSplitCSV(t *testing.T) {
	for _, tc := range []struct {
		name, line, want, problem string
	}{
		{"plain", "a,b,c", "a|b|c", ""},
		{"empty fields", ",,", "||", ""},
		{"quoted delimiter", `"a,b",c`, "a,b|c", ""},
		{"doubled quote", `"say ""hi""",x`, `say "hi"|x`, ""},
		{"quoted last", `a,"b"`, "a|b", ""},
		{"line end dropped", "a,b\r\n", "a|b", ""},
		{"unterminated quote", `a,"b`, "", "unterminated quote in field 2"},
		{"stray quote", `a,b"c`, "", "stray quote in unquoted field 2"},
		{"text after quote", `"a"b,c`, "", "unexpected text after the closing quote of field 1"},
		{"two lines", "a\nb", "", "more than one line"},
		{"invalid utf-8", "a,\xff", "", "invalid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := csvSplitter{delim: ','}
			fields, problem := sp.split([]byte(tc.line))
			if problem != tc.problem {
				t.Fatalf("problem %q, want %q", problem, tc.problem)
			}
			var got []string
			for _, f := range fields {
				got = append(got, string(f))
			}
			if problem == "" && strings.Join(got, "|") != tc.want {
				t.Errorf("fields %q, want %q", strings.Join(got, "|"), tc.want)
			}
		})
	}
}

// A JSON value must be one object; its members are taken by name.
func TestParseJSON(t *testing.T) {
	cols := []string{"a", "b"}
	for _, tc := range []struct {
		name, value, want, problem string
	}{
		{"strings", `{"a":"x","b":"y"}`, "x|y", ""},
		{"other types as JSON text", `{"a":1.5,"b":[true]}`, "1.5|[true]", ""},
		{"missing and null", `{"b":null}`, "<null>|<null>", ""},
		{"escapes", `{"a":"\u00e9\n","b":""}`, "é\n|", ""},
		{"array", `[1]`, "", "JSON array, want an object"},
		{"string", `"a"`, "", "JSON string, want an object"},
		{"empty", ``, "", "empty message, want a JSON object"},
		{"invalid", `{"a":`, "", "invalid JSON: unexpected end of JSON input"},
		{"not json", `hello`, "", "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var j jsonObject
			problem := j.parse([]byte(tc.value), cols)
			if problem != tc.problem {
				t.Fatalf("problem %q, want %q", problem, tc.problem)
			}
			if problem != "" {
				return
			}
			var got []string
			for i, v := range j.out {
				if j.null[i] {
					got = append(got, "<null>")
				} else {
					got = append(got, string(v))
				}
			}
			if strings.Join(got, "|") != tc.want {
				t.Errorf("fields %q, want %q", strings.Join(got, "|"), tc.want)
			}
		})
	}
}

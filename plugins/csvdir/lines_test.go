package csvdir

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestMalformedLinesRejectedNeighboursKept(t *testing.T) {
	cases := []struct {
		name    string
		bad     string
		wantRaw string // default bad
		reason  string
	}{
		{"too few fields", `1,2`, "", "field count 2, want 3"},
		{"too many fields", `1,2,3,4`, "", "field count 4, want 3"},
		{"unterminated quote", `1,"two,3`, "", "unterminated quote in field 2"},
		{"quote open at line end", `1,2,"three`, "", "unterminated quote in field 3"},
		{"stray quote in unquoted field", `1,tw"o,3`, "", "stray quote in unquoted field 2"},
		{"quote after spaces", `1, "two",3`, "", "stray quote in unquoted field 2"},
		{"text after closing quote", `1,"two"x,3`, "", `stray character 'x' after the closing quote of field 2`},
		{"invalid UTF-8", "1,t\xffo,3", "", "invalid UTF-8 at byte 4"},
		{"line longer than max_line_bytes", "1," + strings.Repeat("x", 40) + ",3", "1," + strings.Repeat("x", 30), "line of 44 bytes, longer than max_line_bytes 32"},
		// The kept text ends before a character cut in two, so that it stays UTF-8.
		{"longer than max_line_bytes, cut inside a character", "1,x" + strings.Repeat("é", 20) + ",3", "1,x" + strings.Repeat("é", 14), "line of 45 bytes, longer than max_line_bytes 32"},
		{"longer than max_line_bytes, cut after a character", "1," + strings.Repeat("é", 20) + ",3", "1," + strings.Repeat("é", 15), "line of 44 bytes, longer than max_line_bytes 32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, "f.csv", csvLines("a,b,c", "1,one,x", tc.bad, "3,three,z"), baseTime)
			src := open(t, fmt.Sprintf("path: %q\nmax_line_bytes: 32", dir), nil)
			g := readUntilCaughtUp(t, src, quick)
			if want := []string{"1|one|x", "3|three|z"}; !slices.Equal(g.fields(), want) {
				t.Errorf("rows %q, want %q", g.fields(), want)
			}
			if len(g.Rows) == 2 && (g.Rows[0].Origin != path+":2" || g.Rows[1].Origin != path+":4") {
				t.Errorf("origins %s, %s; want lines 2 and 4", g.Rows[0].Origin, g.Rows[1].Origin)
			}
			if len(g.Rejects) != 1 {
				t.Fatalf("rejects %+v, want 1", g.Rejects)
			}
			r := g.Rejects[0]
			wantRaw := tc.bad
			if tc.wantRaw != "" {
				wantRaw = tc.wantRaw
			}
			if r.ErrorType != "CSV_PARSE_ERROR" || r.Raw != wantRaw || r.Origin.Source != path || r.Origin.Line != 3 {
				t.Errorf("reject %+v, want CSV_PARSE_ERROR of %q at %s:3", r, wantRaw, path)
			}
			if want := fmt.Sprintf("file %s, line 3: %s", path, tc.reason); r.Reason != want {
				t.Errorf("reason %q, want %q", r.Reason, want)
			}
			if len(g.Positions) != 1 || !g.Positions[0].Done {
				t.Errorf("positions %+v, want the file done", g.Positions)
			}
		})
	}
}

func TestOneRecordPerPhysicalLine(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "f.csv", csvLines("a,b,c", `1,"multi`, `line",3`, "4,5,6"), baseTime)
	src := open(t, fmt.Sprintf("path: %q", dir), nil)
	g := readUntilCaughtUp(t, src, quick)
	if want := []string{"4|5|6"}; !slices.Equal(g.fields(), want) {
		t.Errorf("rows %q, want %q", g.fields(), want)
	}
	var lines []string
	for _, r := range g.Rejects {
		lines = append(lines, fmt.Sprintf("%d:%s", r.Origin.Line, r.Raw))
	}
	if want := []string{`2:1,"multi`, `3:line",3`}; !slices.Equal(lines, want) {
		t.Errorf("rejects %q, want %q (from %s)", lines, want, path)
	}
}

func TestFieldsKeptAsWritten(t *testing.T) {
	dir := t.TempDir()
	content := "\xef\xbb\xbfa,b,c\r\n" + // a BOM and a \r\n line end
		`1,"Widget, ""Large""",x` + "\r\n" +
		"\n" + // empty lines are skipped but counted
		"\r\n" +
		` 2 ,, ` + "\n" + // no trimming, empty stays empty
		`"","",""` + "\n" +
		`3,"",` + "\n" +
		`4,é,"a""b"""` // no final newline: counts once the file is complete
	path := writeFile(t, dir, "f.csv", content, baseTime)
	src := open(t, fmt.Sprintf("path: %q", dir), nil)
	g := readUntilCaughtUp(t, src, quick)
	want := []row{
		{path + ":2", `1,"Widget, ""Large""",x`, []string{"1", `Widget, "Large"`, "x"}},
		{path + ":5", ` 2 ,, `, []string{" 2 ", "", " "}},
		{path + ":6", `"","",""`, []string{"", "", ""}},
		{path + ":7", `3,"",`, []string{"3", "", ""}},
		{path + ":8", `4,é,"a""b"""`, []string{"4", "é", `a"b"`}},
	}
	if len(g.Rejects) > 0 {
		t.Errorf("rejects: %+v", g.Rejects)
	}
	if len(g.Rows) != len(want) {
		t.Fatalf("rows %+v, want %+v", g.Rows, want)
	}
	for i := range want {
		if g.Rows[i].Origin != want[i].Origin || g.Rows[i].Raw != want[i].Raw || !slices.Equal(g.Rows[i].Fields, want[i].Fields) {
			t.Errorf("row %d = %+v, want %+v", i, g.Rows[i], want[i])
		}
	}
	if p := g.Positions; len(p) != 1 || !p[0].Done || p[0].Offset != int64(len(content)) {
		t.Errorf("positions %+v, want done at %d", p, len(content))
	}
}

func TestOtherDelimiter(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "f.tsv", "a\tb\n1,5\t\"x\ty\"\n", baseTime)
	src := open(t, fmt.Sprintf("path: %q\npattern: \"*.tsv\"\ndelimiter: \"\\t\"", dir), nil)
	g := readUntilCaughtUp(t, src, quick)
	if want := []string{"1,5|x\ty"}; !slices.Equal(g.fields(), want) {
		t.Errorf("rows %q, want %q", g.fields(), want)
	}
}

func TestLinesLongerThanTheReadBuffer(t *testing.T) {
	const max = readBufferBytes + 1000
	cases := []struct {
		name    string
		length  int
		crlf    bool
		reject  bool
		lastEOF bool // the long line is the file's last, without a line end
	}{
		{"longer than the buffer, within max", readBufferBytes + 500, false, false, false},
		{"exactly max with \\r\\n", max, true, false, false},
		{"one byte over max", max + 1, false, true, false},
		{"far over max", 3 * readBufferBytes, true, true, false},
		{"over max at EOF without newline", max + 10, false, true, true},
		{"long at EOF without newline", max - 10, false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			long := "1," + strings.Repeat("y", tc.length-2)
			end := "\n"
			if tc.crlf {
				end = "\r\n"
			}
			content := "a,b\n0,before" + end + long + end + "2,after" + end
			if tc.lastEOF {
				content = "a,b\n0,before" + end + "2,after" + end + long
			}
			writeFile(t, dir, "f.csv", content, baseTime)
			src := open(t, fmt.Sprintf("path: %q\nmax_line_bytes: %d", dir, max), nil)
			g := readUntilCaughtUp(t, src, quick)
			wantRows := []string{"0|before", "1|" + long[2:], "2|after"}
			if tc.lastEOF {
				wantRows = []string{"0|before", "2|after", "1|" + long[2:]}
			}
			if tc.reject {
				wantRows = slices.DeleteFunc(wantRows, func(s string) bool { return strings.HasPrefix(s, "1|") })
				if len(g.Rejects) != 1 || g.Rejects[0].Raw != long[:max] || !strings.Contains(g.Rejects[0].Reason, fmt.Sprintf("line of %d bytes", tc.length)) {
					t.Errorf("rejects: %d, want one of the first %d bytes", len(g.Rejects), max)
				}
			} else if len(g.Rejects) != 0 {
				t.Errorf("rejects: %v", g.Rejects[0].Reason)
			}
			if got := g.fields(); !slices.Equal(got, wantRows) {
				t.Errorf("got %d rows, want %d", len(got), len(wantRows))
			}
			if p := g.Positions; len(p) != 1 || !p[0].Done || p[0].Offset != int64(len(content)) {
				t.Errorf("positions %+v, want done at %d", p, len(content))
			}
		})
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		line    string
		want    []string
		problem string
	}{
		{``, []string{""}, ""},
		{`a`, []string{"a"}, ""},
		{`a,b,`, []string{"a", "b", ""}, ""},
		{`,`, []string{"", ""}, ""},
		{`"a,b",c`, []string{"a,b", "c"}, ""},
		{`"",x`, []string{"", "x"}, ""},
		{`x,""`, []string{"x", ""}, ""},
		{`x,"",`, []string{"x", "", ""}, ""},
		{`""""`, []string{`"`}, ""},
		{`"a""b","c""d"`, []string{`a"b`, `c"d`}, ""},
		{`"a"`, []string{"a"}, ""},
		{`"a`, nil, "unterminated quote in field 1"},
		{`"a""`, nil, "unterminated quote in field 1"},
		{`a,b"`, nil, "stray quote in unquoted field 2"},
		{`"a" ,b`, nil, "stray character ' ' after the closing quote of field 1"},
		{"a,\xc3", nil, "invalid UTF-8 at byte 3"},
	}
	sp := splitter{delim: ','}
	for _, tc := range cases {
		fields, problem := sp.split([]byte(tc.line))
		var got []string
		for _, f := range fields {
			got = append(got, string(f))
		}
		if problem != tc.problem || !slices.Equal(got, tc.want) {
			t.Errorf("split(%q) = %q, %q; want %q, %q", tc.line, got, problem, tc.want, tc.problem)
		}
	}
}

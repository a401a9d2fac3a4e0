package csvdir

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

func TestMemoryStaysFlatForALargeFile(t *testing.T) {
	rows := 2_400_000 // about 200 MB
	if testing.Short() {
		rows = 240_000
	}
	dir := t.TempDir()
	size := writeEventsFile(t, filepath.Join(dir, "large.csv"), rows, 7)
	src := open(t, fmt.Sprintf("path: %q", dir), nil)
	req := plugin.ReadRequest{MaxRows: 1 << 30, MaxBytes: 4 << 20}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	baseSys, baseAlloc := ms.HeapSys, ms.HeapAlloc
	var read, batches int
	var peakLive, peakSys uint64
	for {
		res, err := src.Read(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		batches++
		read += res.Batch.Len() + len(res.Rejects)
		if batches%8 == 0 {
			// The live heap while a batch is held: the batch, the read
			// buffer, nothing that grows with the file.
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peakLive = max(peakLive, ms.HeapAlloc-min(baseAlloc, ms.HeapAlloc))
			peakSys = max(peakSys, ms.HeapSys-min(baseSys, ms.HeapSys))
		}
		runtime.KeepAlive(res)
		if res.CaughtUp {
			break
		}
	}
	t.Logf("%d MB in %d batches: live heap at most %.1f MB, heap from the OS %.1f MB more", size>>20, batches, float64(peakLive)/(1<<20), float64(peakSys)/(1<<20))
	if read != rows {
		t.Fatalf("read %d rows, want %d", read, rows)
	}
	if batches < int(size/(8<<20)) {
		t.Errorf("%d batches for %d MB: batches are not bounded by MaxBytes", batches, size>>20)
	}
	const bound = 32 << 20
	if peakLive > bound || peakSys > 2*bound {
		t.Errorf("memory grew with the file: live heap %d MB, heap from the OS %d MB more, for a file of %d MB", peakLive>>20, peakSys>>20, size>>20)
	}
}

// item is a line that becomes a row or a reject, as a test expects it.
type item struct {
	line  int64  // 1-based
	start int64  // byte offset of its first byte
	end   int64  // byte offset after its line end
	raw   string // without the line end
}

// items splits content into its lines by hand and returns those that are
// read as rows or rejects: not empty, not the header.
func items(content string, header bool) []item {
	var out []item
	var off int64
	for n := int64(1); off < int64(len(content)); n++ {
		rest := content[off:]
		raw, _, hasEnd := cutLine(rest)
		start, end := off, off+int64(len(raw))
		if hasEnd {
			end++
		}
		off = end
		text := raw
		if len(text) > 0 && text[len(text)-1] == '\r' && hasEnd {
			text = text[:len(text)-1]
		}
		if n == 1 {
			text = trimBOM(text)
		}
		if text == "" {
			continue
		}
		if header {
			header = false
			continue
		}
		out = append(out, item{line: n, start: start, end: end, raw: text})
	}
	return out
}

func cutLine(s string) (line, rest string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func trimBOM(s string) string {
	if len(s) >= 3 && s[:3] == "\xef\xbb\xbf" {
		return s[3:]
	}
	return s
}

// itemsOf returns the rows and rejects of g in file order.
func itemsOf(g *got) []item {
	var out []item
	for _, r := range g.Rows {
		var line int64
		fmt.Sscanf(r.Origin[strings.LastIndexByte(r.Origin, ':')+1:], "%d", &line)
		out = append(out, item{line: line, raw: r.Raw})
	}
	for _, r := range g.Rejects {
		out = append(out, item{line: r.Origin.Line, raw: r.Raw})
	}
	slices.SortFunc(out, func(a, b item) int { return int(a.line - b.line) })
	return out
}

func TestPositionIsTheOffsetAfterTheLastLineRead(t *testing.T) {
	cases := []struct {
		name    string
		config  string
		content string
	}{
		{"\\n", "", "a,b\n1,x\n2,y\n3,z\n"},
		{"\\r\\n", "", "a,b\r\n1,x\r\n2,y\r\n3,z\r\n"},
		{"no line end at the end", "", "a,b\n1,x\n2,y\n3,z"},
		{"\\r\\n, no line end at the end", "", "a,b\r\n1,x\r\n2,y\r\n3,z"},
		{"empty lines and a reject", "", "\xef\xbb\xbf\na,b\n\n1,x\n\r\nbad\"line\n2,\"y, \"\"q\"\"\"\n\n\n3,z\n\n"},
		{"no header", "header: false\ncolumns: [a, b]", "1,x\n2,y\nbad\n3,z"},
		{"no header, only a line", "header: false\ncolumns: [a, b]", "1,x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "f.csv", tc.content, baseTime)
			cfg := fmt.Sprintf("path: %q\n%s", dir, tc.config)
			want := items(tc.content, !strings.Contains(tc.config, "header: false"))

			// One row or reject per batch: each batch's position is the
			// offset after its line, done once nothing but line ends is left.
			src := open(t, cfg, nil)
			one := plugin.ReadRequest{MaxRows: 1, MaxBytes: 1 << 20}
			var positions []record.Position
			all := &got{}
			for i := 0; ; i++ {
				res, err := src.Read(context.Background(), one)
				if err != nil {
					t.Fatal(err)
				}
				g := &got{}
				g.add(res)
				all.add(res)
				if len(res.Positions) != 1 {
					t.Fatalf("batch %d: positions %+v, want one", i, res.Positions)
				}
				p := res.Positions[0]
				positions = append(positions, p)
				if i < len(want) {
					last := i == len(want)-1 && strings.TrimRight(tc.content[want[i].end:], "\r\n") == ""
					if gi := itemsOf(g); len(gi) != 1 || gi[0].line != want[i].line || gi[0].raw != want[i].raw {
						t.Fatalf("batch %d holds %+v, want line %d %q", i, gi, want[i].line, want[i].raw)
					}
					if p.Offset != want[i].end || p.Done != (last && want[i].end == int64(len(tc.content))) {
						t.Errorf("batch %d (line %d): position %d done %v, want %d done %v", i, want[i].line, p.Offset, p.Done, want[i].end, last && want[i].end == int64(len(tc.content)))
					}
				} else if p.Offset != int64(len(tc.content)) || !p.Done || res.Batch.Len()+len(res.Rejects) != 0 {
					t.Errorf("batch %d after the last line: position %+v, %d items; want done at %d, none", i, p, res.Batch.Len()+len(res.Rejects), len(tc.content))
				}
				if res.CaughtUp {
					break
				}
			}
			if got := itemsOf(all); len(got) != len(want) {
				t.Fatalf("read %d lines, want %d", len(got), len(want))
			}

			// Opened at any of these positions, a new source reads exactly
			// the lines after it; at the start or after the header, all.
			key := positions[0].Partition
			starts := append([]record.Position{{Partition: key}, {Partition: key, Offset: want[0].start}}, positions...)
			for _, p := range starts {
				src := open(t, cfg, []record.Position{p})
				g := readUntilCaughtUp(t, src, quick)
				var rest []item
				for _, it := range want {
					if it.end > p.Offset {
						rest = append(rest, item{line: it.line, raw: it.raw})
					}
				}
				if p.Done {
					rest = nil
				}
				if got := itemsOf(g); !slices.Equal(got, rest) {
					t.Errorf("opened at %+v: read %+v, want %+v", p, got, rest)
				}
				if len(rest) > 0 && (len(g.Positions) != 1 || !g.Positions[0].Done || g.Positions[0].Offset != int64(len(tc.content))) {
					t.Errorf("opened at %+v: positions %+v, want done at %d", p, g.Positions, len(tc.content))
				}
			}
		})
	}
}

func TestReadErrorMidFileResumesWhereItStopped(t *testing.T) {
	dir := t.TempDir()
	lines := eventLines(1, 5000) // about 350 KB: more than one read buffer
	writeFile(t, dir, "a.csv", eventHeader+"\n"+csvLines(lines...), baseTime)
	var logs bytes.Buffer
	var reading *os.File // the file last opened
	src := open(t, fmt.Sprintf("path: %q", dir), nil, func(s *Source) {
		s.log = slog.New(slog.NewTextHandler(&logs, nil))
		s.open = func(name string) (*os.File, error) {
			f, err := os.Open(name)
			reading = f
			return f, err
		}
	})
	req := plugin.ReadRequest{MaxRows: 100, MaxBytes: 1 << 20}
	res, err := src.Read(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	g := &got{}
	g.add(res)
	// The disk fails: every later read of the open file is an error, once
	// the lines already buffered are consumed.
	reading.Close()
	rest := readUntilCaughtUp(t, src, req)
	all := append(g.fields(), rest.fields()...)
	if len(all) != len(lines) {
		t.Fatalf("read %d rows, want %d", len(all), len(lines))
	}
	for i, l := range lines {
		if want := strings.Join(splitTest(l), "|"); all[i] != want {
			t.Fatalf("row %d = %q, want %q", i, all[i], want)
		}
	}
	if !strings.Contains(logs.String(), "cannot read file") || !strings.Contains(logs.String(), "file already closed") {
		t.Errorf("log %q does not tell about the read error", logs.String())
	}
	if !strings.Contains(logs.String(), "problem resolved") {
		t.Errorf("log %q does not tell that the file could be read again", logs.String())
	}
	if p := rest.Positions; len(p) != 1 || !p[0].Done {
		t.Errorf("positions %+v, want the file done", p)
	}
}

func TestOnlyCompleteFilesAreRead(t *testing.T) {
	cases := []struct {
		pattern string
		name    string
		read    bool
	}{
		{"*", "a.csv", true},
		{"*", "a", true},
		{"*", ".a.csv", false},
		{"*", ".", false},
		{"*", "a.csv.tmp", false},
		{"*", "a.csv.part", false},
		{"*", "a.tmp", false},
		{"*", "a.part", false},
		{"*", "a.csv.tmp.x", true},
		{"*.csv", "a.csv", true},
		{"*.csv", "a.csv.bak", false},
		{"*.csv", ".a.csv", false},
		{"*.csv*", "a.csv.part", false},
		{"events-*.csv", "events-1.csv", true},
		{"events-*.csv", "orders-1.csv", false},
	}
	for _, tc := range cases {
		s := settings{pattern: tc.pattern}
		if got := s.eligible(tc.name); got != tc.read {
			t.Errorf("pattern %q, file %q: read %v, want %v", tc.pattern, tc.name, got, tc.read)
		}
	}

	// A producer writes under a temporary name, then renames: the file is
	// read once it has its final name, whole.
	dir := t.TempDir()
	src := open(t, fmt.Sprintf("path: %q\npattern: \"*\"\ncolumns: [a]", dir), nil)
	for _, name := range []string{".a.csv", "a.csv.tmp", "a.csv.part"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("a\n1\n2"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if g := readUntilCaughtUp(t, src, quick); len(g.Rows)+len(g.Rejects)+len(g.Positions) != 0 {
		t.Fatalf("read %q from files still being written", g.fields())
	}
	if err := os.Rename(filepath.Join(dir, "a.csv.part"), filepath.Join(dir, "a.csv")); err != nil {
		t.Fatal(err)
	}
	g := readUntilCaughtUp(t, src, quick)
	if want := []string{"1", "2"}; !slices.Equal(g.fields(), want) || len(g.Positions) != 1 || !g.Positions[0].Done {
		t.Errorf("after the rename: rows %q, positions %+v; want %q, done", g.fields(), g.Positions, want)
	}
}

func TestMismatchingHeaderResumedRejectsEachLineOnce(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "a.csv", "a,x\n1,2\n3,4\n5,6\n", baseTime)
	cfg := fmt.Sprintf("path: %q\ncolumns: [a, b]", dir)
	req := plugin.ReadRequest{MaxRows: 2, MaxBytes: 1 << 20}
	first := open(t, cfg, nil)
	res, err := first.Read(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	g := &got{}
	g.add(res)
	first.Close(context.Background())
	rest := readUntilCaughtUp(t, open(t, cfg, g.Positions), req)
	var lines []int64
	for _, r := range append(g.Rejects, rest.Rejects...) {
		lines = append(lines, r.Origin.Line)
		if r.Origin.Source != path || r.ErrorType != ErrorType || !strings.Contains(r.Reason, `header "a,x" does not match the columns a,b: missing "b"; unexpected "x"`) {
			t.Errorf("reject %+v", r)
		}
	}
	if want := []int64{1, 2, 3, 4}; !slices.Equal(lines, want) || len(g.Rows)+len(rest.Rows) != 0 {
		t.Errorf("rejects of lines %v and %d rows across the restart, want lines %v and no row", lines, len(g.Rows)+len(rest.Rows), want)
	}
	if p := rest.Positions; len(p) != 1 || !p[0].Done {
		t.Errorf("positions %+v, want the file done", p)
	}
}

func TestArchiveFailureRetriedWithoutReadingAgain(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(t.TempDir(), "done")
	a := writeFile(t, dir, "a.csv", "x\n1\n", baseTime)
	var logs bytes.Buffer
	src := open(t, fmt.Sprintf("path: %q\nafter_read: archive\narchive_path: %q\npoll_interval: 10ms", dir, archive), nil, func(s *Source) {
		s.log = slog.New(slog.NewTextHandler(&logs, nil))
	})
	g := readUntilCaughtUp(t, src, quick)
	// The archive folder is replaced by a file: the move fails.
	if err := os.Remove(archive); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(archive, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	commit(t, src, g.Positions)
	if !exists(a) || !strings.Contains(logs.String(), "after_read failed") {
		t.Fatalf("a.csv still there %v, log %q; want it there and the failure logged", exists(a), logs.String())
	}
	wait := plugin.ReadRequest{MaxRows: 10, MaxBytes: 1 << 20, MaxWaitMillis: 30}
	if g := readUntilCaughtUp(t, src, wait); len(g.Rows)+len(g.Positions) != 0 {
		t.Errorf("read %q again while it could not be archived", g.fields())
	}
	// Repaired, a later poll archives it, still without reading it.
	if err := os.Remove(archive); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(archive, 0o755); err != nil {
		t.Fatal(err)
	}
	if g := readUntilCaughtUp(t, src, wait); len(g.Rows)+len(g.Positions) != 0 {
		t.Errorf("read %q again", g.fields())
	}
	if exists(a) || !exists(filepath.Join(archive, "a.csv")) {
		t.Errorf("a.csv not archived once the archive folder is back")
	}
}

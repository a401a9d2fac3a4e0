package csvdir

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// logTo makes a source log into buf.
func logTo(buf *bytes.Buffer) func(*Source) {
	return func(s *Source) { s.log = slog.New(slog.NewTextHandler(buf, nil)) }
}

// readAll reads until caught up and commits what it read.
func readAll(t *testing.T, src plugin.Source) *got {
	t.Helper()
	g := readUntilCaughtUp(t, src, quick)
	commit(t, src, g.Positions)
	return g
}

// userIDs returns the first field of every row.
func (g *got) userIDs() []string {
	ids := make([]string, len(g.Rows))
	for i, r := range g.Rows {
		ids[i] = r.Fields[0]
	}
	return ids
}

// TestSameNameSizeAndTimeOtherBytesIsANewFile is defect 1: a file renamed
// in under the name of one already read, with the same size and the same
// modification time (tar x, rsync -t, cp -p), is a new file and is read,
// both by a running source and after a restart.
func TestSameNameSizeAndTimeOtherBytesIsANewFile(t *testing.T) {
	mtime := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	first := csvLines("user_id,action", "42,view")
	second := csvLines("user_id,action", "99,view") // same size
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(t.TempDir(), "archive")
			cfg := fmt.Sprintf("path: %q\nafter_read: archive\narchive_path: %q", dir, archive)
			writeFile(t, dir, "a.csv", first, mtime)
			src := open(t, cfg, nil)
			g1 := readAll(t, src)
			if !slices.Equal(g1.userIDs(), []string{"42"}) {
				t.Fatalf("first a.csv: rows %q", g1.userIDs())
			}
			writeFile(t, dir, "a.csv", second, mtime)
			if restart {
				src.Close(context.Background())
				src = open(t, cfg, g1.Positions)
			}
			g2 := readAll(t, src)
			if !slices.Equal(g2.userIDs(), []string{"99"}) {
				t.Fatalf("second a.csv, same name, size and mtime: rows %q, want [99]", g2.userIDs())
			}
			if g1.Positions[0].Partition == g2.Positions[0].Partition {
				t.Errorf("both files are partition %q", g1.Positions[0].Partition)
			}
			if exists(filepath.Join(dir, "a.csv")) {
				t.Error("the second a.csv was not archived")
			}
		})
	}
}

// bigFile writes a file of a header and n event lines and returns its path.
func bigFile(t *testing.T, dir, name string, n int) string {
	t.Helper()
	return writeFile(t, dir, name, eventHeader+"\n"+csvLines(eventLines(1, n)...), baseTime)
}

// TestChangeWhileReading is defect 2: lines appended to a file while it is
// read are read once, after the rest; a file that shrinks, or whose bytes
// already read change, is never read again from its start: it stops, is
// logged at ERROR, counted and moved to the quarantine folder, and what
// was read stays.
func TestChangeWhileReading(t *testing.T) {
	const rows = 20000
	tests := []struct {
		name        string
		change      func(t *testing.T, path string)
		wantRows    int // at least, when quarantined: what was read before
		quarantined bool
	}{
		{"append", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(csvLines(eventLines(rows+1, 10)...)); err != nil {
				t.Fatal(err)
			}
		}, rows + 10, false},
		{"truncate", func(t *testing.T, path string) {
			if err := os.Truncate(path, 1000); err != nil {
				t.Fatal(err)
			}
		}, 0, true},
		{"truncate and rewrite longer", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(eventHeader+"\n"+csvLines(eventLines(500000, rows+100)...)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, 0, true},
		{"bytes already read rewritten in place", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte("9"), int64(len(eventHeader)+1)); err != nil {
				t.Fatal(err)
			}
		}, rows, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			quarantine := filepath.Join(t.TempDir(), "quarantine")
			path := bigFile(t, dir, "big.csv", rows)
			var logs bytes.Buffer
			cfg := fmt.Sprintf("path: %q\nquarantine_path: %q\ncolumns: [%s]", dir, quarantine, eventHeader)
			src := open(t, cfg, nil, logTo(&logs))
			req := plugin.ReadRequest{MaxRows: 1000, MaxBytes: 1 << 20}
			g := &got{}
			res, err := src.Read(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			g.add(res)
			tt.change(t, path) // mid-read: 1,000 of 20,000 rows read
			var last plugin.ReadResult
			for range 1000 {
				res, err := src.Read(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				g.add(res)
				if last = res; res.CaughtUp {
					break
				}
			}
			ids := g.userIDs()
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("user %s read twice (%d rows in all)", id, len(ids))
				}
				seen[id] = true
			}
			if tt.quarantined {
				// What was read before the change, and at most about a batch
				// and a read buffer after it.
				if len(ids) < 1000 || len(ids) > rows {
					t.Errorf("%d rows read; want the 1,000 read before the change and no more than the file held", len(ids))
				}
			} else if len(ids) != tt.wantRows {
				t.Errorf("%d rows read, want %d", len(ids), tt.wantRows)
			}
			if len(g.Positions) != 1 || !g.Positions[0].Done {
				t.Errorf("positions %+v, want the file done", g.Positions)
			}
			inQuarantine := exists(filepath.Join(quarantine, "big.csv"))
			if inQuarantine != tt.quarantined || exists(path) == tt.quarantined {
				t.Errorf("in quarantine %v, still in the folder %v; want quarantined %v", inQuarantine, exists(path), tt.quarantined)
			}
			var count int64
			if last.Backlog != nil {
				count = last.Backlog.Quarantined
			}
			if (count == 1) != tt.quarantined {
				t.Errorf("backlog counts %d quarantined files", count)
			}
			if tt.quarantined && (!strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), path)) {
				t.Errorf("no ERROR naming %s in the log:\n%s", path, logs.String())
			}
			// Never read again, also after a restart.
			commit(t, src, g.Positions)
			src.Close(context.Background())
			again := readUntilCaughtUp(t, open(t, cfg, g.Positions), quick)
			if len(again.Rows) != 0 {
				t.Errorf("read %d rows again after a restart", len(again.Rows))
			}
		})
	}
}

// TestGrownFileReadOnAfterARestart: a file read to its end that grows
// later is read on from where it ended, across a restart too; one
// replaced while read in part is quarantined, not read from its start.
func TestGrownFileReadOnAfterARestart(t *testing.T) {
	dir := t.TempDir()
	quarantine := filepath.Join(t.TempDir(), "q")
	cfg := fmt.Sprintf("path: %q\nquarantine_path: %q", dir, quarantine)
	path := writeFile(t, dir, "a.csv", eventHeader+"\n"+csvLines(eventLines(1, 5)...), baseTime)
	g1 := readAll(t, open(t, cfg, nil))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(csvLines(eventLines(6, 3)...))
	f.Close()
	g2 := readAll(t, open(t, cfg, g1.Positions))
	if want := []string{"6", "7", "8"}; !slices.Equal(g2.userIDs(), want) {
		t.Errorf("after the append and a restart, rows %q, want %q", g2.userIDs(), want)
	}
	if g2.Positions[0].Partition != g1.Positions[0].Partition {
		t.Errorf("the grown file is partition %q, was %q", g2.Positions[0].Partition, g1.Positions[0].Partition)
	}

	// b.csv is read in part, then replaced while etl is down.
	writeFile(t, dir, "b.csv", eventHeader+"\n"+csvLines(eventLines(100, 2000)...), baseTime.Add(time.Hour))
	src := open(t, cfg, mergePositions(g1.Positions, g2.Positions))
	res, err := src.Read(context.Background(), plugin.ReadRequest{MaxRows: 500})
	if err != nil {
		t.Fatal(err)
	}
	src.Close(context.Background())
	writeFile(t, dir, "b.csv", eventHeader+"\n"+csvLines(eventLines(9000, 2000)...), baseTime.Add(time.Hour))
	g3 := readAll(t, open(t, cfg, mergePositions(mergePositions(g1.Positions, g2.Positions), res.Positions)))
	if len(g3.Rows) != 0 {
		t.Errorf("the replaced b.csv: %d rows read, want none (quarantined)", len(g3.Rows))
	}
	if !exists(filepath.Join(quarantine, "b.csv")) {
		t.Error("the replaced b.csv is not in the quarantine folder")
	}
}

// TestDuplicateFiles is defect 3: a file byte for byte the same as one
// loaded (or being loaded), under the same or another name, is not loaded
// again by default: it is logged at WARN with both names and archived with
// a tag. duplicates: load loads it again.
func TestDuplicateFiles(t *testing.T) {
	content := csvLines("user_id,action", "1,view", "2,view")
	tests := []struct {
		name       string
		duplicates string
		drop       func(t *testing.T, dir string) // after the first file is read and committed
		together   bool                           // drop the copy beside the first, before any read
		wantRows   int
		wantInArch []string
	}{
		{"same name, after it was archived", "skip", func(t *testing.T, dir string) { writeFile(t, dir, "a.csv", content, baseTime) }, false, 2, []string{"a.csv", "a.duplicate.csv"}},
		{"another name", "skip", func(t *testing.T, dir string) { writeFile(t, dir, "b.csv", content, baseTime.Add(time.Hour)) }, false, 2, []string{"a.csv", "b.duplicate.csv"}},
		{"another name, both at once", "skip", nil, true, 2, []string{"a.csv", "b.duplicate.csv"}},
		{"another name, load", "load", func(t *testing.T, dir string) { writeFile(t, dir, "b.csv", content, baseTime.Add(time.Hour)) }, false, 4, []string{"a.csv", "b.csv"}},
		{"same name, load", "load", func(t *testing.T, dir string) { writeFile(t, dir, "a.csv", content, baseTime) }, false, 4, []string{"a-1.csv", "a.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(t.TempDir(), "archive")
			writeFile(t, dir, "a.csv", content, baseTime)
			if tt.together {
				writeFile(t, dir, "b.csv", content, baseTime.Add(time.Hour))
			}
			var logs bytes.Buffer
			src := open(t, fmt.Sprintf("path: %q\nafter_read: archive\narchive_path: %q\nduplicates: %s", dir, archive, tt.duplicates), nil, logTo(&logs))
			g := readAll(t, src)
			if tt.drop != nil {
				tt.drop(t, dir)
			}
			g2 := readAll(t, src)
			if n := len(g.Rows) + len(g2.Rows); n != tt.wantRows {
				t.Errorf("%d rows read, want %d", n, tt.wantRows)
			}
			entries, _ := os.ReadDir(archive)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, tt.wantInArch) {
				t.Errorf("archive holds %q, want %q", names, tt.wantInArch)
			}
			if rest, _ := os.ReadDir(dir); len(rest) != 0 {
				t.Errorf("%d files left in the folder", len(rest))
			}
			if tt.duplicates == "skip" && !strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("no WARN about the duplicate:\n%s", logs.String())
			}
			if tt.duplicates == "skip" && tt.name != "same name, after it was archived" &&
				(!strings.Contains(logs.String(), filepath.Join(dir, "a.csv")) || !strings.Contains(logs.String(), filepath.Join(dir, "b.csv"))) {
				t.Errorf("the WARN does not name both files:\n%s", logs.String())
			}
		})
	}
}

// TestSymlinksNotFollowed is defect 4: a symbolic link in the folder, to
// a file outside it, is left alone and logged at WARN once, unless
// follow_symlinks is true.
func TestSymlinksNotFollowed(t *testing.T) {
	outside := writeFile(t, t.TempDir(), "secret.csv", csvLines("user_id", "7"), baseTime)
	for _, follow := range []bool{false, true} {
		t.Run(fmt.Sprintf("follow_symlinks=%v", follow), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Symlink(outside, filepath.Join(dir, "passwd.csv")); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			src := open(t, fmt.Sprintf("path: %q\ncolumns: [user_id]\nfollow_symlinks: %v\npoll_interval: 1ms", dir, follow), nil, logTo(&logs))
			g := readUntilCaughtUp(t, src, quick)
			time.Sleep(5 * time.Millisecond)
			g2 := readUntilCaughtUp(t, src, quick)
			rows := len(g.Rows) + len(g2.Rows)
			if follow && rows != 1 || !follow && rows != 0 {
				t.Errorf("%d rows read through the link", rows)
			}
			if warns := strings.Count(logs.String(), "level=WARN"); !follow && warns != 1 {
				t.Errorf("%d warnings about the link, want 1:\n%s", warns, logs.String())
			}
		})
	}
}

// TestUnreadableFilesReported is defect 11: a file that cannot be read is
// logged at WARN and named by the backlog, so that etl run --once can fail
// naming it.
func TestUnreadableFilesReported(t *testing.T) {
	dir := t.TempDir()
	locked := writeFile(t, dir, "a.csv", "x\n1\n", baseTime)
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	src := open(t, fmt.Sprintf("path: %q\ncolumns: [x]", dir), nil, logTo(&logs), func(s *Source) { s.open = permissionOpen })
	res, err := src.Read(context.Background(), quick)
	if err != nil {
		t.Fatal(err)
	}
	if !res.CaughtUp || res.Backlog == nil || !slices.Equal(res.Backlog.Unreadable, []string{locked}) {
		t.Errorf("caught up %v, backlog %+v; want caught up naming %s", res.CaughtUp, res.Backlog, locked)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), locked) {
		t.Errorf("no WARN naming the file:\n%s", logs.String())
	}
	os.Chmod(locked, 0o644)
	g := readUntilCaughtUp(t, src, quick)
	if len(g.Rows) != 1 || g.Positions == nil {
		t.Fatalf("after chmod: %d rows", len(g.Rows))
	}
	res, _ = src.Read(context.Background(), quick)
	if res.Backlog == nil || len(res.Backlog.Unreadable) != 0 {
		t.Errorf("backlog %+v still names the file", res.Backlog)
	}
}

// TestPositionsOfOldKeysResume: positions stored before files were
// fingerprinted (name, size and modification time) still say which files
// are done, so an upgrade reads nothing twice.
func TestPositionsOfOldKeysResume(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "a.csv", csvLines("x", "1", "2"), baseTime)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	old := fmt.Sprintf("a.csv size=%d mtime=%s", fi.Size(), fi.ModTime().UTC().Format(time.RFC3339Nano))
	g := readUntilCaughtUp(t, open(t, fmt.Sprintf("path: %q", dir), []record.Position{{Partition: old, Offset: fi.Size(), Done: true}}), quick)
	if len(g.Rows) != 0 {
		t.Errorf("read %q again", g.fields())
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct {
		key  string
		want keyParts
		ok   bool
	}{
		{"a b.csv size=12 sha256=00ff", keyParts{name: "a b.csv", size: 12, sum: "00ff"}, true},
		{"a.csv size=12 sha256=00ff copy=2", keyParts{name: "a.csv", size: 12, sum: "00ff", copy: 2}, true},
		{"a.csv size=3 mtime=2026-11-25T10:00:00Z", keyParts{name: "a.csv", size: 3, mtime: baseTime}, true},
		{"a.csv", keyParts{}, false},
		{"a.csv size=x sha256=00", keyParts{}, false},
	}
	for _, tt := range tests {
		got, ok := parseKey(tt.key)
		same := got.name == tt.want.name && got.size == tt.want.size && got.sum == tt.want.sum && got.copy == tt.want.copy && got.mtime.Equal(tt.want.mtime)
		if ok != tt.ok || ok && !same {
			t.Errorf("parseKey(%q) = %+v, %v; want %+v, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

// TestNewFileRenamedOverOneBeingRead: a producer renames a new file over
// one being read (or read and not yet committed). The reader holds the old
// one open and reads it to its end; the new one is a new file, read whole.
// Neither is quarantined.
func TestNewFileRenamedOverOneBeingRead(t *testing.T) {
	for _, when := range []string{"while read", "after read, before commit"} {
		t.Run(when, func(t *testing.T) {
			dir := t.TempDir()
			quarantine := filepath.Join(t.TempDir(), "q")
			bigFile(t, dir, "a.csv", 5000)
			src := open(t, fmt.Sprintf("path: %q\nquarantine_path: %q\npoll_interval: 1ms", dir, quarantine), nil)
			req := plugin.ReadRequest{MaxRows: 1000, MaxBytes: 1 << 20}
			g := &got{}
			for {
				res, err := src.Read(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				g.add(res)
				commit(t, src, res.Positions)
				if when == "while read" || res.CaughtUp {
					break
				}
			}
			if when != "while read" {
				// Read, with its Done position not yet committed.
				res, err := src.Read(context.Background(), quick)
				if err != nil {
					t.Fatal(err)
				}
				g.add(res)
			}
			writeFile(t, dir, "a.csv", eventHeader+"\n"+csvLines(eventLines(100000, 7)...), baseTime.Add(time.Hour))
			time.Sleep(2 * time.Millisecond)
			g2 := readUntilCaughtUp(t, src, req)
			commit(t, src, mergePositions(g.Positions, g2.Positions))
			if n := len(g.Rows) + len(g2.Rows); n != 5007 {
				t.Errorf("%d rows read, want 5,000 of the old a.csv and 7 of the new", n)
			}
			if exists(filepath.Join(quarantine, "a.csv")) {
				t.Error("the new a.csv was quarantined")
			}
		})
	}
}

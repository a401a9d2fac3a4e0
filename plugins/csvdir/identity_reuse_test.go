package csvdir

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
)

// Header-only a.csv, then a.csv with rows, then a.csv with other rows.
func TestReusedNameAfterAHeaderOnlyFileIsNew(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprint(restart), func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(t.TempDir(), "archive")
			cfg := fmt.Sprintf("path: %q\nafter_read: archive\narchive_path: %q\ncolumns: [user_id, action]", dir, archive)
			writeFile(t, dir, "a.csv", csvLines("user_id,action"), time.Time{})
			src := open(t, cfg, nil)
			g := readAll(t, src)
			pos := g.Positions
			t.Logf("1: %q %v", g.userIDs(), pos)
			writeFile(t, dir, "a.csv", csvLines("user_id,action", "1,view", "2,view", "3,view"), time.Time{})
			if restart {
				src.Close(context.Background())
				src = open(t, cfg, pos)
			}
			g = readAll(t, src)
			pos = mergePositions(pos, g.Positions)
			t.Logf("2: %q %v", g.userIDs(), g.Positions)
			writeFile(t, dir, "a.csv", csvLines("user_id,action", "99,view"), time.Time{})
			if restart {
				src.Close(context.Background())
				src = open(t, cfg, pos)
			}
			g = readAll(t, src)
			t.Logf("3: %q %v", g.userIDs(), g.Positions)
			if !slices.Equal(g.userIDs(), []string{"99"}) {
				t.Errorf("third a.csv: rows %q, want [99]", g.userIDs())
			}
			writeFile(t, dir, "a.csv", csvLines("user_id,action", "5,view", "6,view", "7,view", "8,view"), time.Time{})
			if restart {
				src.Close(context.Background())
				src = open(t, cfg, pos)
			}
			g = readAll(t, src)
			t.Logf("4: %q %v", g.userIDs(), g.Positions)
			if !slices.Equal(g.userIDs(), []string{"5", "6", "7", "8"}) {
				t.Errorf("fourth a.csv: rows %q, want [5 6 7 8]", g.userIDs())
			}
		})
	}
}

// a.csv queued behind a big file is renamed to c.csv before it is opened.
func TestFileRenamedWhileQueuedIsReadOnce(t *testing.T) {
	for _, mode := range []string{"keep", "archive", "delete"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(t.TempDir(), "archive")
			cfg := fmt.Sprintf("path: %q\nafter_read: %s\ncolumns: [user_id, action]\npoll_interval: 10ms", dir, mode)
			if mode == "archive" {
				cfg += fmt.Sprintf("\narchive_path: %q", archive)
			}
			var buf bytes.Buffer
			big := []string{"user_id,action"}
			for i := 0; i < 5000; i++ {
				big = append(big, fmt.Sprintf("%d,big", i))
			}
			writeFile(t, dir, "big.csv", csvLines(big...), baseTime)
			writeFile(t, dir, "a.csv", csvLines("user_id,action", "a42,view"), baseTime.Add(time.Minute))
			src := open(t, cfg, nil, logTo(&buf))
			res, err := src.Read(context.Background(), quickN(100))
			if err != nil {
				t.Fatal(err)
			}
			g := &got{}
			g.add(res)
			if err := os.Rename(filepath.Join(dir, "a.csv"), filepath.Join(dir, "c.csv")); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			for i := 0; i < 200; i++ {
				res, err := src.Read(context.Background(), quickN(100))
				if err != nil {
					t.Fatal(err)
				}
				g.add(res)
				commit(t, src, res.Positions)
				if res.CaughtUp {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
			g2 := readAll(t, src)
			ids := append(g.userIDs(), g2.userIDs()...)
			if !slices.Contains(ids, "a42") {
				t.Errorf("row 42 of a.csv renamed to c.csv while queued never read; %d rows; c.csv exists %v; archive %v", len(ids), exists(filepath.Join(dir, "c.csv")), lsdir(archive))
			}
			t.Log(buf.String())
		})
	}
}

func quickN(n int) plugin.ReadRequest { return plugin.ReadRequest{MaxRows: n, MaxBytes: 1 << 20} }

func lsdir(d string) []string {
	es, _ := os.ReadDir(d)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// A shrunk file whose quarantine move fails is read again from its start
// after a restart.
func TestQuarantineMoveFailureNeverReadsAgain(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	cfg := fmt.Sprintf("path: %q\nheader: false\ncolumns: [user_id, action]\nquarantine_path: %q", dir, filepath.Join(blocker, "q"))
	var lines []string
	for i := 0; i < 10; i++ {
		lines = append(lines, fmt.Sprintf("%d,view", i))
	}
	path := writeFile(t, dir, "a.csv", csvLines(lines...), time.Time{})
	src := open(t, cfg, nil)
	res, err := src.Read(context.Background(), quickN(5))
	if err != nil {
		t.Fatal(err)
	}
	g := &got{}
	g.add(res)
	commit(t, src, res.Positions)
	pos := g.Positions
	src.Close(context.Background())
	// crash; the file is truncated to its first 3 lines
	os.WriteFile(path, []byte(csvLines(lines[:3]...)), 0o644)
	var buf bytes.Buffer
	src = open(t, cfg, pos, logTo(&buf))
	g2 := readAll(t, src)
	pos = mergePositions(pos, g2.Positions)
	t.Logf("after 1st restart: rows %q positions %v", g2.userIDs(), pos)
	src.Close(context.Background())
	src = open(t, cfg, pos, logTo(&buf))
	g3 := readAll(t, src)
	t.Logf("after 2nd restart: rows %q", g3.userIDs())
	all := append(append(g.userIDs(), g2.userIDs()...), g3.userIDs()...)
	if len(all) != 5 {
		t.Errorf("rows %q, want the 5 committed once", all)
	}
	t.Log(buf.String())
}

func TestReusedNameAfterAnEmptyFileIsNew(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf("path: %q\nheader: false\ncolumns: [user_id, action]\nafter_read: delete", dir)
	writeFile(t, dir, "a.csv", "", time.Time{})
	src := open(t, cfg, nil)
	readAll(t, src)
	writeFile(t, dir, "a.csv", csvLines("1,view", "2,view", "3,view"), time.Time{})
	t.Logf("2: %q", readAll(t, src).userIDs())
	writeFile(t, dir, "a.csv", csvLines("99,view"), time.Time{})
	g := readAll(t, src)
	t.Logf("3: %q exists=%v", g.userIDs(), exists(filepath.Join(dir, "a.csv")))
	if len(g.Rows) != 1 {
		t.Error("third a.csv lost")
	}
}

package csvdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

func TestFilesArrivingWhileRunning(t *testing.T) {
	dir := t.TempDir()
	src := open(t, fmt.Sprintf("path: %q\ncolumns: [a, b]\nheader: false\npoll_interval: 20ms", dir), nil)
	wait := plugin.ReadRequest{MaxRows: 100, MaxBytes: 1 << 20, MaxWaitMillis: 150}

	res, err := src.Read(context.Background(), wait)
	if err != nil {
		t.Fatal(err)
	}
	if res.Batch.Len() != 0 || len(res.Positions) != 0 || !res.CaughtUp {
		t.Fatalf("empty folder: %d rows, positions %v, caught up %v; want nothing, caught up", res.Batch.Len(), res.Positions, res.CaughtUp)
	}

	// A file arrives while Read waits: the same Read returns it.
	go func() {
		time.Sleep(50 * time.Millisecond)
		writeFile(t, dir, "one.csv", "1,x\n2,y\n", time.Time{})
	}()
	res, err = src.Read(context.Background(), plugin.ReadRequest{MaxRows: 100, MaxBytes: 1 << 20, MaxWaitMillis: 1000})
	if err != nil {
		t.Fatal(err)
	}
	g := &got{}
	g.add(res)
	if want := []string{"1|x", "2|y"}; !slices.Equal(g.fields(), want) {
		t.Fatalf("rows %q, want %q", g.fields(), want)
	}
	if !res.CaughtUp || len(res.Positions) != 1 || !res.Positions[0].Done {
		t.Errorf("caught up %v, positions %+v; want caught up, one file done", res.CaughtUp, res.Positions)
	}

	// Another file, and the first is never read again.
	writeFile(t, dir, "two.csv", "3,z\n", time.Time{})
	g = readUntilCaughtUp(t, src, wait)
	if want := []string{"3|z"}; !slices.Equal(g.fields(), want) {
		t.Errorf("rows %q, want %q", g.fields(), want)
	}
	// Files still being written are not read.
	for _, name := range []string{".hidden.csv", "three.csv.tmp", "three.csv.part", "notes.txt"} {
		writeFile(t, dir, name, "9,9\n", time.Time{})
	}
	g = readUntilCaughtUp(t, src, quick)
	if len(g.Rows)+len(g.Rejects) != 0 {
		t.Errorf("read %q from files that are not complete CSV files", g.fields())
	}
}

func TestManyFilesAtOnce(t *testing.T) {
	dir := t.TempDir()
	const files = 60
	var want []string
	for i := range files {
		// Names in the opposite order of their times: order is by time.
		name := fmt.Sprintf("f%03d.csv", files-i)
		writeFile(t, dir, name, csvLines("a,b", fmt.Sprintf("%d,1", i), fmt.Sprintf("%d,2", i)), baseTime.Add(time.Duration(i)*time.Second))
		want = append(want, fmt.Sprintf("%d|1", i), fmt.Sprintf("%d|2", i))
	}
	// Same time: by name.
	writeFile(t, dir, "z2.csv", "a,b\nz,2\n", baseTime.Add(time.Hour))
	writeFile(t, dir, "z1.csv", "a,b\nz,1\n", baseTime.Add(time.Hour))
	want = append(want, "z|1", "z|2")

	src := open(t, fmt.Sprintf("path: %q", dir), nil)
	req := plugin.ReadRequest{MaxRows: 25, MaxBytes: 1 << 20}
	g := readUntilCaughtUp(t, src, req)
	if !slices.Equal(g.fields(), want) {
		t.Errorf("rows %q\nwant %q", g.fields(), want)
	}
	if len(g.Positions) != files+2 {
		t.Errorf("%d partitions, want %d", len(g.Positions), files+2)
	}
	for _, p := range g.Positions {
		if !p.Done {
			t.Errorf("partition %s not done", p.Partition)
		}
	}
	if g.Batches != 5 { // 124 rows by 25
		t.Errorf("%d batches, want 5", g.Batches)
	}
}

func TestMaxFilesPerBatch(t *testing.T) {
	dir := t.TempDir()
	for i := range 7 {
		writeFile(t, dir, fmt.Sprintf("f%d.csv", i), fmt.Sprintf("a\nx%d\n", i), baseTime.Add(time.Duration(i)*time.Second))
	}
	writeFile(t, dir, "g.csv", "a\n", baseTime.Add(time.Minute)) // header only: touched, no rows
	src := open(t, fmt.Sprintf("path: %q\nmax_files_per_batch: 3", dir), nil)
	var sizes []int
	for {
		res, err := src.Read(context.Background(), quick)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Positions) > 3 {
			t.Errorf("batch touched %d files", len(res.Positions))
		}
		sizes = append(sizes, len(res.Positions))
		if res.CaughtUp {
			break
		}
	}
	if want := []int{3, 3, 2}; !slices.Equal(sizes, want) {
		t.Errorf("files per batch %v, want %v", sizes, want)
	}
}

func TestResumeMidFile(t *testing.T) {
	cases := []struct {
		name   string
		config string
		header string
	}{
		{"with header", "", eventHeader + "\n"},
		{"reordered header", "columns: [user_id, action, product_id, product_name, price, event_time, session_id]", "session_id,event_time,price,product_name,product_id,action,user_id\n"},
		{"without header", "header: false\ncolumns: [user_id, action, product_id, product_name, price, event_time, session_id]", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			lines := eventLines(1000, 95)
			lines[40] = `broken,"line` // a reject in the middle
			body := csvLines(lines...)
			if tc.header != "" && strings.HasPrefix(tc.header, "session_id") {
				var re []string
				for _, l := range lines {
					if strings.HasPrefix(l, "broken") {
						re = append(re, l)
						continue
					}
					f := splitTest(l)
					slices.Reverse(f)
					re = append(re, joinCSV(f))
				}
				body = csvLines(re...)
			}
			path := writeFile(t, dir, "big.csv", tc.header+body, baseTime)
			cfg := fmt.Sprintf("path: %q\n%s", dir, tc.config)
			req := plugin.ReadRequest{MaxRows: 30, MaxBytes: 1 << 20}

			// The first instance reads two batches, which are committed.
			first := open(t, cfg, nil)
			committed := &got{}
			for range 2 {
				res, err := first.Read(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if res.CaughtUp || len(res.Positions) != 1 || res.Positions[0].Done {
					t.Fatalf("batch: caught up %v, positions %+v; want more to come", res.CaughtUp, res.Positions)
				}
				committed.add(res)
			}
			// A third batch is read but not committed: the crash loses it.
			if _, err := first.Read(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			first.Close(context.Background())

			second := open(t, cfg, committed.Positions)
			rest := readUntilCaughtUp(t, second, req)
			all := append(committed.Rows, rest.Rows...)
			if len(all) != 94 || len(committed.Rejects)+len(rest.Rejects) != 1 {
				t.Fatalf("%d rows and %d rejects across the restart, want 94 and 1", len(all), len(committed.Rejects)+len(rest.Rejects))
			}
			first1 := 1
			if tc.header != "" {
				first1 = 2
			}
			n := 0
			for i, l := range lines {
				if strings.HasPrefix(l, "broken") {
					continue
				}
				r := all[n]
				n++
				if want := fmt.Sprintf("%s:%d", path, first1+i); r.Origin != want {
					t.Fatalf("row %d from %s, want %s", n, r.Origin, want)
				}
				if got := strings.Join(r.Fields, ","); got != strings.Join(splitTest(l), ",") {
					t.Fatalf("row %d = %q, want the fields of %q", n, got, l)
				}
			}
			if p := rest.Positions; len(p) != 1 || !p[0].Done || p[0].Partition != committed.Positions[0].Partition {
				t.Errorf("positions after the restart %+v", p)
			}
		})
	}
}

// splitTest splits an event line of the tests into its fields.
func splitTest(l string) []string {
	sp := splitter{delim: ','}
	fields, _ := sp.split([]byte(l))
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = string(f)
	}
	return out
}

func joinCSV(fields []string) string {
	for i, f := range fields {
		if strings.ContainsAny(f, `,"`) {
			fields[i] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
	}
	return strings.Join(fields, ",")
}

func TestHeaderVersusColumns(t *testing.T) {
	cases := []struct {
		name     string
		config   string
		files    []string // contents, oldest first
		schema   []string
		rows     []string
		rejects  []string // "line: reason fragment"
		rejected int
		badFile  int // the file the rejects come from
	}{
		{
			name:   "columns learnt from the oldest file",
			files:  []string{"b,a\n1,2\n", "a,b\n3,4\n"},
			schema: []string{"b", "a"},
			rows:   []string{"1|2", "4|3"},
		},
		{
			name:   "columns given, header in another order",
			config: "columns: [a, b, c]",
			files:  []string{"c,a,b\n3,1,2\n", " a , b , c \n1,2,3\n"},
			schema: []string{"a", "b", "c"},
			rows:   []string{"1|2|3", "1|2|3"},
		},
		{
			name:     "header naming other columns",
			config:   "columns: [a, b, c]",
			files:    []string{"a,b,d,e\n1,2,3,4\n1,2\n", "a,b,c\n5,6,7\n"},
			schema:   []string{"a", "b", "c"},
			rows:     []string{"5|6|7"},
			rejects:  []string{`1: header "a,b,d,e" does not match the columns a,b,c: missing "c"; unexpected "d", "e"`, "2: missing", "3: missing"},
			rejected: 3,
		},
		{
			name:     "learnt header, later file with a repeated column",
			files:    []string{"a,b\n1,2\n", "a,a\n3,4\n"},
			schema:   []string{"a", "b"},
			rows:     []string{"1|2"},
			rejects:  []string{`1: missing "b"; repeated "a"`, `2: repeated "a"`},
			rejected: 2,
			badFile:  1,
		},
		{
			name:     "malformed header",
			config:   "columns: [a, b]",
			files:    []string{"a,\"b\n1,2\n"},
			schema:   []string{"a", "b"},
			rejects:  []string{"1: malformed header: unterminated quote in field 2", "2: malformed header"},
			rejected: 2,
		},
		{
			name:   "header false: the first line is data",
			config: "header: false\ncolumns: [a, b]",
			files:  []string{"a,b\n1,2\n"},
			schema: []string{"a", "b"},
			rows:   []string{"a|b", "1|2"},
		},
		{
			name:   "header only and empty files",
			config: "columns: [a]",
			files:  []string{"a\n", "", "\n\na\n\n", "a\n1\n"},
			schema: []string{"a"},
			rows:   []string{"1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var paths []string
			for i, content := range tc.files {
				paths = append(paths, writeFile(t, dir, fmt.Sprintf("f%d.csv", i), content, baseTime.Add(time.Duration(i)*time.Second)))
			}
			src, schema := configure(t, fmt.Sprintf("path: %q\n%s", dir, tc.config))
			if !slices.Equal(schema.Names(), tc.schema) {
				t.Errorf("schema %v, want %v", schema.Names(), tc.schema)
			}
			for _, f := range schema.Fields {
				if f.Type != record.String || f.Nullable {
					t.Errorf("field %+v, want a String that is not nullable", f)
				}
			}
			if err := src.Open(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			g := readUntilCaughtUp(t, src, quick)
			if !slices.Equal(g.fields(), tc.rows) {
				t.Errorf("rows %q, want %q", g.fields(), tc.rows)
			}
			if len(g.Rejects) != tc.rejected {
				t.Fatalf("%d rejects %+v, want %d", len(g.Rejects), g.Rejects, tc.rejected)
			}
			for i, w := range tc.rejects {
				r := g.Rejects[i]
				line, frag, _ := strings.Cut(w, ": ")
				if fmt.Sprint(r.Origin.Line) != line || !strings.Contains(r.Reason, frag) || !strings.Contains(r.Reason, paths[tc.badFile]) || r.Origin.Source != paths[tc.badFile] || r.ErrorType != ErrorType {
					t.Errorf("reject %d = %+v, want line %s of %s and %q", i, r, line, paths[tc.badFile], frag)
				}
			}
			if len(g.Positions) != len(tc.files) {
				t.Errorf("positions %+v, want one per file", g.Positions)
			}
			for _, p := range g.Positions {
				if !p.Done {
					t.Errorf("position %+v, want every file done (a mismatching header included)", p)
				}
			}
		})
	}
}

// commit acknowledges positions as the engine does after a commit.
func commit(t *testing.T, src plugin.Source, ps []record.Position) {
	t.Helper()
	if err := src.Ack(context.Background(), ps); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestAfterReadOnlyAfterAck(t *testing.T) {
	for _, mode := range []string{"archive", "delete"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			archive := filepath.Join(t.TempDir(), "done")
			cfg := fmt.Sprintf("path: %q\nafter_read: %s\n", dir, mode)
			if mode == "archive" {
				cfg += fmt.Sprintf("archive_path: %q\n", archive)
			}
			a := writeFile(t, dir, "a.csv", eventHeader+"\n"+csvLines(eventLines(1, 50)...), baseTime)
			b := writeFile(t, dir, "b.csv", eventHeader+"\n"+csvLines(eventLines(100, 10)...), baseTime.Add(time.Second))
			src := open(t, cfg, nil)

			// The first batch ends inside a.csv; the second finishes a.csv and b.csv.
			req := plugin.ReadRequest{MaxRows: 40, MaxBytes: 1 << 20}
			res1, err := src.Read(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			res2, err := src.Read(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res2.Positions) != 2 || !res2.Positions[0].Done || !res2.Positions[1].Done || !res2.CaughtUp {
				t.Fatalf("second batch positions %+v, caught up %v", res2.Positions, res2.CaughtUp)
			}
			if !exists(a) || !exists(b) {
				t.Fatal("files touched before any Ack")
			}
			commit(t, src, res1.Positions)
			if !exists(a) {
				t.Fatal("a.csv touched on the Ack of a position that is not done")
			}
			// The crash: the second batch is committed, but its Ack never
			// comes. A new instance archives or deletes without reading.
			src.Close(context.Background())
			next := open(t, cfg, mergePositions(slices.Clone(res1.Positions), res2.Positions))
			if exists(a) || exists(b) {
				t.Error("committed files still in the folder after Open")
			}
			if mode == "archive" && (!exists(filepath.Join(archive, "a.csv")) || !exists(filepath.Join(archive, "b.csv"))) {
				t.Error("committed files not in the archive")
			}
			if g := readUntilCaughtUp(t, next, quick); len(g.Rows)+len(g.Rejects)+len(g.Positions) != 0 {
				t.Errorf("read %d rows again after the restart", len(g.Rows))
			}

			// A reused name: a new a.csv is read, archived beside the old one.
			a2 := writeFile(t, dir, "a.csv", eventHeader+"\n"+csvLines(eventLines(500, 3)...), baseTime.Add(time.Hour))
			g := readUntilCaughtUp(t, next, quick)
			if len(g.Rows) != 3 || !exists(a2) {
				t.Fatalf("new a.csv: %d rows, still there %v; want 3, yes", len(g.Rows), exists(a2))
			}
			commit(t, next, g.Positions)
			if exists(a2) {
				t.Error("new a.csv still there after its Ack")
			}
			if mode == "archive" && !exists(filepath.Join(archive, "a-1.csv")) {
				t.Error("new a.csv not archived as a-1.csv")
			}
		})
	}
}

func TestAckSparesANewFileUnderTheSameName(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "a.csv", "x\n1\n", baseTime)
	src := open(t, fmt.Sprintf("path: %q\nafter_read: delete", dir), nil)
	g := readUntilCaughtUp(t, src, quick)
	// Before the Ack, a producer replaces a.csv with a new file.
	writeFile(t, dir, "a.csv", "x\n2\n", baseTime.Add(time.Minute))
	commit(t, src, g.Positions)
	if !exists(path) {
		t.Fatal("the Ack of the old a.csv deleted the new one")
	}
	g = readUntilCaughtUp(t, src, quick)
	if want := []string{"2"}; !slices.Equal(g.fields(), want) {
		t.Errorf("rows of the new a.csv %q, want %q", g.fields(), want)
	}
	if len(g.Positions) != 1 || g.Positions[0].Partition == "" {
		t.Fatalf("positions %+v", g.Positions)
	}
}

func TestReusedNameReadAsNew(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.csv", "x\n1\n", baseTime)
	cfg := fmt.Sprintf("path: %q", dir)
	src := open(t, cfg, nil)
	g1 := readUntilCaughtUp(t, src, quick)
	src.Close(context.Background())

	// Same name, same size, another modification time, after a restart.
	writeFile(t, dir, "a.csv", "x\n2\n", baseTime.Add(time.Second))
	src = open(t, cfg, g1.Positions)
	g2 := readUntilCaughtUp(t, src, quick)
	if want := []string{"2"}; !slices.Equal(g2.fields(), want) {
		t.Errorf("rows %q, want %q", g2.fields(), want)
	}
	if g1.Positions[0].Partition == g2.Positions[0].Partition {
		t.Errorf("both files are partition %q", g1.Positions[0].Partition)
	}
	// The same file again (same name, size and time) is not read again.
	src.Close(context.Background())
	src = open(t, cfg, mergePositions(g1.Positions, g2.Positions))
	if g := readUntilCaughtUp(t, src, quick); len(g.Rows) != 0 {
		t.Errorf("read %q again", g.fields())
	}
}

// permissionOpen opens files as an unprivileged user would: a file without
// read permission cannot be opened. Tests run as root too, where os.Open
// alone ignores permissions.
func permissionOpen(name string) (*os.File, error) {
	fi, err := os.Stat(name)
	if err == nil && fi.Mode().Perm()&0o444 == 0 {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	return os.Open(name)
}

func TestUnreadableFileRetriedNeverDone(t *testing.T) {
	dir := t.TempDir()
	locked := writeFile(t, dir, "a.csv", "x\n1\n", baseTime)
	writeFile(t, dir, "b.csv", "x\n2\n", baseTime.Add(time.Second))
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg := fmt.Sprintf("path: %q\ncolumns: [x]\nafter_read: delete\npoll_interval: 10ms", dir)
	src := open(t, cfg, nil, func(s *Source) {
		s.open = permissionOpen
		s.log = slog.New(slog.NewTextHandler(&logs, nil))
	})

	// The other file goes on; the unreadable one is logged, not done.
	g := readUntilCaughtUp(t, src, plugin.ReadRequest{MaxRows: 10, MaxBytes: 1 << 20, MaxWaitMillis: 50})
	if want := []string{"2"}; !slices.Equal(g.fields(), want) {
		t.Errorf("rows %q, want %q", g.fields(), want)
	}
	for _, p := range g.Positions {
		if strings.HasPrefix(p.Partition, "a.csv") {
			t.Errorf("position of the unreadable file: %+v", p)
		}
	}
	if !strings.Contains(logs.String(), "cannot read file") || !strings.Contains(logs.String(), "permission denied") {
		t.Errorf("log %q does not tell about the unreadable file", logs.String())
	}
	// Polls go on without logging it again.
	logged := logs.Len()
	readUntilCaughtUp(t, src, plugin.ReadRequest{MaxRows: 10, MaxBytes: 1 << 20, MaxWaitMillis: 50})
	if logs.Len() != logged {
		t.Errorf("logged again: %q", logs.String()[logged:])
	}
	commit(t, src, g.Positions)
	if !exists(locked) {
		t.Fatal("the unreadable file was deleted")
	}

	// Once readable, a later poll reads it.
	if err := os.Chmod(locked, 0o644); err != nil {
		t.Fatal(err)
	}
	g = readUntilCaughtUp(t, src, plugin.ReadRequest{MaxRows: 10, MaxBytes: 1 << 20, MaxWaitMillis: 50})
	if want := []string{"1"}; !slices.Equal(g.fields(), want) {
		t.Errorf("rows after chmod %q, want %q", g.fields(), want)
	}
	if len(g.Positions) != 1 || !g.Positions[0].Done {
		t.Errorf("positions %+v, want a.csv done", g.Positions)
	}
}

func TestReadHonoursCancel(t *testing.T) {
	dir := t.TempDir()
	src := open(t, fmt.Sprintf("path: %q\ncolumns: [a]", dir), nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		_, err := src.Read(ctx, plugin.ReadRequest{MaxRows: 10, MaxBytes: 1 << 20, MaxWaitMillis: 60000})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read did not return after its context was cancelled")
	}
}

func TestBatchClosedByTimeAfterFirstRow(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.csv", "x\n1\n", baseTime)
	src := open(t, fmt.Sprintf("path: %q\npoll_interval: 10ms", dir), nil)
	// A file arriving before the batch's time is up joins the batch.
	go func() {
		time.Sleep(30 * time.Millisecond)
		writeFile(t, dir, "b.csv", "x\n2\n", baseTime.Add(time.Second))
	}()
	res, err := src.Read(context.Background(), plugin.ReadRequest{MaxRows: 10, MaxBytes: 1 << 20, MaxWaitMillis: 1000})
	if err != nil {
		t.Fatal(err)
	}
	g := &got{}
	g.add(res)
	if want := []string{"1", "2"}; !slices.Equal(g.fields(), want) || !res.CaughtUp || len(res.Positions) != 2 {
		t.Errorf("rows %q, caught up %v, positions %+v; want both files in one batch", g.fields(), res.CaughtUp, res.Positions)
	}
}

func TestBatchClosedByBytes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.csv", eventHeader+"\n"+csvLines(eventLines(1, 1000)...), baseTime)
	src := open(t, fmt.Sprintf("path: %q", dir), nil)
	req := plugin.ReadRequest{MaxRows: 100000, MaxBytes: 8 << 10}
	var rows int
	for {
		res, err := src.Read(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Batch.Size() > req.MaxBytes+200 {
			t.Errorf("batch of %d bytes, MaxBytes %d", res.Batch.Size(), req.MaxBytes)
		}
		rows += res.Batch.Len()
		if res.CaughtUp {
			break
		}
	}
	if rows != 1000 {
		t.Errorf("%d rows, want 1000", rows)
	}
}

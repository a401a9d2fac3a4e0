package csvdir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
	"github.com/seed-etl/etl/core/record"
)

// backlogFolder writes three files of a header and n rows each, and
// returns their partition keys and sizes.
func backlogFolder(t *testing.T, dir string, rows int) (keys []string, sizes []int64) {
	t.Helper()
	for i := range 3 {
		content := "a\n"
		for r := range rows {
			content += fmt.Sprintf("x%d-%d\n", i, r)
		}
		path := writeFile(t, dir, fmt.Sprintf("f%d.csv", i), content, baseTime.Add(time.Duration(i)*time.Second))
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, partitionKey(fi.Name(), fi.Size(), sha(content)))
		sizes = append(sizes, fi.Size())
	}
	return keys, sizes
}

func TestBacklogFromCommittedPositions(t *testing.T) {
	dir := t.TempDir()
	keys, sizes := backlogFolder(t, dir, 10)
	all := sizes[0] + sizes[1] + sizes[2]
	tests := []struct {
		name      string
		positions []record.Position
		want      plugin.Backlog
	}{
		{"nothing committed", nil, plugin.Backlog{Partitions: 3, Bytes: all}},
		{"one file done", []record.Position{{Partition: keys[0], Offset: sizes[0], Done: true}}, plugin.Backlog{Partitions: 2, Bytes: all - sizes[0]}},
		{"one file in part", []record.Position{{Partition: keys[1], Offset: 5}}, plugin.Backlog{Partitions: 3, Bytes: all - 5}},
		{"all done", []record.Position{
			{Partition: keys[0], Offset: sizes[0], Done: true},
			{Partition: keys[1], Offset: sizes[1], Done: true},
			{Partition: keys[2], Offset: sizes[2], Done: true},
		}, plugin.Backlog{}},
		{"archived files are not waiting", []record.Position{{Partition: "gone.csv size=1 mtime=2026-01-01T00:00:00Z", Offset: 1, Done: true}}, plugin.Backlog{Partitions: 3, Bytes: all}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, _ := configure(t, fmt.Sprintf("path: %q\nheader: true\ncolumns: [a]", dir))
			got, err := src.(plugin.BacklogReporter).Backlog(context.Background(), tt.positions)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Backlog = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestBacklogOfAMissingFolder: with create true, a folder not made yet
// holds nothing waiting, and asking does not make it.
func TestBacklogOfAMissingFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "not-yet")
	src, _ := configure(t, fmt.Sprintf("path: %q\nheader: false\ncolumns: [a]\ncreate: true", missing))
	got, err := src.(plugin.BacklogReporter).Backlog(context.Background(), nil)
	if err != nil || !reflect.DeepEqual(got, plugin.Backlog{}) {
		t.Errorf("Backlog = %+v, %v; want zero, no error", got, err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("Backlog created the folder: it must change nothing")
	}
}

// TestReadReportsBacklog reads three files in small batches: with each
// batch comes what is left, the files not finished and their unread bytes.
func TestReadReportsBacklog(t *testing.T) {
	dir := t.TempDir()
	keys, sizes := backlogFolder(t, dir, 10)
	src := open(t, fmt.Sprintf("path: %q\nheader: true\ncolumns: [a]", dir), nil)
	reached := map[string]record.Position{}
	for n := 0; ; n++ {
		res, err := src.Read(context.Background(), plugin.ReadRequest{MaxRows: 4, MaxWaitMillis: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Positions {
			reached[p.Partition] = p
		}
		var want plugin.Backlog
		for i, k := range keys {
			if p := reached[k]; !p.Done {
				want.Partitions++
				want.Bytes += sizes[i] - p.Offset
			}
		}
		if res.Backlog == nil || !reflect.DeepEqual(*res.Backlog, want) {
			t.Fatalf("read %d: backlog %+v, want %+v", n, res.Backlog, want)
		}
		if res.CaughtUp {
			if !reflect.DeepEqual(want, plugin.Backlog{}) {
				t.Errorf("caught up with %+v left", want)
			}
			return
		}
		if n > 100 {
			t.Fatal("never caught up")
		}
	}
}

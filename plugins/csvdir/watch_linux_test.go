package csvdir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
)

// A file that arrives while Read waits is read at once, not at the next
// poll: with poll_interval 1h, only the folder's watch can find it before
// Read gives up.
func TestFileArrivingIsReadBeforeTheNextPoll(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, dir string)
	}{
		{"renamed into the folder", func(t *testing.T, dir string) {
			writeFile(t, dir, "a.csv", csvLines("1,x", "2,y", "3,z"), time.Time{})
		}},
		{"written in place and closed", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte(csvLines("1,x", "2,y", "3,z")), 0o644); err != nil {
				t.Error(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := open(t, fmt.Sprintf("path: %q\ncolumns: [id, name]\nheader: false\npoll_interval: 1h\n", dir), nil)
			go func() {
				time.Sleep(100 * time.Millisecond) // Read is waiting by then
				tc.write(t, dir)
			}()
			res, err := src.Read(context.Background(), plugin.ReadRequest{MaxRows: 3, MaxWaitMillis: 20_000})
			if err != nil {
				t.Fatal(err)
			}
			g := &got{}
			g.add(res)
			if want := []string{"1|x", "2|y", "3|z"}; fmt.Sprint(g.fields()) != fmt.Sprint(want) {
				t.Fatalf("read %v, want %v", g.fields(), want)
			}
		})
	}
}

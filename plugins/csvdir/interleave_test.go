package csvdir

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed-etl/etl/core/plugin"
)

// With interleave, consecutive batches come from different files, every
// line is read once, and a source opened at the positions committed so far
// (some files in the middle) reads exactly the rest.
func TestInterleaveTakesBatchesFromFilesInTurn(t *testing.T) {
	for _, interleave := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("interleave=%d", interleave), func(t *testing.T) {
			dir := t.TempDir()
			var want []string
			for f := range 4 {
				lines := eventLines(1000*(f+1), 25)
				writeFile(t, dir, fmt.Sprintf("f%d.csv", f), eventHeader+"\n"+csvLines(lines...), baseTime.Add(time.Duration(f)*time.Second))
				want = append(want, lines...)
			}
			cfg := fmt.Sprintf("path: %q\ninterleave: %d", dir, interleave)
			req := plugin.ReadRequest{MaxRows: 10, MaxBytes: 1 << 20}

			// Read eight batches, "commit" them, then crash.
			first := open(t, cfg, nil)
			committed := &got{}
			var lastFile string
			switches := 0
			for range 8 {
				res, err := first.Read(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				checkBatch(t, res, req)
				if p := res.Positions[0].Partition; p != lastFile {
					switches++
					lastFile = p
				}
				committed.add(res)
			}
			first.Close(context.Background())
			// One file at a time, 8 batches of 10 rows switch files at most
			// 4 times; in turn, nearly every batch does.
			if interleave == 1 && switches > 4 || interleave > 1 && switches < 6 {
				t.Errorf("%d switches between files in 8 batches with interleave %d", switches, interleave)
			}

			second := open(t, cfg, committed.Positions)
			rest := readUntilCaughtUp(t, second, req)
			var all []string
			for _, r := range append(committed.Rows, rest.Rows...) {
				all = append(all, r.Raw)
			}
			slices.Sort(all)
			slices.Sort(want)
			if !slices.Equal(all, want) {
				t.Errorf("read %d lines across the restart, want each of %d once", len(all), len(want))
			}
			for _, p := range rest.Positions {
				if !p.Done {
					t.Errorf("partition %s not done after catching up: %+v", p.Partition, p)
				}
			}
		})
	}
}

func TestInterleaveIsChecked(t *testing.T) {
	for _, v := range []string{"-1", "65"} {
		_, err := New().Configure(context.Background(), plugin.Config{Raw: []byte(fmt.Sprintf("path: %q\ncolumns: [a, b]\ninterleave: %s", t.TempDir(), v))})
		ces := plugin.AsConfigErrors(err)
		if len(ces) != 1 || ces[0].Path != "interleave" {
			t.Errorf("interleave %s: got %v, want one error at interleave", v, err)
		}
	}
}

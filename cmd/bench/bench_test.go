package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10} // 1..10, unsorted
	for _, tc := range []struct{ p, want float64 }{
		{50, 5}, {95, 10}, {99, 10}, {100, 10}, {10, 1}, {11, 2}, {0, 1},
	} {
		if got := percentile(xs, tc.p); got != tc.want {
			t.Errorf("percentile(1..10, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 99); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
	if xs[0] != 5 {
		t.Error("percentile sorted its argument in place")
	}
}

func TestFileOfPartitionKey(t *testing.T) {
	for key, want := range map[string]string{
		"events-20250601T000000.000Z-000001.csv size=123 mtime=2025-06-01T00:00:00.1Z": "events-20250601T000000.000Z-000001.csv",
		"sub/a.csv size=1 mtime=2025-06-01T00:00:00Z":                                  "a.csv",
		"plain.csv": "plain.csv",
	} {
		if got := fileOf(key); got != want {
			t.Errorf("fileOf(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRSSSamplerSeesSelfAndChildren(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipped: reads /proc")
	}
	child := exec.Command("sleep", "5")
	if err := child.Start(); err != nil {
		t.Skipf("skipped: cannot start sleep: %v", err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	// On a loaded machine the child may not have become sleep yet.
	comm := fmt.Sprintf("/proc/%d/comm", child.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(comm); err == nil && strings.TrimSpace(string(b)) == "sleep" {
			break
		}
	}
	s := startRSS(os.Getpid(), 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	peaks := s.Stop()
	if pss := s.PSSPeak(); pss < 1<<20 || pss > memSum(peaks) {
		t.Errorf("PSS peak %d, want at least 1 MiB and at most the RSS sum %d", pss, memSum(peaks))
	}
	if len(peaks) < 2 {
		t.Fatalf("got %d processes, want this one and its child: %+v", len(peaks), peaks)
	}
	if peaks[0].PID != os.Getpid() || peaks[0].PeakBytes < 1<<20 {
		t.Errorf("first is %+v, want this process (pid %d) with at least 1 MiB", peaks[0], os.Getpid())
	}
	found := false
	for _, p := range peaks[1:] {
		if p.PID == child.Process.Pid {
			found = true
			if p.Name != "sleep" || p.PeakBytes <= 0 {
				t.Errorf("child: %+v, want name sleep and a peak > 0", p)
			}
		}
	}
	if !found {
		t.Errorf("child %d not among %+v", child.Process.Pid, peaks)
	}
}

func TestSplitLinesKeepsEveryLineWhole(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		n          int
	}{
		{"even", "a,1\nb,2\nc,3\nd,4\n", 2},
		{"uneven lengths", "a long first line,1\nb\nc\nd\ne,5\n", 2},
		{"no final newline", "a\nb\nc", 2},
		{"more parts than lines", "only\n", 3},
		{"empty", "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "clean.csv")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			parts, err := splitLines(path, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != tc.n {
				t.Fatalf("got %d parts, want %d", len(parts), tc.n)
			}
			var joined strings.Builder
			for i, p := range parts {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if i < len(parts)-1 && len(data) > 0 && data[len(data)-1] != '\n' {
					t.Errorf("part %d ends inside a line: %q", i+1, data)
				}
				joined.Write(data)
			}
			if joined.String() != tc.text {
				t.Errorf("parts joined = %q, want %q", joined.String(), tc.text)
			}
		})
	}
}

func TestSplitLinesHalvesBySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clean.csv")
	line := strings.Repeat("x", 99) + "\n"
	if err := os.WriteFile(path, []byte(strings.Repeat(line, 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	parts, err := splitLines(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != 500*100 {
			t.Errorf("%s: %d bytes, want 50000", p, st.Size())
		}
	}
}

func TestMedianBy(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2}, // even count: the lower middle one
		{[]float64{2, 2, 9}, 2},
	} {
		in := append([]float64(nil), tc.in...)
		if got := medianBy(in, func(x float64) float64 { return x }); got != tc.want {
			t.Errorf("medianBy(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("medianBy reordered its argument: %v", in)
		}
	}
}

func TestChunkLinesHoldsRowsEach(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines int
		rows  int
		want  []int // lines per file
	}{
		{"even", 10, 5, []int{5, 5}},
		{"rest in the last", 11, 5, []int{5, 5, 1}},
		{"fewer lines than a batch", 3, 5, []int{3}},
		{"empty", 0, 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "clean.csv")
			var text strings.Builder
			for i := range tc.lines {
				fmt.Fprintf(&text, "%d,row %d\n", i, i)
			}
			if err := os.WriteFile(path, []byte(text.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			files, err := chunkLines(path, tc.rows)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			var joined strings.Builder
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, strings.Count(string(data), "\n"))
				joined.Write(data)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("lines per file = %v, want %v", got, tc.want)
			}
			if joined.String() != text.String() {
				t.Errorf("files joined differ from the input")
			}
		})
	}
}

package main

import (
	"os"
	"os/exec"
	"runtime"
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

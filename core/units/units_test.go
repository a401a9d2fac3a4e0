package units

import (
	"strings"
	"testing"
	"time"
)

func TestParseSizeAcceptsUnitsAndFractions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"4096", 4096},
		{"7B", 7},
		{"512KB", 512000},
		{"512 KB", 512000},
		{"4MiB", 4 << 20},
		{"1.5MiB", 1572864},
		{"2GiB", 2 << 30},
		{"1.25GB", 1250000000},
		{"1TiB", 1 << 40},
		{" 64KiB ", 64 << 10},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSizeRefusesWithReason(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"4 apples", `unknown unit "apples"`},
		{"4mb", `unknown unit "mb"`},
		{"12XiB", `unknown unit "XiB"`},
		{"-1", "cannot be negative"},
		{"-2KiB", "cannot be negative"},
		{"1.5B", "not a whole number of bytes"},
		{"0.1KiB", "not a whole number of bytes"},
		{"", "is not a size"},
		{"MiB", "is not a size"},
		{"1e3", "is not a size"},
		{"1,5MiB", "is not a size"},
		{"99999999999TiB", "too large"},
	} {
		_, err := ParseSize(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSize(%q) = %v; want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestFormatSizeReadsBack(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{1, "1"},
		{1000, "1KB"},
		{4096, "4KiB"},
		{1 << 20, "1MiB"},
		{1572864, "1.5MiB"},
		{1500000, "1.5MB"},
		{1001, "1001"},
	} {
		got := FormatSize(tc.in)
		if got != tc.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tc.in, got, tc.want)
		}
		if back, err := ParseSize(got); err != nil || back != tc.in {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", tc.in, back, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"250ms", 250 * time.Millisecond, ""},
		{"1m30s", 90 * time.Second, ""},
		{"1.5h", 90 * time.Minute, ""},
		{"0", 0, ""},
		{" 2s ", 2 * time.Second, ""},
		{"250", 0, `give a unit (e.g. 250ms, 250s)`},
		{"soon", 0, `"soon" is not a duration`},
		{"5 parsecs", 0, "is not a duration"},
		{"10d", 0, "is not a duration"},
		{"-1s", 0, "cannot be negative"},
		{"", 0, "is not a duration"},
	} {
		got, err := ParseDuration(tc.in)
		if tc.wantErr == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseDuration(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
		}
	}
}

func TestFormatDurationDropsZeroParts(t *testing.T) {
	for in, want := range map[time.Duration]string{
		0: "0s", 250 * time.Millisecond: "250ms", time.Minute: "1m", 90 * time.Second: "1m30s",
		time.Hour: "1h", 10 * time.Minute: "10m", time.Hour + time.Second: "1h0m1s",
	} {
		if got := FormatDuration(in); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", in, got, want)
		}
	}
}

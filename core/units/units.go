// Package units parses and formats the two kinds of quantity that settings
// are written in: durations ("250ms", "1m30s") and byte sizes ("4096",
// "512KB", "1.5MiB"). It imports nothing of etl, so that both the pipeline
// spec (engine settings) and the plugin SDK (plugin.Duration, plugin.Size)
// parse them the same way.
package units

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strings"
	"time"
)

// ParseDuration parses a duration written as Go writes one: a sequence of
// numbers with units ns, us, ms, s, m, h ("250ms", "1m30s", "1.5h"), or
// "0". A negative duration is an error: no setting takes one.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	d, err := time.ParseDuration(t)
	if err != nil {
		if isNumber(t) {
			return 0, fmt.Errorf("%q is not a duration: give a unit (e.g. %sms, %ss)", s, t, t)
		}
		return 0, fmt.Errorf("%q is not a duration (e.g. 250ms, 2s, 1m30s)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q: a duration cannot be negative", s)
	}
	return d, nil
}

// FormatDuration writes d as ParseDuration reads it, without the zero
// parts time.Duration.String leaves ("1m", not "1m0s").
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// sizeUnits are the units of a size, each a power of 1000 or of 1024.
var sizeUnits = map[string]int64{
	"": 1, "B": 1,
	"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

// formatUnits are the units FormatSize tries, largest first.
var formatUnits = []string{"TiB", "GiB", "MiB", "KiB", "TB", "GB", "MB", "KB"}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$`)

// ParseSize parses a byte size: a number of bytes with an optional unit,
// B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of
// 1024). The number may have a decimal fraction ("1.5MiB") as long as the
// size is a whole number of bytes. A negative size is an error.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("%q: a size cannot be negative", s)
	}
	m := sizeRE.FindStringSubmatch(t)
	if m == nil {
		return 0, fmt.Errorf("%q is not a size (e.g. 4096, 512KB, 1.5MiB)", s)
	}
	mult, ok := sizeUnits[m[2]]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, m[2])
	}
	n, ok := new(big.Rat).SetString(m[1])
	if !ok {
		return 0, fmt.Errorf("%q is not a size (e.g. 4096, 512KB, 1.5MiB)", s)
	}
	n.Mul(n, new(big.Rat).SetInt64(mult))
	if !n.IsInt() {
		return 0, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	if !n.Num().IsInt64() || n.Num().Int64() > math.MaxInt {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n.Num().Int64(), nil
}

// FormatSize writes n as ParseSize reads it, in the largest unit that
// holds it exactly with at most one decimal ("1MiB", "1.5MiB", "1.5MB"),
// else as a number of bytes.
func FormatSize(n int64) string {
	if n > 0 && n <= math.MaxInt64/10 {
		for _, u := range formatUnits {
			mult := sizeUnits[u]
			switch {
			case n < mult:
			case n%mult == 0:
				return fmt.Sprintf("%d%s", n/mult, u)
			case n*10%mult == 0:
				return fmt.Sprintf("%d.%d%s", n/mult, n*10/mult%10, u)
			}
		}
	}
	return fmt.Sprintf("%d", n)
}

func isNumber(s string) bool {
	_, ok := new(big.Rat).SetString(s)
	return ok && s != ""
}

//go:build unix

package plugintest

import (
	"syscall"
	"time"
)

// CPUTime returns the CPU time the process has used, so that a benchmark
// can report a speed that other processes on a shared machine do not
// distort. ok is false where it cannot be measured.
func CPUTime() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

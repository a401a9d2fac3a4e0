//go:build !unix

package plugintest

import "time"

// CPUTime is not measured here.
func CPUTime() (d time.Duration, ok bool) { return 0, false }

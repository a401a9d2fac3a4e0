//go:build !unix

// Package plugintest holds helpers for the tests and benchmarks of plugins.
package plugintest

import "time"

// CPUTime is not measured here.
func CPUTime() (d time.Duration, ok bool) { return 0, false }

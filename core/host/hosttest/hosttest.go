// Package hosttest helps tests check that no plugin process outlives the
// process that started it.
package hosttest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// WaitForNoProcess waits up to wait until no live process has marker in
// its environment, and returns the pids that still have it. Tests put a
// unique marker NAME=value into the environment of the etl they start,
// and NAME into its ETL_PLUGIN_ENV (host.ExtraEnv): plugin processes get
// only allowlisted variables, so without it they would not carry the
// marker and this would find nothing.
func WaitForNoProcess(marker string, wait time.Duration) []int {
	deadline := time.Now().Add(wait)
	for {
		var left []int
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
			if err != nil || !strings.Contains(string(env), marker) {
				continue
			}
			stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if fields := strings.Fields(string(stat)); len(fields) > 2 && fields[2] == "Z" {
				continue // a zombie has ended; only its entry waits for a reaper
			}
			left = append(left, pid)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

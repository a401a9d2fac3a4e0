package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procPeak is the peak resident memory seen of one process.
type procPeak struct {
	PID  int    `json:"pid"`
	Name string `json:"name"`
	// PeakBytes is the largest VmHWM (the kernel's high-water mark of the
	// resident set) read from /proc/PID/status.
	PeakBytes int64 `json:"peak_bytes"`
	// CPUSeconds is the user and system time of the last sample
	// (/proc/PID/stat): up to one interval short at the end.
	CPUSeconds float64 `json:"cpu_seconds"`
}

// rssSampler reads the peak resident memory of a process and of all its
// descendants every interval, from /proc. VmHWM is the kernel's own
// high-water mark, so a peak between two samples is not missed; only what
// a process adds in its last interval before exiting may be.
type rssSampler struct {
	root     int
	interval time.Duration

	mu    sync.Mutex
	peaks map[int]*procPeak
	// pssPeak is the largest sum, over one sample, of the processes'
	// proportional set sizes: memory shared between them (the etl binary's
	// pages, mapped by every plugin process) counted once.
	pssPeak int64

	stop chan struct{}
	done chan struct{}
}

// startRSS starts sampling pid and its descendants.
func startRSS(pid int, interval time.Duration) *rssSampler {
	s := &rssSampler{root: pid, interval: interval, peaks: map[int]*procPeak{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s
}

func (s *rssSampler) loop() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// Stop ends the sampling and returns the peaks, the root process first,
// then the others by name.
func (s *rssSampler) Stop() []procPeak {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]procPeak, 0, len(s.peaks))
	for _, p := range s.peaks {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].PID == s.root) != (out[j].PID == s.root) {
			return out[i].PID == s.root
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].PID < out[j].PID
	})
	return out
}

// sample reads VmHWM of the root and of every descendant once.
func (s *rssSampler) sample() {
	pids := append([]int{s.root}, descendants(s.root)...)
	var pss int64
	for _, pid := range pids {
		if n, ok := procPSS(pid); ok {
			pss += n
		}
		hwm, ok := vmHWM(pid)
		if !ok {
			continue
		}
		cpu, _ := cpuSeconds(pid)
		s.mu.Lock()
		p := s.peaks[pid]
		if p == nil {
			p = &procPeak{PID: pid, Name: procName(pid)}
			s.peaks[pid] = p
		}
		p.PeakBytes = max(p.PeakBytes, hwm)
		p.CPUSeconds = max(p.CPUSeconds, cpu)
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.pssPeak = max(s.pssPeak, pss)
	s.mu.Unlock()
}

// PSSPeak returns the largest summed PSS seen, in bytes.
func (s *rssSampler) PSSPeak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pssPeak
}

// procPSS reads the Pss line of /proc/PID/smaps_rollup, in bytes.
func procPSS(pid int) (int64, bool) {
	return kbLine("/proc/"+strconv.Itoa(pid)+"/smaps_rollup", "Pss:")
}

// descendants lists the children of pid, their children, and so on, from
// the parent pid field of every /proc/*/stat.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := parentOf(p); ok {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		for _, c := range children[q] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name
// (in parentheses, and it may hold spaces): the state is the first.
func statFields(pid int) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(data[i+1:]))
}

// parentOf reads the parent pid from /proc/PID/stat (its fourth field).
func parentOf(pid int) (int, bool) {
	f := statFields(pid)
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

// clockTicks is USER_HZ, the unit of the times in /proc/PID/stat: 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// cpuSeconds reads utime + stime (fields 14 and 15) of /proc/PID/stat.
func cpuSeconds(pid int) (float64, bool) {
	f := statFields(pid)
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	return float64(u+s) / clockTicks, err1 == nil && err2 == nil
}

// vmHWM reads the VmHWM line of /proc/PID/status, in bytes.
func vmHWM(pid int) (int64, bool) {
	return kbLine("/proc/"+strconv.Itoa(pid)+"/status", "VmHWM:")
}

// kbLine reads the "NAME   12345 kB" line of a /proc file, in bytes.
func kbLine(path, name string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		f := strings.Fields(rest) // "12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		return kb * 1024, err == nil
	}
	return 0, false // a zombie, or a kernel thread
}

// procName names a process: the plugin a bundled etl plugin process
// serves (ETL_BUNDLED_PLUGIN in its environment, as core/host sets it),
// else its executable's base name.
func procName(pid int) string {
	dir := "/proc/" + strconv.Itoa(pid)
	if env, err := os.ReadFile(dir + "/environ"); err == nil {
		for kv := range bytes.SplitSeq(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("ETL_BUNDLED_PLUGIN=")); ok && len(v) > 0 {
				return "plugin " + string(v)
			}
		}
	}
	if cmd, err := os.ReadFile(dir + "/cmdline"); err == nil && len(cmd) > 0 {
		return filepath.Base(string(bytes.SplitN(cmd, []byte{0}, 2)[0]))
	}
	return "pid " + strconv.Itoa(pid)
}

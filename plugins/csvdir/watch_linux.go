package csvdir

import (
	"fmt"
	"os"
	"syscall"
)

// arrivals tells the source that a file may have arrived in its folder:
// one was written and closed there, or moved in (the usual last step of a
// producer that writes a hidden file and renames it). The source then lists
// the folder at once instead of at its next poll. It only wakes the
// source: what is there is still found by listing the folder, and the poll
// still finds what inotify does not see (files written by another machine
// on a network file system).
type arrivals struct {
	f *os.File
	c chan struct{}
}

// watchArrivals watches dir with inotify.
func watchArrivals(dir string) (*arrivals, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CLOSE_WRITE|syscall.IN_MOVED_TO); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("inotify: watch %s: %w", dir, err)
	}
	// Non-blocking, so that the file is read through Go's poller and
	// Close ends a Read in progress.
	a := &arrivals{f: os.NewFile(uintptr(fd), "inotify "+dir), c: make(chan struct{}, 1)}
	go a.run()
	return a, nil
}

// run turns events into wake-ups, at most one waiting at a time, until
// the watch is closed.
func (a *arrivals) run() {
	buf := make([]byte, 64*(syscall.SizeofInotifyEvent+syscall.NAME_MAX+1))
	for {
		if _, err := a.f.Read(buf); err != nil {
			return
		}
		select {
		case a.c <- struct{}{}:
		default:
		}
	}
}

// C receives a value after something arrived; nil (never) for no watch.
func (a *arrivals) C() <-chan struct{} {
	if a == nil {
		return nil
	}
	return a.c
}

// Close ends the watch; a nil watch closes as nothing.
func (a *arrivals) Close() error {
	if a == nil {
		return nil
	}
	return a.f.Close()
}

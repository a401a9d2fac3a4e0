package main

import (
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// renameWatch records when each file is renamed (or moved) into a folder,
// from inotify's IN_MOVED_TO events: within microseconds of the rename.
type renameWatch struct {
	f    *os.File
	done chan struct{}

	mu sync.Mutex
	at map[string]time.Time
}

// watchRenames starts watching dir.
func watchRenames(dir string) (*renameWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_MOVED_TO); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("inotify_add_watch", err)
	}
	// Non-blocking, so the runtime's poller serves Read and Close ends it.
	w := &renameWatch{f: os.NewFile(uintptr(fd), "inotify"), done: make(chan struct{}), at: map[string]time.Time{}}
	go w.loop()
	return w, nil
}

func (w *renameWatch) loop() {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
			for len(name) > 0 && name[len(name)-1] == 0 {
				name = name[:len(name)-1]
			}
			w.mu.Lock()
			if _, seen := w.at[string(name)]; !seen {
				w.at[string(name)] = now
			}
			w.mu.Unlock()
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// Stop ends the watch and returns when each file arrived.
func (w *renameWatch) Stop() map[string]time.Time {
	w.f.Close()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.at
}

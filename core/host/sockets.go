package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// SocketDirPrefix starts the name of the private folder, in os.TempDir(),
// where the plugins of one etl process put their Unix sockets:
// etl-PID-RANDOM, mode 0700, holding a lock file that the etl process
// holds locked while it lives.
const SocketDirPrefix = "etl-"

const lockName = "lock"

var sockets struct {
	mu   sync.Mutex
	dir  string
	lock *os.File
}

// SocketDir returns the private socket folder of this process, creating
// it on first use; the first call also removes the folders that dead etl
// processes left behind (see RemoveStaleSocketDirs).
func SocketDir() (string, error) {
	sockets.mu.Lock()
	defer sockets.mu.Unlock()
	if sockets.dir != "" {
		return sockets.dir, nil
	}
	base := os.TempDir()
	RemoveStaleSocketDirs(base)
	dir, err := os.MkdirTemp(base, fmt.Sprintf("%s%d-", SocketDirPrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("make the plugin socket folder: %w", err)
	}
	// MkdirTemp makes it 0700 whatever the umask; say so for sure.
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("make the plugin socket folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = lockFile(f)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		os.RemoveAll(dir)
		return "", fmt.Errorf("lock the plugin socket folder: %w", err)
	}
	sockets.dir, sockets.lock = dir, f
	return dir, nil
}

// Cleanup removes this process's socket folder, if it made one. Call it
// before etl exits, once no plugin runs any more; a folder left by a
// killed etl is removed by the next etl that starts a plugin.
func Cleanup() {
	sockets.mu.Lock()
	defer sockets.mu.Unlock()
	if sockets.dir == "" {
		return
	}
	os.RemoveAll(sockets.dir)
	sockets.lock.Close()
	sockets.dir, sockets.lock = "", nil
}

// RemoveStaleSocketDirs removes, in base, the socket folders of etl
// processes that have ended: those whose lock file no live process holds,
// or, with no lock file (a process killed while making it), whose PID is
// not running. Only folders owned by the current user are looked at. It
// returns the folders removed.
func RemoveStaleSocketDirs(base string) []string {
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), SocketDirPrefix)
		if !ok || !e.IsDir() || e.Type()&fs.ModeSymlink != 0 {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		dir := filepath.Join(base, e.Name())
		st, err := os.Lstat(dir)
		if err != nil || !st.IsDir() || (ownerOf(st) >= 0 && ownerOf(st) != os.Geteuid()) {
			continue
		}
		if !staleSocketDir(dir, pid) {
			continue
		}
		if os.RemoveAll(dir) == nil {
			removed = append(removed, dir)
		}
	}
	return removed
}

func staleSocketDir(dir string, pid int) bool {
	if pid == os.Getpid() {
		return false
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return !processAlive(pid)
	}
	if err != nil {
		return false
	}
	defer f.Close()
	free, err := tryLockFile(f)
	return err == nil && free
}

package csvdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// file is one file of the folder, as last seen, and the partition it
// belongs to once identified.
type file struct {
	name  string // base name inside the folder
	path  string // the folder joined with name: the rows' Origin.Source
	size  int64
	mtime time.Time
	ctime time.Time // the change time: no copy tool can keep it
	dev   uint64
	ino   uint64
	key   string // the partition, once identified (see identity.go)
	// fpSize and fpSum are the fingerprint of the file's first fpSize
	// bytes, taken when it was identified: a file whose stat changed is
	// checked against it.
	fpSize int64
	fpSum  string
	// fpHead is the fingerprint of its first min(headBytes, fpSize)
	// bytes: a file being read whose stat changes is checked against it
	// at once, against the whole fingerprint at its end.
	fpHead string
}

// headBytes is how much of a file's start is checked again, at the end of
// each batch, when its stat changed while it is read.
const headBytes = 64 << 10

// sameStat reports whether f and g are the same file with the same size
// and times: nothing was written to it in between.
func (f file) sameStat(g file) bool {
	return f.sameInode(g) && f.size == g.size && f.mtime.Equal(g.mtime) && f.ctime.Equal(g.ctime)
}

// sameInode reports whether f and g are the same file of the file system.
func (f file) sameInode(g file) bool { return f.dev == g.dev && f.ino == g.ino }

// withStat returns f with the size, times and inode of fi.
func (f file) withStat(fi fs.FileInfo) file {
	f.size, f.mtime = fi.Size(), fi.ModTime()
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.dev, f.ino = uint64(st.Dev), uint64(st.Ino)
		f.ctime = time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec))
	}
	return f
}

// eligible reports whether a directory entry called name may be read:
// it matches the pattern and is not a file still being written.
func (s *settings) eligible(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".part") {
		return false
	}
	ok, err := filepath.Match(s.pattern, name)
	return ok && err == nil
}

// statFile returns the file called name in the folder; ok is false when
// it is not a regular file (any more). A symbolic link is followed only
// with follow_symlinks; otherwise link reports it.
func (s *settings) statFile(name string) (f file, ok, link bool, err error) {
	path := filepath.Join(s.dir, name)
	fi, err := os.Lstat(path)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if !s.followSymlinks {
			return file{}, false, true, nil
		}
		fi, err = os.Stat(path)
	}
	if err != nil {
		return file{}, false, false, err
	}
	if !fi.Mode().IsRegular() {
		return file{}, false, false, nil
	}
	return file{name: name, path: path}.withStat(fi), true, false, nil
}

// listFiles returns the readable-looking files of the folder, oldest first
// by modification time, then by name, and the names of the symbolic links
// it did not follow. Entries that vanish while listing are left out.
func (s *settings) listFiles() (files []file, links []string, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s: %w", s.dir, err)
	}
	files = make([]file, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() || !s.eligible(e.Name()) {
			continue
		}
		f, ok, link, err := s.statFile(e.Name())
		if link {
			links = append(links, e.Name())
		}
		if err != nil || !ok {
			continue
		}
		files = append(files, f)
	}
	sortFiles(files)
	return files, links, nil
}

// sortFiles orders files oldest first by modification time, then by name.
func sortFiles(files []file) {
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mtime.Compare(b.mtime); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
}

// finish applies after_read to f, whose last rows are committed: it
// moves f into the archive folder or deletes it. The caller has checked
// that the name still holds f.
func (s *settings) finish(f file) error {
	switch s.afterRead {
	case AfterReadDelete:
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", f.path, err)
		}
	case AfterReadArchive:
		if err := moveInto(f.path, s.archiveDir, f.name, ""); err != nil {
			return fmt.Errorf("archive %s: %w", f.path, err)
		}
	}
	return nil
}

// moveInto moves path into dir as name with tag added before its
// extension (a.csv, tag "duplicate": a.duplicate.csv), or as name-N.ext
// when dir already holds a file of that name (names are reused), across
// file systems too. dir is created when missing.
func moveInto(path, dir, name, tag string) error {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if tag != "" {
		stem += "." + tag
		name = stem + ext
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for n := 0; n < 100000; n++ {
		target := filepath.Join(dir, name)
		if n > 0 {
			target = filepath.Join(dir, stem+"-"+strconv.Itoa(n)+ext)
		}
		if _, err := os.Lstat(target); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		err := os.Rename(path, target)
		if errors.Is(err, syscall.EXDEV) {
			err = moveAcross(path, target)
		}
		if err != nil {
			return fmt.Errorf("move to %s: %w", dir, err)
		}
		return nil
	}
	return fmt.Errorf("%s holds too many files called %s", dir, name)
}

// moveAcross moves path to target on another file system: copy to a
// hidden temporary name, sync, rename into place, then delete the original.
func moveAcross(path, target string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".part")
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
	}
	if err == nil {
		err = os.Rename(tmp, target)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Remove(path)
}

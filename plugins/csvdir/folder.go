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
	"unicode/utf8"
)

// file is one file of the folder: one partition.
type file struct {
	name  string // base name inside the folder
	path  string // the folder joined with name: the rows' Origin.Source
	size  int64
	mtime time.Time
	key   string // the partition, see partitionKey
}

// partitionKey names the partition of the file called name (inside the
// watched folder) with the given size and modification time, e.g.
// "events-0001.csv size=73421 mtime=2026-11-25T10:00:00.123456789Z".
//
// A partition is the file's name plus its size and modification time, not
// a fingerprint of its first bytes, because:
//   - files arrive complete (producers write, then rename), so size and
//     modification time never change while a file sits in the folder, and
//     a new file under a reused name differs in its modification time at
//     least;
//   - it costs one stat per file and poll, the same stat that lists the
//     folder, whereas a fingerprint means opening and reading every file at
//     every poll, thousands of files when after_read is keep;
//   - it needs no read access, so an unreadable file still has a stable
//     identity under which it is logged and retried;
//   - files of one producer share their header and often their first rows
//     (a file of a header alone, regenerated test data): a fingerprint of
//     the first bytes would take such a new file for one already read and
//     skip it, silently.
//
// The name is relative to the folder, so that moving the folder (or naming
// it by another path) reads nothing again. The costs, documented: a file
// changed in place after being read (its modification time moves) is read
// again as a new file, and a file copied back with its modification time
// kept (cp -p) is taken for the one already read and skipped.
func partitionKey(name string, size int64, mtime time.Time) string {
	if !utf8.ValidString(name) {
		// Positions are stored as text: quote a name that is not UTF-8.
		name = strconv.QuoteToASCII(name)
	}
	return name + " size=" + strconv.FormatInt(size, 10) + " mtime=" + mtime.UTC().Format(time.RFC3339Nano)
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

// statFile returns the file called name in the folder, following a
// symbolic link; ok is false when it is not a regular file (any more).
func (s *settings) statFile(name string) (f file, ok bool, err error) {
	path := filepath.Join(s.dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return file{}, false, err
	}
	if !fi.Mode().IsRegular() {
		return file{}, false, nil
	}
	return file{name: name, path: path, size: fi.Size(), mtime: fi.ModTime(), key: partitionKey(name, fi.Size(), fi.ModTime())}, true, nil
}

// listFiles returns the readable-looking files of the folder, oldest first
// by modification time, then by name. Entries that vanish while listing are
// left out.
func (s *settings) listFiles() ([]file, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.dir, err)
	}
	files := make([]file, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() || !s.eligible(e.Name()) {
			continue
		}
		f, ok, err := s.statFile(e.Name())
		if err != nil || !ok {
			continue
		}
		files = append(files, f)
	}
	sortFiles(files)
	return files, nil
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

// finish applies after_read to f, whose last rows are committed: it moves
// f into the archive folder or deletes it. It does nothing when the name now
// belongs to another file (a new file under a reused name) or is gone.
func (s *settings) finish(f file) error {
	cur, ok, err := s.statFile(f.name)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && (!ok || cur.key != f.key)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s before %s: %w", f.path, s.afterRead, err)
	}
	switch s.afterRead {
	case AfterReadDelete:
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", f.path, err)
		}
	case AfterReadArchive:
		if err := archive(f.path, s.archiveDir); err != nil {
			return err
		}
	}
	return nil
}

// archive moves path into dir under its own name, or under name-N.ext when
// dir already holds a file of that name (names are reused), across file
// systems too.
func archive(path, dir string) error {
	name := filepath.Base(path)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 0; n < 100000; n++ {
		target := filepath.Join(dir, name)
		if n > 0 {
			target = filepath.Join(dir, stem+"-"+strconv.Itoa(n)+ext)
		}
		if _, err := os.Lstat(target); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("archive %s: %w", path, err)
		}
		err := os.Rename(path, target)
		if errors.Is(err, syscall.EXDEV) {
			err = moveAcross(path, target)
		}
		if err != nil {
			return fmt.Errorf("archive %s to %s: %w", path, dir, err)
		}
		return nil
	}
	return fmt.Errorf("archive %s: %s holds too many files called %s", path, dir, name)
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

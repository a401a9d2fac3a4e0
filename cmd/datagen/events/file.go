package events

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TempName is the name a file is written under before it is renamed to
// name: it starts with '.' and ends in .tmp, and csvdir ignores both.
func TempName(name string) string { return "." + name + ".tmp" }

// WriteFile writes the file dir/name so that no reader ever sees it
// incomplete: the header line (Header and "\n") and then whatever write
// writes go to TempName(name) in dir, which is synced, closed and renamed
// to name; the folder is synced after. write gets the open file: it should
// write in large chunks. On any failure, an error of write's included,
// the temporary file is removed and the error returned. WriteFile refuses
// to replace an existing file.
func WriteFile(dir, name string, write func(w io.Writer) error) (err error) {
	if name == "" || strings.ContainsRune(name, filepath.Separator) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("write file: %q is not a plain file name", name)
	}
	final := filepath.Join(dir, name)
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("write file: %s already exists", final)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write file: %w", err)
	}
	tmp := filepath.Join(dir, TempName(name))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.WriteString(Header + "\n"); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, final); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	syncDir(dir)
	return nil
}

// writeAtomic replaces path with data: a temporary file beside it, synced,
// then renamed.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp := filepath.Join(dir, TempName(base))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

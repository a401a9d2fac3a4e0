package host

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RefusedError is a plugin executable etl will not start, and why.
type RefusedError struct {
	// Path is the executable as found.
	Path string
	// Reason says what is wrong and how to fix it.
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing plugin %s: %s", e.Path, e.Reason)
}

// CheckTrusted returns a *RefusedError when the plugin executable at path
// could be replaced by someone other than the user running etl or root:
//
//   - the file (after following symlinks) must be owned by the current
//     user or root and be neither group- nor world-writable;
//   - so must every folder from the one holding it up to /, and, for a
//     symlink, every folder up from the link itself. A folder that is
//     writable by others is accepted only when it is owned by root and has
//     the sticky bit (like /tmp): there, no one can rename or remove an
//     entry owned by someone else.
//
// This is the rule sudo and OpenSSH's StrictModes apply to what they trust.
func CheckTrusted(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", path, err)
	}
	// The folders up from the name as given: whoever can write one of them
	// can put another file (or link) under that name.
	if err := checkFolders(path, filepath.Dir(abs)); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", path, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("plugin %s: %w", path, err)
	}
	what := "it"
	if real != abs {
		what = "its target " + real
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return &RefusedError{Path: path, Reason: what + " is not an executable file"}
	}
	if reason := badOwner(st, what, real); reason != "" {
		return &RefusedError{Path: path, Reason: reason}
	}
	if w := writableBy(st.Mode()); w != "" {
		return &RefusedError{Path: path, Reason: fmt.Sprintf("%s is %s (mode %04o); chmod %s %s", what, w, st.Mode().Perm(), chmodFix(st.Mode()), shown(real, what))}
	}
	if real != abs {
		return checkFolders(path, filepath.Dir(real))
	}
	return nil
}

// checkFolders checks dir and every folder above it.
func checkFolders(plugin, dir string) error {
	for {
		st, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("plugin %s: %w", plugin, err)
		}
		what := "its folder " + dir
		if reason := badOwner(st, what, dir); reason != "" {
			return &RefusedError{Path: plugin, Reason: reason}
		}
		if w := writableBy(st.Mode()); w != "" && !(st.Mode()&fs.ModeSticky != 0 && ownerOf(st) == 0) {
			return &RefusedError{Path: plugin, Reason: fmt.Sprintf("%s is %s (mode %04o) and not a sticky folder owned by root; chmod %s %s", what, w, st.Mode().Perm(), chmodFix(st.Mode()), dir)}
		}
		up := filepath.Dir(dir)
		if up == dir {
			return nil
		}
		dir = up
	}
}

// writableBy says who besides the owner may write a file of mode m.
func writableBy(m fs.FileMode) string {
	switch g, o := m&0o020 != 0, m&0o002 != 0; {
	case g && o:
		return "group- and world-writable"
	case g:
		return "group-writable"
	case o:
		return "world-writable"
	}
	return ""
}

func chmodFix(m fs.FileMode) string {
	var who strings.Builder
	if m&0o020 != 0 {
		who.WriteByte('g')
	}
	if m&0o002 != 0 {
		who.WriteByte('o')
	}
	return who.String() + "-w"
}

func shown(path, what string) string {
	if what == "it" {
		return "it"
	}
	return path
}

// badOwner says why a file owned as st is not trusted, or "".
func badOwner(st fs.FileInfo, what, path string) string {
	uid := ownerOf(st)
	if uid < 0 || uid == 0 || uid == os.Geteuid() {
		return ""
	}
	return fmt.Sprintf("%s is owned by uid %d, not by you (uid %d) or root; chown %d %s, or remove it", what, uid, os.Geteuid(), os.Geteuid(), path)
}

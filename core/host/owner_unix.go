//go:build unix

package host

import (
	"io/fs"
	"syscall"
)

// ownerOf returns the uid owning the file, or -1 when unknown.
func ownerOf(st fs.FileInfo) int {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid)
	}
	return -1
}

//go:build linux || darwin || freebsd

package checks

import (
	"os"
	"syscall"
)

func statfs(path string) (fsStats, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return fsStats{}, &os.PathError{Op: "statfs", Path: path, Err: err}
	}
	bsize := uint64(st.Bsize)
	return fsStats{
		Total:      uint64(st.Blocks) * bsize,
		Avail:      uint64(st.Bavail) * bsize,
		Inodes:     uint64(st.Files),
		InodesFree: uint64(st.Ffree),
	}, nil
}

//go:build linux || darwin || freebsd

package sqlite

import (
	"fmt"
	"os"
	"syscall"
)

// SQLite's lock bytes in the database file (os_unix.c): a connection holds
// a read lock on one or all of the SHARED_SIZE bytes from SHARED_FIRST,
// and in WAL mode it keeps it for as long as the file is open.
const (
	sharedFirst = 0x40000000 + 2 // PENDING_BYTE + 2
	sharedSize  = 510
)

// inUse asks the kernel whether a write lock on SQLite's shared range
// would be granted (F_GETLK; it takes no lock): not while another process
// holds a shared lock there. The locks of this process never conflict with
// its own, so the export's own connection is not counted.
func inUse(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: sharedFirst, Len: sharedSize}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return fmt.Errorf("test its locks: %w", err)
	}
	if lk.Type != syscall.F_UNLCK {
		return fmt.Errorf("%w (process %d)", ErrInUse, lk.Pid)
	}
	return nil
}

//go:build unix

package netlimit

import "syscall"

// FileLimit returns the process's limit on open files (RLIMIT_NOFILE, the
// soft limit in effect), and false where there is none to read. A server
// whose connection bound is above it fails to accept before the bound
// applies.
func FileLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	cur := uint64(r.Cur) // int64 on some systems; RLIM_INFINITY is all ones either way
	if cur == ^uint64(0) {
		return 0, false
	}
	return cur, true
}

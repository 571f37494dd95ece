//go:build linux || darwin

package main

import "syscall"

// raiseFileLimit raises RLIMIT_NOFILE to at least n (the hard limit too,
// which needs root), and returns the soft limit in effect.
func raiseFileLimit(n uint64) (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur >= n {
		return r.Cur, nil
	}
	want := r
	want.Cur = max(want.Cur, n)
	want.Max = max(want.Max, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return r.Cur, err
	}
	return n, nil
}

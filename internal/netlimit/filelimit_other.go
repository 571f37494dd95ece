//go:build !unix

package netlimit

// FileLimit returns false: this system has no limit on open files to read.
func FileLimit() (uint64, bool) { return 0, false }

package checks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vitals-go/vitals/health"
)

// fsStats is what a statfs call tells about a file system, in bytes and
// inodes. Inodes is 0 when the file system has no inode limit.
type fsStats struct {
	Total, Avail       uint64 // bytes; Avail is what unprivileged users may use
	Inodes, InodesFree uint64
}

// DiskSpace checks the free space and free inodes of the file system that
// holds a path. It observes the free space in percent. Create it with
// [NewDiskSpace]; it is safe for concurrent use.
//
// Free space is the space available to unprivileged users (the "Avail"
// column of df), not counting blocks reserved for root.
type DiskSpace struct {
	path string
	opts DiskSpaceOptions
}

var _ health.Checker = (*DiskSpace)(nil)

// DiskSpaceOptions configures [NewDiskSpace]. The zero value is ready to
// use: when all four minimums are zero, MinFreePercent is 10 and
// MinFreeInodesPercent is 5 (the kubelet's default eviction thresholds).
// When any minimum is set, only the minimums set apply.
type DiskSpaceOptions struct {
	// MinFreeBytes is the least free space in bytes.
	MinFreeBytes uint64
	// MinFreePercent is the least free space in percent of the file
	// system's size (0 to 100).
	MinFreePercent float64
	// MinFreeInodes is the least number of free inodes. It is ignored on
	// file systems without an inode limit.
	MinFreeInodes uint64
	// MinFreeInodesPercent is the least free inodes in percent of all
	// inodes (0 to 100). It is ignored on file systems without an inode
	// limit.
	MinFreeInodesPercent float64
}

// Default minimums of [DiskSpaceOptions].
const (
	DefaultMinFreePercent       = 10
	DefaultMinFreeInodesPercent = 5
)

// NewDiskSpace returns a checker of the file system holding path.
//
//	checks.NewDiskSpace("/var/lib/app", checks.DiskSpaceOptions{MinFreeBytes: 1 << 30})
func NewDiskSpace(path string, opts DiskSpaceOptions) *DiskSpace {
	if opts == (DiskSpaceOptions{}) {
		opts.MinFreePercent = DefaultMinFreePercent
		opts.MinFreeInodesPercent = DefaultMinFreeInodesPercent
	}
	return &DiskSpace{path: path, opts: opts}
}

// Check reads the file system's statistics (statfs) and compares them with
// the minimums. It fails with a [*ThresholdError] naming the path, the free
// space or inodes observed and the minimum, or with the statfs error. On
// systems without statfs it returns an error saying so.
func (c *DiskSpace) Check(ctx context.Context) error {
	st, err := statfs(c.path)
	if err != nil {
		return fmt.Errorf("disk %s: %w", c.path, err)
	}
	var freePct float64
	if st.Total > 0 {
		freePct = float64(st.Avail) / float64(st.Total) * 100
	}
	health.Observe(ctx, freePct, "percent")
	observed := func() string {
		return fmt.Sprintf("%s (%s of %s)", formatBytes(st.Avail), formatPercent1(freePct), formatBytes(st.Total))
	}
	var errs []error
	if st.Avail < c.opts.MinFreeBytes {
		errs = append(errs, &ThresholdError{
			Subject:  "disk " + c.path + ": free space",
			Observed: observed(),
			Allowed:  "at least " + formatBytes(c.opts.MinFreeBytes),
		})
	}
	if c.opts.MinFreePercent > 0 && freePct < c.opts.MinFreePercent {
		errs = append(errs, &ThresholdError{
			Subject:  "disk " + c.path + ": free space",
			Observed: observed(),
			Allowed:  "at least " + formatPercent(c.opts.MinFreePercent),
		})
	}
	if st.Inodes > 0 {
		inodePct := float64(st.InodesFree) / float64(st.Inodes) * 100
		obs := fmt.Sprintf("%d (%s of %d)", st.InodesFree, formatPercent1(inodePct), st.Inodes)
		if st.InodesFree < c.opts.MinFreeInodes {
			errs = append(errs, &ThresholdError{
				Subject:  "disk " + c.path + ": free inodes",
				Observed: obs,
				Allowed:  fmt.Sprintf("at least %d", c.opts.MinFreeInodes),
			})
		}
		if c.opts.MinFreeInodesPercent > 0 && inodePct < c.opts.MinFreeInodesPercent {
			errs = append(errs, &ThresholdError{
				Subject:  "disk " + c.path + ": free inodes",
				Observed: obs,
				Allowed:  "at least " + formatPercent(c.opts.MinFreeInodesPercent),
			})
		}
	}
	return errors.Join(errs...)
}

// DiskWrite checks that a directory is writable for real: it creates a
// temporary file in it, writes to it, syncs it to the device and removes it.
// It fails on read-only mounts, full disks, exhausted inodes and broken
// devices, which a statfs cannot see. It observes the time of the write and
// sync in milliseconds. Create it with [NewDiskWrite]; it is safe for
// concurrent use (each run uses its own file).
//
// The file is named ".vitals-write-check-*" and removed before Check
// returns, whether the check passes or fails.
type DiskWrite struct {
	dir  string
	size int
}

var _ health.Checker = (*DiskWrite)(nil)

// DiskWriteOptions configures [NewDiskWrite]. The zero value is ready to
// use.
type DiskWriteOptions struct {
	// Size is the number of bytes written. Default: 4096 (one page, so that
	// the write needs a free block).
	Size int
}

// NewDiskWrite returns a checker that writes a file in dir.
//
//	checks.NewDiskWrite("/var/lib/app", checks.DiskWriteOptions{})
func NewDiskWrite(dir string, opts DiskWriteOptions) *DiskWrite {
	if opts.Size <= 0 {
		opts.Size = 4096
	}
	return &DiskWrite{dir: dir, size: opts.Size}
}

// Check creates, writes, syncs and removes the file. The error names the
// directory and the step that failed, such as "disk write /data: create
// file: open /data/.vitals-write-check-123: read-only file system"; the
// cause (such as syscall.EROFS or syscall.ENOSPC) stays in the chain.
// Between steps it gives up when ctx is done; a step blocked in the kernel
// (a hung network file system) is abandoned by the Monitor's timeout.
func (c *DiskWrite) Check(ctx context.Context) (err error) {
	fail := func(step string, e error) error {
		return fmt.Errorf("disk write %s: %s: %w", c.dir, step, e)
	}
	f, err := os.CreateTemp(c.dir, ".vitals-write-check-*")
	if err != nil {
		return fail("create file", err)
	}
	name := f.Name()
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fail("close", cerr)
		}
		if rerr := os.Remove(name); rerr != nil && err == nil {
			err = fail("remove file", rerr)
		}
	}()
	if err := ctx.Err(); err != nil {
		return fail("write", err)
	}
	buf := make([]byte, c.size)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	start := time.Now()
	if _, err := f.Write(buf); err != nil {
		return fail("write", err)
	}
	if err := ctx.Err(); err != nil {
		return fail("sync", err)
	}
	if err := f.Sync(); err != nil {
		return fail("sync", err)
	}
	health.Observe(ctx, float64(time.Since(start).Microseconds())/1000, "ms")
	return nil
}

package checks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
	"github.com/vitals-go/vitals/internal/testenv"
)

// mountTmpfs mounts a real tmpfs with the given options on a new temporary
// directory and unmounts it when the test ends.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts)
	requireMachine(t, "mounting a tmpfs", err)
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file of n bytes in dir.
func fill(t *testing.T, dir, name string, n int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDiskSpaceTmpfs(t *testing.T) {
	dir := mountTmpfs(t, "size=1m,mode=0700")
	ctx := context.Background()
	def := checks.NewDiskSpace(dir, checks.DiskSpaceOptions{})
	if err := def.Check(ctx); err != nil {
		t.Fatalf("empty tmpfs, defaults: %v", err)
	}
	r := runOnce(t, def)
	if r.Observation == nil || r.Observation.Unit != "percent" || r.Observation.Value < 99 {
		t.Errorf("observation %+v, want ~100 percent free", r.Observation)
	}

	fill(t, dir, "big", 960<<10) // 96% used
	err := def.Check(ctx)
	wantErr(t, err, checks.ErrThreshold, "disk "+dir+": free space is 64.0 KiB (6.2% of 1.0 MiB), want at least 10%")
	var te *checks.ThresholdError
	if !errors.As(err, &te) || te.Allowed != "at least 10%" {
		t.Errorf("errors.As ThresholdError: %+v", te)
	}

	err = checks.NewDiskSpace(dir, checks.DiskSpaceOptions{MinFreeBytes: 128 << 10}).Check(ctx)
	wantErr(t, err, checks.ErrThreshold, "free space is 64.0 KiB", "want at least 128.0 KiB")
	if err := checks.NewDiskSpace(dir, checks.DiskSpaceOptions{MinFreeBytes: 32 << 10}).Check(ctx); err != nil {
		t.Errorf("min 32 KiB with 64 KiB free: %v", err)
	}
}

func TestDiskSpaceInodes(t *testing.T) {
	dir := mountTmpfs(t, "size=1m,nr_inodes=8")
	ctx := context.Background()
	for i := 0; ; i++ {
		err := os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), nil, 0o600)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil || i > 100 {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	err := checks.NewDiskSpace(dir, checks.DiskSpaceOptions{MinFreeInodes: 1}).Check(ctx)
	wantErr(t, err, checks.ErrThreshold, "disk "+dir+": free inodes is 0 (0.0% of 8), want at least 1")
	err = checks.NewDiskSpace(dir, checks.DiskSpaceOptions{}).Check(ctx)
	wantErr(t, err, checks.ErrThreshold, "free inodes is 0", "want at least 5%")

	// The write test fails too: no inode for its file.
	err = checks.NewDiskWrite(dir, checks.DiskWriteOptions{}).Check(ctx)
	wantErr(t, err, syscall.ENOSPC, "disk write "+dir+": create file:", "no space left on device")
}

func TestDiskWrite(t *testing.T) {
	ctx := context.Background()
	t.Run("ok", func(t *testing.T) {
		dir := mountTmpfs(t, "size=1m")
		r := runOnce(t, checks.NewDiskWrite(dir, checks.DiskWriteOptions{}))
		if r.Error != "" || r.Observation == nil || r.Observation.Unit != "ms" {
			t.Fatalf("result %+v, want pass with a ms observation", r)
		}
		assertEmpty(t, dir)
	})
	t.Run("full", func(t *testing.T) {
		dir := mountTmpfs(t, "size=64k")
		err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 1<<20), 0o600)
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("filling: %v, want ENOSPC", err)
		}
		err = checks.NewDiskWrite(dir, checks.DiskWriteOptions{}).Check(ctx)
		wantErr(t, err, syscall.ENOSPC, "disk write "+dir+": write:", "no space left on device")
		if err := os.Remove(filepath.Join(dir, "big")); err != nil {
			t.Fatal(err)
		}
		assertEmpty(t, dir)
		if err := checks.NewDiskWrite(dir, checks.DiskWriteOptions{}).Check(ctx); err != nil {
			t.Errorf("after freeing space: %v", err)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		dir := mountTmpfs(t, "size=1m")
		err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, "")
		requireMachine(t, "remounting read-only", err)
		err = checks.NewDiskWrite(dir, checks.DiskWriteOptions{}).Check(ctx)
		wantErr(t, err, syscall.EROFS, "disk write "+dir+": create file:", "read-only file system")
		// Statfs still works on a read-only mount.
		if err := checks.NewDiskSpace(dir, checks.DiskSpaceOptions{}).Check(ctx); err != nil {
			t.Errorf("disk space on read-only mount: %v", err)
		}
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT, ""); err != nil {
			t.Fatal(err)
		}
		if err := checks.NewDiskWrite(dir, checks.DiskWriteOptions{}).Check(ctx); err != nil {
			t.Errorf("after remounting read-write: %v", err)
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "missing")
		err := checks.NewDiskWrite(dir, checks.DiskWriteOptions{}).Check(ctx)
		wantErr(t, err, os.ErrNotExist, "disk write "+dir+": create file:")
		err = checks.NewDiskSpace(dir, checks.DiskSpaceOptions{}).Check(ctx)
		wantErr(t, err, os.ErrNotExist, "disk "+dir+": statfs "+dir+": no such file or directory")
	})
	t.Run("canceled", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		err := checks.NewDiskWrite(dir, checks.DiskWriteOptions{}).Check(ctx)
		wantErr(t, err, context.Canceled)
		assertEmpty(t, dir)
	})
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("%s holds %d entries after the check, want none (%s...)", dir, len(entries), entries[0].Name())
	}
}

// TestMatrixVolume plays the row "volume has insufficient space: alive,
// not ready" on a real tmpfs filled up while the Monitor runs.
func TestMatrixVolume(t *testing.T) {
	dir := mountTmpfs(t, "size=1m")
	m := newMonitor(t,
		health.Check{Name: "data-space", Checker: checks.NewDiskSpace(dir, checks.DiskSpaceOptions{MinFreeBytes: 256 << 10}), Interval: 20 * time.Millisecond},
		health.Check{Name: "data-write", Checker: checks.NewDiskWrite(dir, checks.DiskWriteOptions{}), Interval: 20 * time.Millisecond},
		health.Check{Name: "alive", Checker: checks.NewGoroutines(0), Kinds: health.Liveness, Interval: 20 * time.Millisecond},
	)
	want := func(what string, wantLive, wantReady int) {
		t.Helper()
		testenv.WaitFor(t, what, 10*time.Second, func() error {
			if live, ready := probeCodes(m); live != wantLive || ready != wantReady {
				return fmt.Errorf("/livez %d /readyz %d, want %d %d", live, ready, wantLive, wantReady)
			}
			return nil
		})
	}
	want("empty volume", http.StatusOK, http.StatusOK)
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 900<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	want("full volume", http.StatusOK, http.StatusServiceUnavailable)
	if err := os.Remove(big); err != nil {
		t.Fatal(err)
	}
	want("space freed", http.StatusOK, http.StatusOK)
}

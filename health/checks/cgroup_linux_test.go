package checks_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health/checks"
)

const cgroupChildEnv = "VITALS_TEST_CGROUP_CHILD"

// TestCgroupMemoryReal creates a real memory cgroup with a 128 MiB limit,
// moves a child process (this test binary, running
// TestCgroupMemoryChild) into it, and has the child run the check before
// and after touching 80 MiB, with the allowed fraction at 50% (64 MiB).
func TestCgroupMemoryReal(t *testing.T) {
	if os.Getenv(cgroupChildEnv) != "" {
		t.Skip("in the child")
	}
	const limit = 128 << 20
	dir, err := makeMemoryCgroup(t, limit)
	requireMachine(t, "creating a memory cgroup", err)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCgroupMemoryChild$", "-test.v")
	cmd.Env = append(os.Environ(), cgroupChildEnv+"=1", "GOMAXPROCS=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	procs := filepath.Join(dir, "cgroup.procs")
	if err := os.WriteFile(procs, []byte(fmt.Sprint(cmd.Process.Pid)), 0o644); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("moving the child into %s: %v", dir, err)
	}
	stdin.Write([]byte("go\n"))
	stdin.Close()
	waitErr := cmd.Wait()
	t.Logf("child output:\n%s", out)
	if waitErr != nil {
		t.Fatalf("child: %v", waitErr)
	}
	for _, want := range []string{
		"before: <nil>",
		"after: cgroup v",
		"working set is ",
		"MiB limit), want at most 50%",
		"dir: " + dir,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("child output lacks %q", want)
		}
	}
}

// TestCgroupMemoryChild runs in the child of TestCgroupMemoryReal.
func TestCgroupMemoryChild(t *testing.T) {
	if os.Getenv(cgroupChildEnv) == "" {
		t.Skip("only run by TestCgroupMemoryReal")
	}
	// Wait until the parent has moved us into the cgroup.
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := checks.NewCgroupMemory(checks.CgroupMemoryOptions{MaxFraction: 0.5})
	fmt.Printf("before: %v\n", c.Check(ctx))
	// Anonymous memory outside the Go heap, so that the race detector's
	// shadow memory does not multiply it.
	big, err := syscall.Mmap(-1, 0, 80<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(big)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1 // touch every page so it is charged
	}
	err = c.Check(ctx)
	fmt.Printf("after: %v\n", err)
	var te *checks.ThresholdError
	if errors.As(err, &te) {
		fmt.Printf("dir: %s\n", strings.TrimSuffix(strings.Fields(te.Subject)[3], ":"))
	}
	runtime.KeepAlive(big)
}

// makeMemoryCgroup creates a cgroup with a memory limit: under the cgroup v2
// root when its memory controller is available to children, else under the
// cgroup v1 memory hierarchy. It is removed when the test ends.
func makeMemoryCgroup(t *testing.T, limit int) (string, error) {
	name := fmt.Sprintf("vitals-test-%d", os.Getpid())
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		ctl, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
		if err != nil || !strings.Contains(" "+string(ctl)+" ", " memory") {
			continue
		}
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", err
		}
		t.Cleanup(func() { removeCgroup(t, dir) })
		return dir, os.WriteFile(filepath.Join(dir, "memory.max"), []byte(fmt.Sprint(limit)), 0o644)
	}
	root := "/sys/fs/cgroup/memory"
	if _, err := os.Stat(filepath.Join(root, "memory.limit_in_bytes")); err != nil {
		return "", fmt.Errorf("no cgroup v2 memory controller for children and no cgroup v1 memory hierarchy: %w", err)
	}
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	t.Cleanup(func() { removeCgroup(t, dir) })
	return dir, os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(fmt.Sprint(limit)), 0o644)
}

// removeCgroup removes an empty cgroup; the kernel may take a moment to
// forget an exited process.
func removeCgroup(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("removing cgroup %s: %v", dir, err)
}

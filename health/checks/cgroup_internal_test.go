package checks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCgroupFS writes a /proc/self/cgroup, a mountinfo and cgroup files
// under a temporary directory and returns a checker reading them.
func fakeCgroupFS(t *testing.T, procCgroup, mountinfo string, files map[string]string) *CgroupMemory {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := NewCgroupMemory(CgroupMemoryOptions{MaxFraction: 0.8})
	c.procCgroup = filepath.Join(root, "proc-cgroup")
	c.mountinfo = filepath.Join(root, "mountinfo")
	if err := os.WriteFile(c.procCgroup, []byte(procCgroup), 0o644); err != nil {
		t.Fatal(err)
	}
	mi := strings.ReplaceAll(mountinfo, "ROOT", root)
	if err := os.WriteFile(c.mountinfo, []byte(mi), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCgroupV2Fake(t *testing.T) {
	const mi = "30 1 0:26 / ROOT/cg rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n" +
		"31 1 0:27 / ROOT/other rw - tmpfs tmpfs rw\n"
	files := func(current string) map[string]string {
		return map[string]string{
			"cg/memory.max":                 "max\n",
			"cg/app.slice/memory.max":       "1073741824\n", // ancestor: 1 GiB
			"cg/app.slice/x/memory.max":     "max\n",
			"cg/app.slice/x/memory.current": current,
			"cg/app.slice/x/memory.stat":    "anon 100\ninactive_file 104857600\nactive_file 5\n",
		}
	}
	ctx := context.Background()
	c := fakeCgroupFS(t, "0::/app.slice/x\n", mi, files("524288000\n")) // 500 MiB - 100 MiB cache
	m, err := c.read()
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 2 || m.Limit != 1<<30 || m.WorkingSet != 400<<20 {
		t.Errorf("read %+v, want v2, 1 GiB limit from the ancestor, 400 MiB working set", m)
	}
	if err := c.Check(ctx); err != nil {
		t.Errorf("400 MiB of 1 GiB at 80%%: %v", err)
	}
	c = fakeCgroupFS(t, "0::/app.slice/x\n", mi, files("1073741824\n"))
	err = c.Check(ctx)
	if !errors.Is(err, ErrThreshold) || !strings.Contains(err.Error(), "working set is 924.0 MiB (90.2% of the 1.0 GiB limit), want at most 80%") {
		t.Errorf("err = %v", err)
	}
}

func TestCgroupV1Fake(t *testing.T) {
	// A Docker container without a cgroup namespace: the mount shows the
	// container's own cgroup at the mount point.
	const mi = "30 1 0:26 /docker/abc ROOT/memory rw - cgroup cgroup rw,memory\n" +
		"31 1 0:27 /docker/abc ROOT/cpu rw - cgroup cgroup rw,cpu,cpuacct\n"
	ctx := context.Background()
	c := fakeCgroupFS(t, "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n", mi, map[string]string{
		"memory/memory.limit_in_bytes": "9223372036854771712\n",
		"memory/memory.usage_in_bytes": "300000000\n",
		"memory/memory.stat":           "cache 1\nhierarchical_memory_limit 268435456\ntotal_inactive_file 10000000\n",
	})
	m, err := c.read()
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || m.Limit != 256<<20 || m.WorkingSet != 290000000 {
		t.Errorf("read %+v, want v1, 256 MiB hierarchical limit, working set 290000000", m)
	}
	err = c.Check(ctx)
	if !errors.Is(err, ErrThreshold) || !strings.Contains(err.Error(), "cgroup v1 memory ") {
		t.Errorf("err = %v", err)
	}

	// No limit: passes.
	c = fakeCgroupFS(t, "4:memory:/\n", "30 1 0:26 / ROOT/memory rw - cgroup cgroup rw,memory\n", map[string]string{
		"memory/memory.limit_in_bytes": "9223372036854771712\n",
		"memory/memory.usage_in_bytes": "300000000\n",
	})
	if err := c.Check(ctx); err != nil {
		t.Errorf("no limit: %v", err)
	}
}

func TestCgroupNone(t *testing.T) {
	c := NewCgroupMemory(CgroupMemoryOptions{})
	c.procCgroup = filepath.Join(t.TempDir(), "missing")
	if err := c.Check(context.Background()); err != nil {
		t.Errorf("no /proc: %v", err)
	}
	c = fakeCgroupFS(t, "0::/\n", "30 1 0:26 / ROOT/cg rw - cgroup2 cgroup2 rw\n", nil) // no memory controller
	if err := c.Check(context.Background()); err != nil {
		t.Errorf("no memory controller: %v", err)
	}
	c = fakeCgroupFS(t, "garbage\n", "", nil)
	if err := c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "is not hierarchy-ID:controllers:/path") {
		t.Errorf("bad /proc/self/cgroup: err = %v", err)
	}
	c = fakeCgroupFS(t, "0::/\n", "30 1 0:26 / ROOT/cg rw - cgroup2 cgroup2 rw\n", map[string]string{
		"cg/memory.max":     "lots\n",
		"cg/memory.current": "1\n",
	})
	if err := c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), `memory.max: invalid value "lots"`) {
		t.Errorf("bad memory.max: err = %v", err)
	}
}

func TestParseMountinfo(t *testing.T) {
	ms, err := parseMountinfo(`36 35 98:0 /mnt1 /mnt/with\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []mount{
		{Root: "/mnt1", Point: "/mnt/with space", FSType: "ext3", SuperOptions: "rw,errors=continue"},
		{Root: "/", Point: "/sys/fs/cgroup/unified", FSType: "cgroup2", SuperOptions: "rw"},
	}
	if len(ms) != 2 || ms[0] != want[0] || ms[1] != want[1] {
		t.Errorf("got %+v, want %+v", ms, want)
	}
	if _, err := parseMountinfo("1 2 3\n"); err == nil {
		t.Error("short line: err = nil")
	}
}

func TestCgroupDir(t *testing.T) {
	for _, tt := range []struct {
		root, path, want string
	}{
		{"/", "/a/b", "/m/a/b"},
		{"/docker/x", "/docker/x", "/m"},
		{"/docker/x", "/docker/x/sub", "/m/sub"},
		{"/docker/x", "/docker/xy", "/m"}, // not under the root
		{"/docker/x", "/elsewhere", "/m"},
	} {
		if got := cgroupDir(mount{Root: tt.root, Point: "/m"}, tt.path); got != tt.want {
			t.Errorf("cgroupDir(root %s, %s) = %s, want %s", tt.root, tt.path, got, tt.want)
		}
	}
}

func FuzzParseProcCgroup(f *testing.F) {
	f.Add("0::/\n")
	f.Add("12:memory:/docker/abc\n0::/user.slice\n")
	f.Add("1:name=systemd:/\n")
	f.Fuzz(func(t *testing.T, s string) {
		v2, v1, err := parseProcCgroup(s)
		if err == nil && (v2 != "" && v2[0] != '/' || v1 != "" && v1[0] != '/') {
			t.Errorf("paths %q %q do not start with /", v2, v1)
		}
	})
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n")
	f.Add(`36 35 98:0 /mnt1 /mnt/a\040b rw master:1 - ext3 /dev/root rw` + "\n")
	f.Add("1 2 3 4 5 6 - \\0")
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := parseMountinfo(s)
		if err == nil {
			for _, m := range ms {
				_ = cgroupDir(m, "/x")
			}
		}
	})
}

func FuzzParseMemValue(f *testing.F) {
	f.Add("max\n")
	f.Add("1073741824\n")
	f.Add("-1")
	f.Fuzz(func(t *testing.T, s string) {
		v, ok, err := parseMemValue(s)
		if err != nil && (v != 0 || ok) {
			t.Errorf("error with a value: %d %v", v, ok)
		}
		_ = parseMemStat(s)
	})
}

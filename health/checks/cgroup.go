package checks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vitals-go/vitals/health"
)

// CgroupMemory checks the process's memory use against the memory limit of
// its cgroup (cgroup v2 memory.max, or cgroup v1 memory.limit_in_bytes),
// which is what a container's memory limit is. It fails when the working set
// exceeds a fraction of the limit, before the kernel's OOM killer acts.
//
// The working set is the usage (memory.current, v1 memory.usage_in_bytes)
// minus the inactive file cache that the kernel reclaims before killing
// (the kubelet measures it the same way). The effective limit is the lowest
// limit of the cgroup and its ancestors. It observes the working set in
// bytes.
//
// The cgroup is looked up at each check from /proc/self/cgroup and
// /proc/self/mountinfo, so a process moved to another cgroup is followed.
// Where there is no cgroup memory controller (not Linux, or none mounted),
// or no limit is set, the check passes. Create it with [NewCgroupMemory];
// it is safe for concurrent use.
type CgroupMemory struct {
	maxFraction float64
	procCgroup  string // /proc/self/cgroup
	mountinfo   string // /proc/self/mountinfo
}

var _ health.Checker = (*CgroupMemory)(nil)

// CgroupMemoryOptions configures [NewCgroupMemory]. The zero value is ready
// to use.
type CgroupMemoryOptions struct {
	// MaxFraction is the part of the limit the working set may use, between
	// 0 and 1. Default: 0.9.
	MaxFraction float64
}

// DefaultCgroupMaxFraction is the default [CgroupMemoryOptions.MaxFraction].
const DefaultCgroupMaxFraction = 0.9

// NewCgroupMemory returns a checker of the process's cgroup memory.
//
//	checks.NewCgroupMemory(checks.CgroupMemoryOptions{MaxFraction: 0.8})
func NewCgroupMemory(opts CgroupMemoryOptions) *CgroupMemory {
	if opts.MaxFraction <= 0 || opts.MaxFraction > 1 {
		opts.MaxFraction = DefaultCgroupMaxFraction
	}
	return &CgroupMemory{
		maxFraction: opts.MaxFraction,
		procCgroup:  "/proc/self/cgroup",
		mountinfo:   "/proc/self/mountinfo",
	}
}

// cgroupMemory is what one reading of a memory cgroup found.
type cgroupMemory struct {
	Dir        string // the cgroup's directory
	Version    int    // 1 or 2
	Limit      uint64 // 0: no limit
	Usage      uint64
	WorkingSet uint64
}

// Check reads the cgroup's usage and limit. It fails with a
// [*ThresholdError] naming the cgroup, the working set, the limit and the
// allowed fraction, or with the error of reading a cgroup file.
func (c *CgroupMemory) Check(ctx context.Context) error {
	m, err := c.read()
	if errors.Is(err, errNoCgroup) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cgroup memory: %w", err)
	}
	health.Observe(ctx, float64(m.WorkingSet), "bytes")
	if m.Limit == 0 {
		return nil
	}
	frac := float64(m.WorkingSet) / float64(m.Limit)
	if frac > c.maxFraction {
		return &ThresholdError{
			Subject: fmt.Sprintf("cgroup v%d memory %s: working set", m.Version, m.Dir),
			Observed: fmt.Sprintf("%s (%s of the %s limit)",
				formatBytes(m.WorkingSet), formatPercent1(frac*100), formatBytes(m.Limit)),
			Allowed: "at most " + formatPercent(c.maxFraction*100),
		}
	}
	return nil
}

// errNoCgroup: no memory cgroup could be found for the process.
var errNoCgroup = errors.New("no memory cgroup")

// read finds the process's memory cgroup, v2 first, and reads it.
func (c *CgroupMemory) read() (cgroupMemory, error) {
	procData, err := os.ReadFile(c.procCgroup)
	if err != nil {
		return cgroupMemory{}, errNoCgroup
	}
	v2Path, v1Path, err := parseProcCgroup(string(procData))
	if err != nil {
		return cgroupMemory{}, fmt.Errorf("%s: %w", c.procCgroup, err)
	}
	mountData, err := os.ReadFile(c.mountinfo)
	if err != nil {
		return cgroupMemory{}, errNoCgroup
	}
	mounts, err := parseMountinfo(string(mountData))
	if err != nil {
		return cgroupMemory{}, fmt.Errorf("%s: %w", c.mountinfo, err)
	}
	if v2Path != "" {
		for _, m := range mounts {
			if m.FSType != "cgroup2" {
				continue
			}
			dir := cgroupDir(m, v2Path)
			if _, err := os.Stat(filepath.Join(dir, "memory.max")); err == nil {
				return readCgroupV2(m.Point, dir)
			}
		}
	}
	if v1Path != "" {
		for _, m := range mounts {
			if m.FSType == "cgroup" && hasOption(m.SuperOptions, "memory") {
				dir := cgroupDir(m, v1Path)
				if _, err := os.Stat(filepath.Join(dir, "memory.limit_in_bytes")); err == nil {
					return readCgroupV1(dir)
				}
			}
		}
	}
	return cgroupMemory{}, errNoCgroup
}

func readCgroupV2(mountPoint, dir string) (cgroupMemory, error) {
	m := cgroupMemory{Dir: dir, Version: 2}
	var err error
	if m.Usage, _, err = readMemValue(filepath.Join(dir, "memory.current")); err != nil {
		return m, err
	}
	// The effective limit is the lowest of the cgroup and its ancestors.
	for d := dir; ; d = filepath.Dir(d) {
		limit, ok, err := readMemValue(filepath.Join(d, "memory.max"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return m, err
		}
		if err == nil && ok && (m.Limit == 0 || limit < m.Limit) {
			m.Limit = limit
		}
		if d == mountPoint || d == filepath.Dir(d) || !strings.HasPrefix(d, mountPoint) {
			break
		}
	}
	stat, err := readMemStat(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return m, err
	}
	m.WorkingSet = workingSet(m.Usage, stat["inactive_file"])
	return m, nil
}

// v1Unlimited: cgroup v1 reports "no limit" as a huge page-rounded number.
const v1Unlimited = 1 << 62

func readCgroupV1(dir string) (cgroupMemory, error) {
	m := cgroupMemory{Dir: dir, Version: 1}
	var err error
	if m.Usage, _, err = readMemValue(filepath.Join(dir, "memory.usage_in_bytes")); err != nil {
		return m, err
	}
	limit, _, err := readMemValue(filepath.Join(dir, "memory.limit_in_bytes"))
	if err != nil {
		return m, err
	}
	stat, err := readMemStat(filepath.Join(dir, "memory.stat"))
	if err != nil {
		return m, err
	}
	if h, ok := stat["hierarchical_memory_limit"]; ok && h < limit {
		limit = h
	}
	if limit < v1Unlimited {
		m.Limit = limit
	}
	m.WorkingSet = workingSet(m.Usage, stat["total_inactive_file"])
	return m, nil
}

func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile >= usage {
		return 0
	}
	return usage - inactiveFile
}

// readMemValue reads a cgroup file holding one number or "max"; ok is
// false for "max".
func readMemValue(path string) (v uint64, ok bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false, err
	}
	v, ok, err = parseMemValue(string(data))
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", path, err)
	}
	return v, ok, nil
}

// parseMemValue parses the content of memory.max, memory.current and the
// like: a decimal number of bytes or "max", and a newline.
func parseMemValue(s string) (v uint64, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return math.MaxUint64, false, nil
	}
	v, err = strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("invalid value %q: want a number of bytes or \"max\"", excerpt([]byte(s), 40))
	}
	return v, true, nil
}

func readMemStat(path string) (map[string]uint64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseMemStat(string(data)), nil
}

// parseMemStat parses memory.stat: "key value" lines. Lines that do not
// parse are skipped.
func parseMemStat(s string) map[string]uint64 {
	m := make(map[string]uint64)
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			m[k] = n
		}
	}
	return m
}

// parseProcCgroup parses /proc/self/cgroup, lines of
// "hierarchy-ID:controllers:path", and returns the path of the cgroup v2
// hierarchy (the "0::" line) and of the v1 memory controller; either may be
// empty.
func parseProcCgroup(s string) (v2Path, v1MemPath string, err error) {
	for i, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		id, rest, ok1 := strings.Cut(line, ":")
		controllers, path, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || !strings.HasPrefix(path, "/") {
			return "", "", fmt.Errorf("line %d: %q is not hierarchy-ID:controllers:/path", i+1, excerpt([]byte(line), 80))
		}
		switch {
		case id == "0" && controllers == "":
			v2Path = path
		case hasOption(controllers, "memory"):
			v1MemPath = path
		}
	}
	return v2Path, v1MemPath, nil
}

// mount is one line of /proc/self/mountinfo.
type mount struct {
	Root, Point, FSType, SuperOptions string
}

// parseMountinfo parses /proc/self/mountinfo (proc(5)): "ID parentID
// major:minor root mountpoint options [optional fields...] - fstype source
// superoptions".
func parseMountinfo(s string) ([]mount, error) {
	var mounts []mount
	for i, line := range strings.Split(s, "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		sep := -1
		for j := 6; j < len(f); j++ {
			if f[j] == "-" {
				sep = j
				break
			}
		}
		if len(f) < 5 || sep < 0 || sep+2 >= len(f) {
			return nil, fmt.Errorf("line %d: %q is not a mountinfo line", i+1, excerpt([]byte(line), 80))
		}
		m := mount{Root: unescapeMount(f[3]), Point: unescapeMount(f[4]), FSType: f[sep+1]}
		if sep+3 < len(f) {
			m.SuperOptions = f[sep+3]
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

// unescapeMount undoes the octal escapes (\040 for a space) of mountinfo
// paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupDir maps a cgroup path from /proc/self/cgroup to a directory under
// the mount: the mount shows the hierarchy from m.Root on (in a container,
// the container's own cgroup).
func cgroupDir(m mount, path string) string {
	rel := path
	if m.Root != "/" {
		if r, ok := strings.CutPrefix(path, m.Root); ok && (r == "" || r[0] == '/') {
			rel = r
		} else {
			rel = "/"
		}
	}
	return filepath.Join(m.Point, filepath.FromSlash(rel))
}

func hasOption(list, opt string) bool {
	for o := range strings.SplitSeq(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

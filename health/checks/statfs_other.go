//go:build !(linux || darwin || freebsd)

package checks

import (
	"fmt"
	"runtime"
)

func statfs(path string) (fsStats, error) {
	return fsStats{}, fmt.Errorf("statfs %s: not supported on %s", path, runtime.GOOS)
}

package probe

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the probe free of modules: healthprobe's
// size and start time, and the watchdog's dependency list, rely on it. Of
// this module it may import only clip, which imports nothing (go list
// -deps lists what clip imports too, so a module reached through it fails
// here as well).
func TestStandardLibraryOnly(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command in PATH")
	}
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v: %s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(pkg, "/")
		if strings.Contains(first, ".") && pkg != "github.com/vitals-go/vitals/internal/probe" && pkg != "github.com/vitals-go/vitals/internal/clip" {
			t.Errorf("internal/probe depends on %s; it must use the standard library only", pkg)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateWarnsOnEmptyLists: a file without checks (an empty file
// above all, which is valid) or without API keys is valid but warned
// about, since the daemon refuses to reload it; written out empty, it
// still gets a warning saying what it does.
func TestValidateWarnsOnEmptyLists(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
		want          []string
	}{
		{"empty", "", []string{"valid: 0 checks", "warning: no checks: the watchdog would watch nothing", "warning: no api_keys"}},
		{"keys only", "api_keys: [{name: rw, key: 0123456789abcdef0123, access: read-write}]\n",
			[]string{"warning: no checks", "write `checks: []` to mean it"}},
		{"on purpose", "checks: []\napi_keys: []\n", []string{"warning: checks: [] retires every check", "warning: api_keys: []"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, tt.name+".yaml")
			if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(noEnv, "validate", file)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout %q\nwant %q", stdout, w)
				}
			}
			if strings.Contains(stdout, "0123456789abcdef0123") {
				t.Errorf("the output carries an API key: %q", stdout)
			}
		})
	}
}

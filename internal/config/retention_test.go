package config

import (
	"strings"
	"testing"
	"time"
)

// retention.retired_checks: 7 days by default, a duration, not negative;
// EmptyOnPurpose tells a list written out empty from a missing one.
func TestRetiredChecksRetention(t *testing.T) {
	cfg, err := Parse("w.yaml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Retention.RetiredChecks.D(); got != 7*24*time.Hour {
		t.Errorf("default retired_checks %s, want 7d", got)
	}
	if c, k := cfg.EmptyOnPurpose(); c || k {
		t.Errorf("an empty file writes its lists out empty: %v %v", c, k)
	}
	cfg, err = Parse("w.yaml", []byte("retention: {retired_checks: 2d}\nchecks: []\napi_keys: []\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Retention.RetiredChecks.D(); got != 48*time.Hour {
		t.Errorf("retired_checks %s, want 48h", got)
	}
	if c, k := cfg.EmptyOnPurpose(); !c || !k {
		t.Errorf("checks: [] and api_keys: [] not seen as meant: %v %v", c, k)
	}
	_, err = Parse("w.yaml", []byte("retention:\n  retired_checks: -1h\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "w.yaml:2: retention.retired_checks: must be positive") {
		t.Errorf("negative retired_checks: %v", err)
	}
}

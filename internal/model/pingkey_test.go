package model

import (
	"fmt"
	"strings"
	"testing"
)

func TestValidPingKey(t *testing.T) {
	long := strings.Repeat("k", MaxPingKeyLen)
	for s, want := range map[string]bool{
		"key_1": true, "A-z_09": true, long: true, long + "k": false,
		"": false, "a/b": false, "a b": false, "é": false, "a.b": false,
	} {
		if got := ValidPingKey(s); got != want {
			t.Errorf("ValidPingKey(%q) = %v, want %v", s, got, want)
		}
	}
	if !SlugShape(long+"k") || SlugShape("") || SlugShape("a%2f") {
		t.Error("SlugShape: a long key has the shape, an empty or escaped one does not")
	}
	if !strings.Contains(PingKeyRule, fmt.Sprintf("1-%d ", MaxPingKeyLen)) {
		t.Errorf("PingKeyRule %q does not name MaxPingKeyLen", PingKeyRule)
	}
}

package config

import (
	"time"

	"github.com/vitals-go/vitals/internal/pull"
)

// Duration is a time.Duration written as Go writes it ("1m30s", "500ms")
// with two more units: "d" (24h) and "w" (7d), leading: "1d", "2w",
// "1d12h". It is pull.Duration, the one duration of the config and of the
// probe specs it decodes into.
type Duration = pull.Duration

// ParseDuration parses a Duration (see pull.ParseDuration).
func ParseDuration(s string) (time.Duration, error) { return pull.ParseDuration(s) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "..."
}

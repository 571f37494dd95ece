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

package pull

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/clip"
)

// Duration is a time.Duration as the config and the stored Spec write it.
//
// In YAML it is written as Go writes it ("1m30s", "500ms") with two more
// units: "d" (24h) and "w" (7d), leading: "1d", "2w", "1d12h". A bare
// number is an error (the unit is required); negative values are refused
// where they make no sense, by validation. In JSON it encodes as a string
// such as "5s" (and decodes from one, or from a number of nanoseconds).
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as Go does.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return typeError(n, "expected a duration such as 30s, 5m or 1d")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return typeError(n, err.Error())
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New(`a duration is a string such as "5s"`)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", clip.Text(s, 30))
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses a Duration as YAML writes it (see its doc).
func ParseDuration(s string) (time.Duration, error) {
	in := s
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var total time.Duration
	for _, u := range []struct {
		suffix byte
		unit   time.Duration
	}{{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}} {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i > 0 && i < len(s) && s[i] == u.suffix {
			n, err := strconv.ParseInt(s[:i], 10, 64)
			if err != nil || n > 10_000 {
				return 0, fmt.Errorf("invalid duration %q", clip.Text(in, 40))
			}
			total += time.Duration(n) * u.unit
			s = s[i+1:]
		}
	}
	if s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("invalid duration %q (use units such as 500ms, 30s, 5m, 1h, 1d)", clip.Text(in, 40))
		}
		total += v
	} else if total == 0 && !strings.HasSuffix(strings.TrimSpace(in), "d") && !strings.HasSuffix(strings.TrimSpace(in), "w") {
		return 0, fmt.Errorf("invalid duration %q (use units such as 500ms, 30s, 5m, 1h, 1d)", clip.Text(in, 40))
	}
	if neg {
		total = -total
	}
	return total, nil
}

// typeError is a decoding error as yaml reports its own ("line N col M:
// msg"), so that the config loader places it.
func typeError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d col %d: %s", n.Line, n.Column, msg)}}
}

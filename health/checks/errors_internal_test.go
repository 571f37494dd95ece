package checks

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 64 << 20: "64.0 MiB",
		1 << 30: "1.0 GiB", math.MaxUint64: "16.0 EiB",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		42*time.Second + 300*time.Millisecond: "42s",
		1500 * time.Millisecond:               "1.5s",
		250*time.Millisecond + 300:            "250ms",
		300 * time.Microsecond:                "300µs",
	} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"  db down\n", 100, "db down"},
		{"a\x00b\tc\xffd", 100, "a.b c.d"},
		{"héllo wörld", 2, "h…"}, {"héllo wörld", 3, "hé…"}, // a cut inside a rune leaves no broken rune
		{strings.Repeat("x", 10), 4, "xxxx…"},
		{"", 10, ""},
	} {
		if got := excerpt([]byte(tt.in), tt.max); got != tt.want {
			t.Errorf("excerpt(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func FuzzExcerpt(f *testing.F) {
	f.Add([]byte("db down\n"), 5)
	f.Add([]byte("h\xc3\xa9llo"), 2)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		s := excerpt(b, max)
		if len(strings.TrimSuffix(s, "…")) > max*3 {
			t.Errorf("excerpt of %d bytes with max %d is %d bytes", len(b), max, len(s))
		}
		for _, r := range strings.TrimSuffix(s, "…") {
			if r < 0x20 || r == 0x7f {
				t.Errorf("excerpt %q holds control character %q", s, r)
			}
		}
	})
}

package badge

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSVGMatchesHealthchecks: the SVG of each label and status is, byte
// for byte, what healthchecks.io's get_badge_svg renders (the goldens in
// testdata are made by testdata/hcref.py from hc/lib/badges.py and
// templates/badge.svg): same widths, template, colours and escaping.
func TestSVGMatchesHealthchecks(t *testing.T) {
	for _, c := range []struct {
		golden, label string
		status        Status
	}{
		{"foo-up", "foo", Up},
		{"dc1-late", "db@dc1", Late},
		{"vitals-down", "Vitals", Down},
		{"markup-up", `<b>&'"`, Up},
		{"unicode-down", "Prod – Zürich ✓", Down},
		{"wide-late", "WWW mmm iii --- ___ 0123456789", Late},
	} {
		t.Run(c.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", c.golden+".svg"))
			if err != nil {
				t.Fatal(err)
			}
			if got := SVG(c.label, c.status); string(got) != string(want) {
				t.Errorf("SVG(%q, %s):\n%s\nwant (healthchecks.io):\n%s", c.label, c.status, got, want)
			}
		})
	}
}

// TestSVGUnknownStatus: a status that is not a badge status is drawn as
// down rather than failing.
func TestSVGUnknownStatus(t *testing.T) {
	if got, want := string(SVG("x", "bogus")), string(SVG("x", Down)); got != want {
		t.Errorf("unknown status drawn as\n%s\nwant the down badge", got)
	}
}

func TestTextWidth(t *testing.T) {
	for s, want := range map[string]int{"": 0, "foo": 4 + 7 + 7, "W-_": 11 + 4 + 6, "é€": 14, "up": 14} {
		if got := textWidth(s); got != want {
			t.Errorf("textWidth(%q) = %d, want %d", s, got, want)
		}
	}
}

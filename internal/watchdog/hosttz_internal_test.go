package watchdog

import (
	"errors"
	"testing"
)

func TestHostTZ(t *testing.T) {
	link := func(target string, err error) func() (string, error) {
		return func() (string, error) { return target, err }
	}
	noLink := link("", errors.New("no such file"))
	for _, tc := range []struct {
		local string
		link  func() (string, error)
		want  string
	}{
		{"Europe/Berlin", noLink, "Europe/Berlin"},                                       // $TZ names it
		{"Local", link("/usr/share/zoneinfo/America/New_York", nil), "America/New_York"}, // /etc/localtime
		{"Local", link("../usr/share/zoneinfo/Etc/UTC", nil), ""},                        // UTC by another name
		{"UTC", noLink, ""},
		{"Local", link("/usr/share/zoneinfo/Etc/GMT-3", nil), "Etc/GMT-3"},
		{"Local", link("/etc/my-zone", nil), ""},                     // not below zoneinfo
		{"Local", link("/usr/share/zoneinfo/Mars/Olympus", nil), ""}, // unknown
		{"Local", noLink, ""},
	} {
		if got := hostTZ(tc.local, tc.link); got != tc.want {
			t.Errorf("hostTZ(%q) = %q, want %q", tc.local, got, tc.want)
		}
	}
}

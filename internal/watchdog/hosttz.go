package watchdog

import (
	"os"
	"strings"
	"time"
)

// HostTZ returns the IANA name of the host's time zone, for
// Options.HostTZ: $TZ when it names a zone, else the target of the
// /etc/localtime link below a zoneinfo directory. It returns "" when
// neither names one, and for the names of UTC ("Etc/UTC", "GMT", …): UTC
// is among the zones the time-zone warning tries anyway, by that name.
func HostTZ() string {
	return hostTZ(time.Local.String(), func() (string, error) { return os.Readlink("/etc/localtime") })
}

// hostTZ is HostTZ over the name of time.Local and a reader of the
// /etc/localtime link.
func hostTZ(local string, localtime func() (string, error)) string {
	name := local
	if name == "Local" || name == "" {
		target, err := localtime()
		if err != nil {
			return ""
		}
		i := strings.LastIndex(target, "zoneinfo/")
		if i < 0 {
			return ""
		}
		name = target[i+len("zoneinfo/"):]
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return ""
	}
	if !strings.Contains(name, "/") || strings.HasPrefix(name, "Etc/") {
		_, jan := time.Date(2025, 1, 1, 0, 0, 0, 0, loc).Zone()
		_, jul := time.Date(2025, 7, 1, 0, 0, 0, 0, loc).Zone()
		if jan == 0 && jul == 0 {
			return ""
		}
	}
	return name
}

package model

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzSchedule feeds arbitrary cron expressions and time zones (they come
// from config files and the API) through validation and NextDue: never a
// panic, and a valid schedule always has a next time after the last ping.
func FuzzSchedule(f *testing.F) {
	for _, s := range []struct{ cron, tz string }{
		{"*/5 * * * *", "UTC"}, {"0 3 * * 1-5", "Europe/Paris"}, {"@daily", "America/New_York"},
		{"0 0 30 2 *", "UTC"}, {"61 * * * *", ""}, {"CRON_TZ=UTC * * * * *", ""}, {"@every 1s", ""},
		{"0 0 0 0 0", "Local"}, {"* * * * * *", "Asia/Kolkata"}, {"", "../../etc/passwd"},
	} {
		f.Add(s.cron, s.tz, int64(0))
	}
	f.Fuzz(func(t *testing.T, cron, tz string, last int64) {
		c := Check{ID: NewCheckID(), Name: "f", Kind: KindPush, Schedule: Schedule{Cron: cron, TZ: tz, Grace: time.Minute}}
		if cron == "" {
			c.Schedule.Period = time.Hour
		}
		if c.Validate() != nil {
			return
		}
		at := time.Unix(last%(1<<33), 0).UTC()
		next, err := c.Schedule.NextDue(at)
		if err == nil && !next.After(at) {
			t.Fatalf("%q in %q: next %v not after %v", cron, tz, next, at)
		}
	})
}

// FuzzCheckText feeds arbitrary names, tags, descriptions, time zones and
// thresholds (they come from config files and the API) through validation:
// never a panic, and a check that passes carries only text that is safe in a
// log line, a /metrics label and the status page, and bounded thresholds.
func FuzzCheckText(f *testing.F) {
	for _, s := range []struct {
		name, tag, desc, tz string
		failures, window    int
	}{
		{"db", "prod", "nightly\nbackup", "UTC", 3, 0}, {"db\x00x", "", "", "Local", 1e9, 5},
		{"\xff", "a b", "\x1b[31m", "Europe/Paris", -1, 65}, {"\u202eevil", "\u2028", "ok", "../etc", 1000, 64},
	} {
		f.Add(s.name, s.tag, s.desc, s.tz, s.failures, s.window)
	}
	f.Fuzz(func(t *testing.T, name, tag, desc, tz string, failures, window int) {
		c := Check{ID: NewCheckID(), Name: name, Tags: []string{tag}, Desc: desc, Kind: KindPush,
			Schedule:   Schedule{Period: time.Hour, TZ: tz, Grace: time.Minute},
			Thresholds: Thresholds{Failures: failures, Successes: failures, FlapWindow: window, FlapChanges: window / 2}}
		if c.Validate() != nil {
			return
		}
		for field, s := range map[string]string{"name": name, "tag": tag, "desc": desc} {
			if !utf8.ValidString(s) {
				t.Fatalf("%s %q accepted: invalid UTF-8", field, s)
			}
			for _, r := range s {
				if unicode.IsControl(r) && !(field == "desc" && strings.ContainsRune("\t\n\r", r)) {
					t.Fatalf("%s %q accepted with control character %U", field, s, r)
				}
			}
		}
		if tz == "Local" || failures < 0 || failures > MaxThreshold || window < 0 || window > MaxFlapWindow {
			t.Fatalf("accepted tz %q, failures %d, window %d", tz, failures, window)
		}
		if _, err := c.Schedule.NextDue(time.Unix(0, 0)); err != nil {
			t.Fatalf("valid schedule in %q: %v", tz, err)
		}
	})
}

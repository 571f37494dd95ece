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

// FuzzGuessTZ feeds arbitrary schedules (from config files and the API),
// host zones and ping times (clients choose when they ping) through
// GuessTZ: never a panic, and a guess holds what it claims: every ping
// fits the named zone and none fits the schedule's own.
func FuzzGuessTZ(f *testing.F) {
	f.Add("0 3 * * *", "UTC", "", int64(time.Hour), int64(1748746800), int64(86400), int64(-7200), uint64(0))
	f.Add("0 9 * * 1-5", "America/New_York", "Europe/Berlin", int64(time.Minute), int64(1735689600), int64(86400), int64(3600*5), uint64(77))
	f.Add("@hourly", "Asia/Kolkata", "Local", int64(0), int64(-1), int64(3600), int64(1800), uint64(1<<40))
	f.Fuzz(func(t *testing.T, cron, tz, host string, grace, start, step, shift int64, jitter uint64) {
		s := Schedule{Cron: cron, TZ: tz, Grace: time.Duration(grace)}
		c := Check{ID: NewCheckID(), Name: "f", Kind: KindPush, Schedule: s}
		if c.Validate() != nil {
			return
		}
		var pings []time.Time
		at := time.Unix(start%(1<<33), 0).UTC()
		for i := range MaxTZPings + 2 {
			next, err := s.NextDue(at)
			if err != nil {
				return
			}
			at = next
			// Each ping: the cron time, moved by shift, plus a little jitter.
			j := time.Duration(jitter>>(i*6)&63) * time.Second * time.Duration(step%7)
			pings = append(pings, at.Add(time.Duration(shift%(16*3600))*time.Second+j))
		}
		g, ok := GuessTZ(s, pings, host)
		if !ok {
			return
		}
		if g.Zone == "" || g.Pings < TZMinPings || g.Pings > MaxTZPings || g.MinShift > g.MaxShift ||
			g.MinShift < -MaxTZShift || g.MaxShift > MaxTZShift || (g.MinShift < 0) != (g.MaxShift < 0) || g.MinShift == 0 || g.MaxShift == 0 {
			t.Fatalf("inconsistent guess %+v", g)
		}
		sch, _ := s.parse()
		own, _ := loadLocation(s.TZ)
		loc, err := loadLocation(g.Zone)
		if err != nil {
			t.Fatalf("guessed zone %q does not load: %v", g.Zone, err)
		}
		for _, p := range pings[len(pings)-g.Pings:] {
			if _, ok := fitCron(sch, own, p, s.Grace); ok {
				t.Fatalf("%v fits the schedule in its own zone, yet %+v", p, g)
			}
			if _, ok := fitCron(sch, loc, p, s.Grace); !ok {
				t.Fatalf("%v does not fit %s", p, g.Zone)
			}
		}
		if w := g.Warning(s.TZ); !strings.Contains(w, g.Zone) {
			t.Fatalf("warning %q does not name %s", w, g.Zone)
		}
	})
}

package model

import (
	"testing"
	"time"
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

package model

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// jobPings returns the ping times of a job run by cron expr in zone tz for
// n runs from the first cron time after from: each run takes run, then pings.
func jobPings(t *testing.T, expr, tz string, from time.Time, n int, run time.Duration) []time.Time {
	t.Helper()
	sch, err := Schedule{Cron: expr}.parse()
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	c := from.In(loc)
	for range n {
		c = sch.Next(c)
		out = append(out, c.Add(run).UTC())
	}
	return out
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestGuessTZ(t *testing.T) {
	daily := "0 3 * * *"
	utc := Schedule{Cron: daily, TZ: "UTC", Grace: time.Hour}
	rng := rand.New(rand.NewPCG(1, 2))
	jitter := func() []time.Time {
		var out []time.Time
		for i := range 6 {
			out = append(out, date(2025, 6, 1+i).Add(time.Duration(rng.IntN(24*60))*time.Minute))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		s     Schedule
		pings []time.Time
		host  string
		want  string // the warning, "" for none
	}{
		{"UTC schedule, job on Berlin summer time", utc,
			jobPings(t, daily, "Europe/Berlin", date(2025, 6, 1), 5, 2*time.Minute), "",
			"the last 5 pings came 2 hours before the schedule in UTC: is the schedule meant for Europe/Berlin? (tz: Europe/Berlin)"},
		{"UTC schedule, job on Berlin time across the end of summer time", utc,
			jobPings(t, daily, "Europe/Berlin", date(2025, 10, 23), 6, 5*time.Minute), "",
			"the last 6 pings came 1 to 2 hours before the schedule in UTC: is the schedule meant for Europe/Berlin? (tz: Europe/Berlin)"},
		{"a zone with daylight saving time fits only if every ping does: UTC+1 all year across Berlin's change", utc,
			jobPings(t, daily, "Africa/Lagos", date(2025, 3, 27), 6, time.Minute), "",
			"the last 6 pings came 1 hour before the schedule in UTC: is the schedule meant for Africa/Lagos? (tz: Africa/Lagos)"},
		{"UTC schedule, job in New York in winter", Schedule{Cron: "30 6 * * *", Grace: 30 * time.Minute},
			jobPings(t, "30 6 * * *", "America/New_York", date(2025, 1, 10), 4, 3*time.Minute), "",
			"the last 4 pings came 5 hours after the schedule in UTC: is the schedule meant for America/New_York? (tz: America/New_York)"},
		{"New York schedule, job on a UTC server", Schedule{Cron: daily, TZ: "America/New_York", Grace: time.Hour},
			jobPings(t, daily, "UTC", date(2025, 7, 1), 5, 0), "",
			"the last 5 pings came 4 hours before the schedule in America/New_York: is the schedule meant for UTC? (tz: UTC)"},
		{"Berlin schedule, job on UTC across the start of summer time", Schedule{Cron: daily, TZ: "Europe/Berlin", Grace: 30 * time.Minute},
			jobPings(t, daily, "UTC", date(2025, 3, 27), 6, 0), "",
			"the last 6 pings came 1 to 2 hours after the schedule in Europe/Berlin: is the schedule meant for UTC? (tz: UTC)"},
		{"UTC schedule on weekdays, job in Tokyo", Schedule{Cron: "0 9 * * 1-5", Grace: 15 * time.Minute},
			jobPings(t, "0 9 * * 1-5", "Asia/Tokyo", date(2025, 6, 1), 5, 10*time.Second), "",
			"the last 5 pings came 9 hours before the schedule in UTC: is the schedule meant for Asia/Tokyo? (tz: Asia/Tokyo)"},
		{"the host's zone comes first", utc,
			jobPings(t, daily, "Europe/Berlin", date(2025, 6, 1), 4, 0), "Europe/Paris",
			"the last 4 pings came 2 hours before the schedule in UTC: is the schedule meant for Europe/Paris? (tz: Europe/Paris)"},
		{"an unknown host zone is skipped", utc,
			jobPings(t, daily, "Europe/Berlin", date(2025, 6, 1), 4, 0), "Mars/Olympus",
			"the last 4 pings came 2 hours before the schedule in UTC: is the schedule meant for Europe/Berlin? (tz: Europe/Berlin)"},
		{"no common zone fits: Etc/GMT", utc,
			jobPings(t, daily, "Atlantic/Cape_Verde", date(2025, 7, 1), 4, time.Minute), "",
			"the last 4 pings came 1 hour after the schedule in UTC: is the schedule meant for Etc/GMT+1? (tz: Etc/GMT+1)"},
		{"only the newest pings count", utc,
			append(jitter(), jobPings(t, daily, "Asia/Tokyo", date(2025, 6, 10), MaxTZPings, 0)...), "",
			"the last 8 pings came 9 hours before the schedule in UTC: is the schedule meant for Asia/Tokyo? (tz: Asia/Tokyo)"},
		{"pings that fit: no warning", utc, jobPings(t, daily, "UTC", date(2025, 6, 1), 6, 20*time.Minute), "", ""},
		{"pings with jitter: no warning", utc, jitter(), "", ""},
		{"too few pings", utc, jobPings(t, daily, "Europe/Berlin", date(2025, 6, 1), TZMinPings-1, 0), "", ""},
		{"one ping fits in its own zone: no warning", utc,
			append(jobPings(t, daily, "Europe/Berlin", date(2025, 6, 1), 4, 0), date(2025, 6, 6).Add(3*time.Hour)), "", ""},
		{"one ping off by another amount: no warning", utc,
			append(jobPings(t, daily, "Europe/Berlin", date(2025, 6, 1), 4, 0), date(2025, 6, 6).Add(7*time.Hour+25*time.Minute)), "", ""},
		{"a half-hour zone is not whole hours: no warning", utc,
			jobPings(t, daily, "Asia/Kolkata", date(2025, 6, 1), 6, time.Minute), "", ""},
		{"a quarter-hour zone is named as the whole-hour zone 15 minutes away", utc,
			jobPings(t, daily, "Asia/Kathmandu", date(2025, 6, 1), 4, time.Minute), "",
			"the last 4 pings came 6 hours before the schedule in UTC: is the schedule meant for Asia/Dhaka? (tz: Asia/Dhaka)"},
		{"a grace of a day fits any ping of a daily job", Schedule{Cron: daily, Grace: 24 * time.Hour},
			jobPings(t, daily, "Europe/Berlin", date(2025, 6, 1), 6, 0), "", ""},
		{"an hourly schedule fits every whole-hour shift", Schedule{Cron: "0 * * * *", Grace: 5 * time.Minute},
			jobPings(t, "0 * * * *", "Europe/Berlin", date(2025, 6, 1), 6, 0), "", ""},
		{"not a cron schedule", Schedule{Period: time.Hour, Grace: time.Minute},
			jobPings(t, daily, "Europe/Berlin", date(2025, 6, 1), 6, 0), "", ""},
		{"an invalid schedule", Schedule{Cron: "0 3 * *", Grace: time.Minute},
			jobPings(t, daily, "Europe/Berlin", date(2025, 6, 1), 6, 0), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TZWarning(tc.s, tc.pings, tc.host); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A job run slower than TZHalfHour is not told apart from a half-hour
// zone, unless its pings are timed from their start (the engine then keeps
// the start time).
func TestGuessTZSlowJob(t *testing.T) {
	s := Schedule{Cron: "0 3 * * *", Grace: 2 * time.Hour}
	if w := TZWarning(s, jobPings(t, s.Cron, "Europe/Berlin", date(2025, 6, 1), 5, 45*time.Minute), ""); w != "" {
		t.Errorf("finished 45 minutes after the cron time: %q", w)
	}
	if w := TZWarning(s, jobPings(t, s.Cron, "Europe/Berlin", date(2025, 6, 1), 5, 0), ""); !strings.Contains(w, "Europe/Berlin") {
		t.Errorf("started at the cron time: %q", w)
	}
}

func TestTZGuessWarning(t *testing.T) {
	for _, tc := range []struct {
		g    TZGuess
		tz   string
		want string
	}{
		{TZGuess{"Asia/Tokyo", 4, -9, -9}, "", "the last 4 pings came 9 hours before the schedule in UTC: is the schedule meant for Asia/Tokyo? (tz: Asia/Tokyo)"},
		{TZGuess{"UTC", 7, 1, 2}, "Europe/Berlin", "the last 7 pings came 1 to 2 hours after the schedule in Europe/Berlin: is the schedule meant for UTC? (tz: UTC)"},
		{TZGuess{"Europe/London", 4, -1, -1}, "UTC", "the last 4 pings came 1 hour before the schedule in UTC: is the schedule meant for Europe/London? (tz: Europe/London)"},
	} {
		if got := tc.g.Warning(tc.tz); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// Every common zone exists in the zone database the tests run with.
func TestCommonTZsLoad(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range CommonTZs {
		if seen[name] {
			t.Errorf("%s listed twice", name)
		}
		seen[name] = true
		if _, err := time.LoadLocation(name); err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkGuessTZ(b *testing.B) {
	s := Schedule{Cron: "0 3 * * *", Grace: time.Hour}
	loc, _ := time.LoadLocation("Asia/Kolkata") // UTC+5:30: no zone fits, every candidate is tried
	var pings []time.Time
	c := date(2025, 6, 1).In(loc)
	sch, _ := s.parse()
	for range MaxTZPings {
		c = sch.Next(c)
		pings = append(pings, c.UTC())
	}
	for b.Loop() {
		if _, ok := GuessTZ(s, pings, "Europe/Berlin"); ok {
			b.Fatal("a guess for a UTC+5:30 job")
		}
	}
}

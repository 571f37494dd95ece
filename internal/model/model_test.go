package model

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := Check{ID: NewCheckID(), Name: "x", Kind: KindPush}.WithDefaults()
	if err := good.Validate(); err != nil {
		t.Fatalf("good check: %v", err)
	}
	cases := []struct {
		mod  func(*Check)
		want string
	}{
		{func(c *Check) { c.ID = CheckID{} }, "id: must be a non-nil UUID"},
		{func(c *Check) { c.Name = "" }, "name: is required"},
		{func(c *Check) { c.Name = strings.Repeat("n", 101) }, "name: longer than 100 bytes"},
		{func(c *Check) { c.Slug = "Bad Slug" }, `slug: "Bad Slug" must be`},
		{func(c *Check) { c.Kind = "poll" }, `kind: "poll" must be "push" or "pull"`},
		{func(c *Check) { c.Schedule.Cron = "* * * * *" }, "period and cron are exclusive"},
		{func(c *Check) { c.Schedule.Period, c.Schedule.Cron = 0, "61 * * * *" }, "schedule.cron"},
		{func(c *Check) { c.Schedule.Period, c.Schedule.Cron = 0, "CRON_TZ=UTC * * * * *" }, "time zone prefix not allowed"},
		{func(c *Check) { c.Schedule.Period, c.Schedule.Cron = 0, "@every 1m" }, "@every is not a calendar schedule"},
		{func(c *Check) { c.Schedule.Period, c.Schedule.Cron = 0, "0 0 30 2 *" }, "no next time"},
		{func(c *Check) { c.Schedule.Period = 10 * time.Millisecond }, "under 1s"},
		{func(c *Check) { c.Schedule.TZ = "Mars/Olympus" }, `unknown time zone "Mars/Olympus"`},
		{func(c *Check) { c.Schedule.Grace = -time.Second }, "schedule.grace: must not be negative"},
		{func(c *Check) { c.Thresholds.FlapWindow = 65; c.Thresholds.FlapChanges = 3 }, "flap_window: must be 0-64"},
		{func(c *Check) { c.Thresholds.FlapWindow = 5; c.Thresholds.FlapChanges = 5 }, "flap_changes: must be 0-4"},
		{func(c *Check) { c.Thresholds.FlapWindow = 5 }, "set together"},
		{func(c *Check) { c.Probe = []byte("{}") }, "push checks take no probe"},
		{func(c *Check) { c.Schedule.TZ = "Local" }, `schedule.tz: "Local" is not allowed: name an IANA zone`},
		{func(c *Check) { c.Name = "db\x00primary" }, "name: character U+0000 at byte 2 is not allowed"},
		{func(c *Check) { c.Name = "db\nprimary" }, "name: character U+000A at byte 2"},
		{func(c *Check) { c.Name = "\u202eyrammirp" }, "name: character U+202E at byte 0"},
		{func(c *Check) { c.Name = "db\xffprimary" }, "name: invalid UTF-8 at byte 2"},
		{func(c *Check) { c.Slug = "db\x00" }, `slug: "db\x00" must be`},
		{func(c *Check) { c.Tags = []string{"ok", "bad\x1b[31m"} }, "tags: character U+001B at byte 3"},
		{func(c *Check) { c.Tags = []string{"\xc3"} }, "tags: invalid UTF-8 at byte 0"},
		{func(c *Check) { c.Desc = "line\nnext\x00" }, "desc: character U+0000 at byte 9"},
		{func(c *Check) { c.Desc = "\x80" }, "desc: invalid UTF-8 at byte 0"},
		{func(c *Check) { c.Thresholds.Failures = 1e18 }, "thresholds.failures: must be between 1 and 1000"},
		{func(c *Check) { c.Thresholds.Failures = -1 }, "thresholds.failures: must be between 1 and 1000"},
		{func(c *Check) { c.Thresholds.Successes = 1001 }, "thresholds.successes: must be between 1 and 1000"},
		{func(c *Check) { c.Thresholds.StartPeriod = 366 * 24 * time.Hour }, "thresholds.start_period: 8784h0m0s is over 365 days"},
		{func(c *Check) { c.Schedule.Period = 1 << 62 }, "schedule.period: 1281023h"},
		{func(c *Check) { c.Schedule.Grace = MaxDuration + 1 }, "schedule.grace: 8760h0m0.000000001s is over 365 days"},
		{func(c *Check) { c.MinRunTime = MaxDuration + time.Second }, "min_run_time: 8760h0m1s is over 365 days"},
	}
	for _, tc := range cases {
		c := good
		tc.mod(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidCheck) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
	// Text at the edges of what is allowed.
	for _, mod := range []func(*Check){
		func(c *Check) { c.Name = "Café ☕ \uFFFD 👩\u200d💻" }, // a literal U+FFFD is valid text
		func(c *Check) { c.Desc = "runs nightly\r\n\tthen reports" },
		func(c *Check) {
			c.Thresholds = Thresholds{Failures: MaxThreshold, Successes: MaxThreshold, StartPeriod: MaxDuration}
			c.Schedule.Period, c.Schedule.Grace, c.MinRunTime = MaxDuration, MaxDuration, MaxDuration
		},
	} {
		c := good
		mod(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	// Every problem is reported, not just the first.
	bad := Check{}
	if err := bad.Validate(); strings.Count(err.Error(), "\n") < 3 {
		t.Errorf("errors not joined: %v", err)
	}
}

func TestNextDue(t *testing.T) {
	last := time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC) // the night Paris moves to summer time
	s := Schedule{Cron: "30 2 * * *", TZ: "Europe/Paris"}
	next, err := s.NextDue(last)
	if err != nil {
		t.Fatal(err)
	}
	// 02:30 does not exist on 2026-03-29 in Paris; robfig/cron moves on to the next day.
	if want := time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC); !next.Equal(want) {
		t.Fatalf("next %v, want %v", next, want)
	}
	p := Schedule{Period: time.Hour}
	if n, _ := p.NextDue(last); !n.Equal(last.Add(time.Hour)) {
		t.Fatalf("period next %v", n)
	}
}

func TestHistoryChanges(t *testing.T) {
	var s State
	for _, ok := range []bool{true, false, true, true, false} {
		s.PushResult(ok)
	}
	// newest first: 0 1 1 0 1 → changes between neighbours: 1,0,1,1 = 3
	if got := s.Changes(5); got != 3 {
		t.Fatalf("changes %d, want 3", got)
	}
	if got := s.Changes(2); got != 1 {
		t.Fatalf("changes in 2: %d", got)
	}
	for range 100 {
		s.PushResult(true)
	}
	if s.HistoryLen != MaxFlapWindow || s.Changes(64) != 0 {
		t.Fatalf("len %d changes %d", s.HistoryLen, s.Changes(64))
	}
}

func TestSplitDaysAndTruncate(t *testing.T) {
	id := NewCheckID()
	from := time.Date(2026, 1, 1, 22, 0, 0, 0, time.UTC)
	days := SplitDays(id, StatusDown, from, from.Add(50*time.Hour))
	if len(days) != 3 || days[0].Total != 2*time.Hour || days[1].Total != 24*time.Hour || days[2].Total != 24*time.Hour || days[0].Up != 0 {
		t.Fatalf("%+v", days)
	}
	if SplitDays(id, StatusPaused, from, from.Add(time.Hour)) != nil || SplitDays(id, StatusUp, from, from) != nil {
		t.Fatal("paused or empty intervals counted")
	}
	merged := MergeDays(days[1:], SplitDays(id, StatusUp, from.Add(-2*time.Hour), from)...)
	if len(merged) != 3 || !merged[0].Day.Equal(days[0].Day) || merged[0].Up != 2*time.Hour || merged[1].Ratio() != 0 {
		t.Fatalf("merged %+v", merged)
	}
	if got := Truncate("héllo", 2); got != "h" {
		t.Fatalf("truncate split a rune: %q", got)
	}
}

package machine

import (
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// cronCheck is a daily 03:00 UTC push check with an hour of grace.
func cronCheck() *model.Check {
	return push(func(c *model.Check) {
		c.Schedule = model.Schedule{Cron: "0 3 * * *", TZ: "UTC", Grace: time.Hour}
	})
}

// tokyo is the n-th run's time of a job at 03:00 Tokyo time (18:00 UTC the
// day before), from 2026-01-01.
func tokyo(n int) time.Time { return time.Date(2025, 12, 31+n, 18, 0, 0, 0, time.UTC) }

func applyAt(c *model.Check, s model.State, at time.Time, ev Event) model.State {
	ev.Now = at
	return Apply(c, s, ev).State
}

// The machine keeps the times of the last decisive pings of a cron push
// check, at most MaxTZPings, and warns once TZMinPings miss the schedule by
// the same hours; start, log and ignored pings do not count.
func TestTZWarningKeptOnPings(t *testing.T) {
	c := cronCheck()
	s := model.NewState(c.ID, tokyo(0))
	for n := range model.TZMinPings - 1 {
		s = applyAt(c, s, tokyo(n).Add(time.Minute), ping(model.PingSuccess))
		s = applyAt(c, s, tokyo(n).Add(2*time.Minute), ping(model.PingLog))
	}
	if s.TZWarning != "" || len(s.TZPings) != model.TZMinPings-1 {
		t.Fatalf("after %d pings: warning %q, %d times kept", model.TZMinPings-1, s.TZWarning, len(s.TZPings))
	}
	s = applyAt(c, s, tokyo(model.TZMinPings-1).Add(time.Minute), ping(model.PingFail))
	want := "the last 4 pings came 9 hours before the schedule in UTC: is the schedule meant for Asia/Tokyo? (tz: Asia/Tokyo)"
	if s.TZWarning != want {
		t.Fatalf("warning %q, want %q", s.TZWarning, want)
	}
	for n := model.TZMinPings; n < 20; n++ {
		s = applyAt(c, s, tokyo(n).Add(time.Minute), ping(model.PingSuccess))
	}
	if len(s.TZPings) != model.MaxTZPings || !s.TZPings[model.MaxTZPings-1].Equal(tokyo(19).Add(time.Minute)) {
		t.Fatalf("kept %v", s.TZPings)
	}
	if !strings.HasPrefix(s.TZWarning, "the last 8 pings came 9 hours before") {
		t.Fatalf("warning %q", s.TZWarning)
	}
	// A ping on the schedule's own time clears it.
	s = applyAt(c, s, time.Date(2026, 1, 21, 3, 5, 0, 0, time.UTC), ping(model.PingSuccess))
	if s.TZWarning != "" {
		t.Fatalf("a ping on time left the warning %q", s.TZWarning)
	}
}

// A ping that finishes a run is kept at the run's start: a job that takes
// longer than half an hour still shows its cron time.
func TestTZWarningUsesRunStart(t *testing.T) {
	c := cronCheck()
	s := model.NewState(c.ID, tokyo(0))
	for n := range model.TZMinPings {
		s = applyAt(c, s, tokyo(n), ping(model.PingStart))
		s = applyAt(c, s, tokyo(n).Add(50*time.Minute), ping(model.PingSuccess))
	}
	if !s.TZPings[0].Equal(tokyo(0)) || !strings.Contains(s.TZWarning, "Asia/Tokyo") {
		t.Fatalf("kept %v, warning %q", s.TZPings, s.TZWarning)
	}
}

// Period checks and pull checks keep nothing.
func TestTZWarningOnlyForCronPushChecks(t *testing.T) {
	for _, c := range []*model.Check{push(nil), pull(nil)} {
		s := model.NewState(c.ID, tokyo(0))
		for n := range 6 {
			s = applyAt(c, s, tokyo(n), ping(model.PingSuccess))
		}
		if s.TZPings != nil || s.TZWarning != "" {
			t.Errorf("%s check: kept %v, warning %q", c.Kind, s.TZPings, s.TZWarning)
		}
	}
}

// A Reschedule that changed the schedule or its zone forgets the kept
// times; one that did not (a new grace) re-decides the warning on them.
func TestTZWarningOnReschedule(t *testing.T) {
	c := cronCheck()
	s := model.NewState(c.ID, tokyo(0))
	for n := range 5 {
		s = applyAt(c, s, tokyo(n).Add(time.Minute), ping(model.PingSuccess))
	}
	if s.TZWarning == "" {
		t.Fatal("no warning")
	}
	wider := *c
	wider.Schedule.Grace = 24 * time.Hour // every ping fits the schedule now
	out := Apply(&wider, s, Event{Kind: Reschedule, Now: tokyo(5)})
	if !out.Changed || out.State.TZWarning != "" || len(out.State.TZPings) != 5 {
		t.Fatalf("new grace: changed %v, warning %q, %d kept", out.Changed, out.State.TZWarning, len(out.State.TZPings))
	}
	out = Apply(c, s, Event{Kind: Reschedule, Now: tokyo(5)})
	if out.State.TZWarning != s.TZWarning || len(out.State.TZPings) != 5 {
		t.Fatalf("same schedule: warning %q, %d kept", out.State.TZWarning, len(out.State.TZPings))
	}
	moved := *c
	moved.Schedule.TZ = "Asia/Tokyo"
	out = Apply(&moved, s, Event{Kind: Reschedule, Now: tokyo(5), ScheduleChanged: true})
	if !out.Changed || out.State.TZWarning != "" || out.State.TZPings != nil {
		t.Fatalf("new zone: changed %v, warning %q, kept %v", out.Changed, out.State.TZWarning, out.State.TZPings)
	}
}

// The host's zone is tried first.
func TestTZWarningPrefersHostZone(t *testing.T) {
	c := cronCheck()
	s := model.NewState(c.ID, tokyo(0))
	for n := range 4 {
		ev := ping(model.PingSuccess)
		ev.HostTZ = "Asia/Seoul"
		s = applyAt(c, s, tokyo(n), ev)
	}
	if !strings.Contains(s.TZWarning, "meant for Asia/Seoul?") {
		t.Fatalf("warning %q", s.TZWarning)
	}
}

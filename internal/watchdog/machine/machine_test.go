package machine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func push(mod func(*model.Check)) *model.Check {
	c := model.Check{ID: model.NewCheckID(), Name: "job", Kind: model.KindPush,
		Schedule: model.Schedule{Period: time.Hour, Grace: 10 * time.Minute}}.WithDefaults()
	if mod != nil {
		mod(&c)
	}
	return &c
}

func pull(mod func(*model.Check)) *model.Check {
	c := model.Check{ID: model.NewCheckID(), Name: "api", Kind: model.KindPull,
		Schedule: model.Schedule{Period: 10 * time.Second}}.WithDefaults()
	if mod != nil {
		mod(&c)
	}
	return &c
}

// step is one event and what must follow.
type step struct {
	at     time.Duration // after t0
	ev     Event         // Now and Deadline filled from at / state when zero
	status model.Status  // stored status after
	flip   string        // substring of the flip reason; "" = no flip expected
}

func ping(kind model.PingKind) Event {
	return Event{Kind: Ping, Ping: &model.Ping{Kind: kind, ExitStatus: -1, Method: "GET"}}
}
func pingRID(kind model.PingKind, rid uuid.UUID) Event {
	e := ping(kind)
	e.Ping.RID = rid
	return e
}
func exit(code int) Event {
	return Event{Kind: Ping, Ping: &model.Ping{Kind: model.PingExitStatus, ExitStatus: code}}
}
func result(ok bool) Event {
	r := &model.Result{OK: ok}
	if !ok {
		r.Error = "connection refused"
	}
	return Event{Kind: Result, Result: r}
}
func deadline() Event { return Event{Kind: Deadline} }

func run(t *testing.T, c *model.Check, steps []step) model.State {
	t.Helper()
	s := model.NewState(c.ID, t0)
	for i, st := range steps {
		ev := st.ev
		ev.Now = t0.Add(st.at)
		if ev.Kind == Deadline && ev.Deadline.IsZero() {
			ev.Deadline = s.Deadline
		}
		if ev.Ping != nil {
			p := *ev.Ping
			ev.Ping = &p
			ev.Ping.Time = ev.Now
		}
		out := Apply(c, s, ev)
		s = out.State
		if s.Status != st.status {
			t.Fatalf("step %d (+%v): status %s, want %s (state %+v)", i, st.at, s.Status, st.status, s)
		}
		switch {
		case st.flip == "" && out.Flip != nil:
			t.Fatalf("step %d: unexpected flip %+v", i, out.Flip)
		case st.flip != "" && out.Flip == nil:
			t.Fatalf("step %d: no flip, want one with %q", i, st.flip)
		case st.flip != "" && !strings.Contains(out.Flip.Reason, st.flip):
			t.Fatalf("step %d: flip reason %q, want it to contain %q", i, out.Flip.Reason, st.flip)
		}
		if out.Flip != nil && (out.Flip.From == out.Flip.To || !out.State.Since.Equal(ev.Now)) {
			t.Fatalf("step %d: bad flip %+v / since %v", i, out.Flip, out.State.Since)
		}
	}
	return s
}

func TestPushBasics(t *testing.T) {
	c := push(nil)
	s := run(t, c, []step{
		{0, deadline(), model.StatusNew, ""}, // a new check has no deadline
		{time.Minute, ping(model.PingSuccess), model.StatusUp, "success ping"},
		{2 * time.Minute, ping(model.PingLog), model.StatusUp, ""},
		{3 * time.Minute, ping(model.PingFail), model.StatusDown, "fail ping"},
		{4 * time.Minute, exit(0), model.StatusUp, "exit status 0"},
		{5 * time.Minute, exit(3), model.StatusDown, "exit status 3"},
		{6 * time.Minute, ping(model.PingSuccess), model.StatusUp, "success"},
	})
	if want := t0.Add(6*time.Minute + time.Hour + 10*time.Minute); !s.Deadline.Equal(want) {
		t.Fatalf("deadline %v, want %v", s.Deadline, want)
	}
	if s.NPings != 6 || s.NFlips != 5 {
		t.Fatalf("counters %d pings %d flips", s.NPings, s.NFlips)
	}
}

func TestPushMissedDeadline(t *testing.T) {
	c := push(nil)
	run(t, c, []step{
		{0, ping(model.PingSuccess), model.StatusUp, "success"},
		// early or stale deadline events change nothing
		{time.Hour, deadline(), model.StatusUp, ""},
		{time.Hour + 9*time.Minute, Event{Kind: Deadline, Deadline: t0.Add(time.Hour)}, model.StatusUp, ""},
		{time.Hour + 10*time.Minute, deadline(), model.StatusDown, "no ping since"},
		{time.Hour + 11*time.Minute, deadline(), model.StatusDown, ""}, // no deadline when down
		{2 * time.Hour, ping(model.PingSuccess), model.StatusUp, "success"},
	})
}

func TestPushRuns(t *testing.T) {
	rid := uuid.MustParse("123e4567-e89b-12d3-a456-426614174000")
	c := push(func(c *model.Check) { c.MinRunTime = 30 * time.Second })
	s := model.NewState(c.ID, t0)
	apply := func(at time.Duration, ev Event) Outcome {
		ev.Now = t0.Add(at)
		out := Apply(c, s, ev)
		s = out.State
		return out
	}
	apply(0, pingRID(model.PingStart, rid))
	if got := s.Display(t0); got != model.StatusStarted {
		t.Fatalf("display %s, want started", got)
	}
	if want := t0.Add(10 * time.Minute); !s.Deadline.Equal(want) {
		t.Fatalf("run deadline %v, want %v", s.Deadline, want)
	}
	// A finish with another rid does not close the run.
	p := pingRID(model.PingSuccess, uuid.New())
	apply(time.Minute, p)
	if p.Ping.Duration != 0 || len(s.Runs) != 1 || s.Status != model.StatusUp {
		t.Fatalf("foreign rid closed the run: %+v", s)
	}
	p = pingRID(model.PingSuccess, rid)
	apply(2*time.Minute, p)
	if p.Ping.Duration != 2*time.Minute || len(s.Runs) != 0 || s.LastDuration != 2*time.Minute {
		t.Fatalf("run not closed: ping %+v state %+v", p.Ping, s)
	}
	// Too fast.
	apply(3*time.Minute, ping(model.PingStart))
	out := apply(3*time.Minute+time.Second, ping(model.PingSuccess))
	if s.Status != model.StatusDown || out.Flip == nil || !strings.Contains(out.Flip.Reason, "under the minimum run time") {
		t.Fatalf("too fast run: %+v %+v", s, out.Flip)
	}
	// Too long: started, never finished within grace.
	apply(4*time.Minute, ping(model.PingSuccess))
	apply(5*time.Minute, pingRID(model.PingStart, rid))
	out = apply(15*time.Minute, Event{Kind: Deadline, Deadline: s.Deadline})
	if s.Status != model.StatusDown || out.Flip == nil || !strings.Contains(out.Flip.Reason, "did not finish within the grace time") || !strings.Contains(out.Flip.Reason, rid.String()) {
		t.Fatalf("long run: %+v %+v", s, out.Flip)
	}
}

// TestFinishEndsRuns: which finishes end the started state, as in
// healthchecks.io's Check.ping: one without a run id, and a failure with
// any run id; a finish pairs with the start of its run id and is timed
// from it. A start with a run id followed by a plain success used to leave
// the check started, then down ("run … did not finish within the grace
// time").
func TestFinishEndsRuns(t *testing.T) {
	a, b := uuid.MustParse("aaaaaaaa-0000-4000-8000-000000000000"), uuid.MustParse("bbbbbbbb-0000-4000-8000-000000000000")
	start := func(rid uuid.UUID) Event { return pingRID(model.PingStart, rid) }
	exitRID := func(code int, rid uuid.UUID) Event {
		e := exit(code)
		e.Ping.RID = rid
		return e
	}
	cases := []struct {
		name   string
		starts []uuid.UUID // a minute apart from t0
		finish Event       // at t0 + 5m
		open   []uuid.UUID // runs left open
		timed  time.Duration
	}{
		{"start rid, success without rid", []uuid.UUID{a}, ping(model.PingSuccess), nil, 0},
		{"start rid, exit 0 without rid", []uuid.UUID{a}, exit(0), nil, 0},
		{"start rid, fail without rid", []uuid.UUID{a}, ping(model.PingFail), nil, 0},
		{"start rid, exit 3 without rid", []uuid.UUID{a}, exit(3), nil, 0},
		{"start rid, fail with another rid", []uuid.UUID{a}, pingRID(model.PingFail, b), nil, 0},
		{"start rid, exit 1 with another rid", []uuid.UUID{a}, exitRID(1, b), nil, 0},
		{"two runs, fail of one ends both", []uuid.UUID{a, b}, pingRID(model.PingFail, a), nil, 5 * time.Minute},
		{"start, success, both without rid", []uuid.UUID{uuid.Nil}, ping(model.PingSuccess), nil, 5 * time.Minute},
		{"start without and with rid, success without", []uuid.UUID{uuid.Nil, a}, ping(model.PingSuccess), nil, 5 * time.Minute},
		{"start rid, success same rid", []uuid.UUID{a}, pingRID(model.PingSuccess, a), nil, 5 * time.Minute},
		{"two runs, success of one keeps the other", []uuid.UUID{a, b}, pingRID(model.PingSuccess, b), []uuid.UUID{a}, 4 * time.Minute},
		{"start rid, success with another rid", []uuid.UUID{a}, pingRID(model.PingSuccess, b), []uuid.UUID{a}, 0},
		{"start without rid, success with rid", []uuid.UUID{uuid.Nil}, pingRID(model.PingSuccess, a), []uuid.UUID{uuid.Nil}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := push(nil) // period 1h, grace 10m
			s := model.NewState(c.ID, t0)
			for i, rid := range tc.starts {
				ev := start(rid)
				ev.Now = t0.Add(time.Duration(i) * time.Minute)
				s = Apply(c, s, ev).State
			}
			ev := tc.finish
			ev.Now = t0.Add(5 * time.Minute)
			s = Apply(c, s, ev).State
			var open []uuid.UUID
			for _, r := range s.Runs {
				open = append(open, r.RID)
			}
			if !slices.Equal(open, tc.open) || ev.Ping.Duration != tc.timed {
				t.Fatalf("open runs %v, run time %v; want %v, %v", open, ev.Ping.Duration, tc.open, tc.timed)
			}
			if ok, _ := ev.Ping.Outcome(); !ok {
				return // down: no deadline
			}
			// Up, and started only while a run is open; the deadline is
			// the open run's, or the schedule's.
			wantDisplay, wantDeadline := model.StatusUp, ev.Now.Add(time.Hour+10*time.Minute)
			if len(tc.open) > 0 {
				wantDisplay, wantDeadline = model.StatusStarted, t0.Add(10*time.Minute)
			}
			if got := s.Display(ev.Now); got != wantDisplay || !s.Deadline.Equal(wantDeadline) {
				t.Fatalf("display %s, deadline %v; want %s, %v", got, s.Deadline, wantDisplay, wantDeadline)
			}
			// The start's grace time passing changes nothing once the run
			// is over.
			if len(tc.open) == 0 {
				out := Apply(c, s, Event{Kind: Deadline, Now: t0.Add(11 * time.Minute), Deadline: t0.Add(10 * time.Minute)})
				if out.Flip != nil || out.State.Status != model.StatusUp {
					t.Fatalf("went %s: %+v", out.State.Status, out.Flip)
				}
			}
		})
	}
}

func TestOpenRunsBounded(t *testing.T) {
	c := push(nil)
	s := model.NewState(c.ID, t0)
	for i := range 100 {
		s = Apply(c, s, Event{Kind: Ping, Now: t0.Add(time.Duration(i) * time.Second), Ping: &model.Ping{Kind: model.PingStart, RID: uuid.New()}}).State
	}
	if len(s.Runs) != model.MaxOpenRuns {
		t.Fatalf("%d open runs", len(s.Runs))
	}
}

func TestCronDeadline(t *testing.T) {
	c := push(func(c *model.Check) {
		c.Schedule = model.Schedule{Cron: "30 2 * * *", TZ: "Europe/Paris", Grace: 5 * time.Minute}
	})
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s := Apply(c, model.NewState(c.ID, t0), Event{Kind: Ping, Now: t0, Ping: &model.Ping{Kind: model.PingSuccess}}).State
	want := time.Date(2026, 1, 2, 1, 35, 0, 0, time.UTC) // 02:30 CET = 01:30 UTC, + grace
	if !s.Deadline.Equal(want) {
		t.Fatalf("deadline %v, want %v", s.Deadline, want)
	}
}

func TestThresholds(t *testing.T) {
	c := pull(func(c *model.Check) { c.Thresholds = model.Thresholds{Failures: 3, Successes: 2} })
	run(t, c, []step{
		{0, result(false), model.StatusNew, ""},
		{1, result(true), model.StatusUp, "probe succeeded"},
		{2, result(false), model.StatusUp, ""},
		{3, result(false), model.StatusUp, ""},
		{4, result(true), model.StatusUp, ""}, // streak broken
		{5, result(false), model.StatusUp, ""},
		{6, result(false), model.StatusUp, ""},
		{7, result(false), model.StatusDown, "3 consecutive failures, last: probe failed: connection refused"},
		{8, result(true), model.StatusDown, ""},
		{9, result(false), model.StatusDown, ""},
		{10, result(true), model.StatusDown, ""},
		{11, result(true), model.StatusUp, "2 consecutive successes"},
	})
}

func TestStartPeriod(t *testing.T) {
	c := pull(func(c *model.Check) { c.Thresholds = model.Thresholds{StartPeriod: time.Minute} })
	run(t, c, []step{
		{time.Second, result(false), model.StatusNew, ""},
		{30 * time.Second, result(false), model.StatusNew, ""},
		{61 * time.Second, result(false), model.StatusDown, "probe failed"},
	})
	// A success ends the start period early.
	run(t, c, []step{
		{time.Second, result(true), model.StatusUp, "probe succeeded"},
		{2 * time.Second, result(false), model.StatusDown, "probe failed"},
	})
}

func TestFlapping(t *testing.T) {
	c := pull(func(c *model.Check) { c.Thresholds = model.Thresholds{FlapChanges: 3, FlapWindow: 5} })
	run(t, c, []step{
		{1, result(true), model.StatusUp, "succeeded"},
		{2, result(false), model.StatusDown, "failed"},
		{3, result(true), model.StatusUp, "succeeded"},
		{4, result(false), model.StatusFlapping, "flapping: 3 changes in the last 4 results"},
		{5, result(true), model.StatusFlapping, ""},
		{6, result(true), model.StatusFlapping, ""}, // window 1,0,1,0,1 → 1 0 1 1... changes 3
		{7, result(true), model.StatusUp, "stable again"},
		{8, result(true), model.StatusUp, ""},
	})
}

func TestPause(t *testing.T) {
	c := push(nil)
	s := run(t, c, []step{
		{0, ping(model.PingSuccess), model.StatusUp, "success"},
		{1, Event{Kind: Pause, Reason: "maintenance"}, model.StatusPaused, "paused: maintenance"},
		{2, Event{Kind: Pause}, model.StatusPaused, ""},
		{3, ping(model.PingStart), model.StatusPaused, ""},
		{4, ping(model.PingFail), model.StatusDown, "fail ping (resumed by the ping)"},
		{5, Event{Kind: Pause}, model.StatusPaused, "paused"},
		{6, Event{Kind: Resume, Reason: "done"}, model.StatusNew, "resumed: done"},
	})
	if !s.Deadline.IsZero() {
		t.Fatalf("resumed check has a deadline %v", s.Deadline)
	}
	m := push(func(c *model.Check) { c.ManualResume = true })
	p := ping(model.PingSuccess)
	run(t, m, []step{
		{1, Event{Kind: Pause}, model.StatusPaused, "paused"},
		{2, p, model.StatusPaused, ""},
	})
	pc := pull(nil)
	run(t, pc, []step{
		{1, Event{Kind: Pause}, model.StatusPaused, "paused"},
		{2, result(false), model.StatusPaused, ""},
		{3, Event{Kind: Resume}, model.StatusNew, "resumed"},
		{4, result(false), model.StatusDown, "failed"},
	})
}

func TestPostOnly(t *testing.T) {
	c := push(func(c *model.Check) { c.PostOnly = true })
	ev := ping(model.PingSuccess)
	out := Apply(c, model.NewState(c.ID, t0), Event{Kind: Ping, Now: t0, Ping: ev.Ping})
	if ev.Ping.Kind != model.PingIgnored || out.State.Status != model.StatusNew || out.State.NPings != 1 {
		t.Fatalf("GET to post-only: %+v %+v", ev.Ping, out.State)
	}
	ev.Ping.Kind, ev.Ping.Method = model.PingSuccess, "POST"
	if out := Apply(c, out.State, Event{Kind: Ping, Now: t0, Ping: ev.Ping}); out.State.Status != model.StatusUp {
		t.Fatalf("POST to post-only: %+v", out.State)
	}
}

func TestUptimeOnFlip(t *testing.T) {
	c := push(nil)
	s := model.NewState(c.ID, t0)
	s = Apply(c, s, Event{Kind: Ping, Now: t0, Ping: &model.Ping{Kind: model.PingSuccess}}).State
	// up from t0 (12:00) to the next day 06:00, then down.
	out := Apply(c, s, Event{Kind: Ping, Now: t0.Add(18 * time.Hour), Ping: &model.Ping{Kind: model.PingFail}})
	if len(out.Uptime) != 2 || out.Uptime[0].Up != 12*time.Hour || out.Uptime[1].Total != 6*time.Hour {
		t.Fatalf("uptime %+v", out.Uptime)
	}
}

func TestReschedule(t *testing.T) {
	c := push(nil)
	s := Apply(c, model.NewState(c.ID, t0), Event{Kind: Ping, Now: t0, Ping: &model.Ping{Kind: model.PingSuccess}}).State
	c2 := *c
	c2.Schedule.Period = 2 * time.Hour
	out := Apply(&c2, s, Event{Kind: Reschedule, Now: t0.Add(time.Minute)})
	if !out.Changed || !out.State.Deadline.Equal(t0.Add(2*time.Hour+10*time.Minute)) || out.Flip != nil {
		t.Fatalf("reschedule: %+v", out)
	}
	if out := Apply(&c2, out.State, Event{Kind: Reschedule, Now: t0.Add(time.Minute)}); out.Changed {
		t.Fatal("a no-op reschedule reports a change")
	}
}

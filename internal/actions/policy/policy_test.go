package policy

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// policyWatchdog wires engine, planner with a Suppression, and dispatcher
// (in a synctest bubble, on a memstore).
func policyWatchdog(t *testing.T, delay time.Duration) (*watchdog.Engine, *Suppression, *recorder, func()) {
	var eng *watchdog.Engine
	sup := NewSuppression(func(id model.CheckID) (string, model.Status, bool) {
		cs, ok := eng.Get(id)
		return cs.Check.Name, cs.State.Status, ok
	}, delay)
	rec := &recorder{}
	st := memstore.New(memstore.Options{})
	disp := outbox.NewDispatcher(st, notify.Channels{"ops": rec}, outbox.DispatcherOptions{Policy: sup, Logger: quiet})
	eng = hooked(watchdog.New(st, watchdog.Options{Logger: quiet}), []model.Planner{outbox.NewPlanner(outbox.PlannerOptions{Policy: sup, Logger: quiet})}, disp)
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	disp.Start(context.Background())
	return eng, sup, rec, func() { disp.Stop(); eng.Close(); st.Close() }
}

func TestDependenciesOneAlert(t *testing.T) {
	for _, parentFirst := range []bool{true, false} {
		name := map[bool]string{true: "parent first", false: "children first"}[parentFirst]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ops := model.Routes{Down: []string{"ops"}, Up: []string{"ops"}}
				parent := pushCheck(100)
				parent.Name, parent.Routes = "network", ops
				var children []model.Check
				parents := map[model.CheckID][]model.CheckID{}
				for i := range 10 {
					c := pushCheck(i)
					c.Routes = ops
					children = append(children, c)
					parents[c.ID] = []model.CheckID{parent.ID}
				}
				eng, sup, rec, stop := policyWatchdog(t, 30*time.Second)
				defer stop()
				if err := sup.SetParents(parents); err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				ping := func(c model.Check, k model.PingKind) {
					if _, err := eng.Ping(ctx, c.ID, model.Ping{Kind: k}); err != nil {
						t.Fatal(err)
					}
				}
				for _, c := range append([]model.Check{parent}, children...) {
					eng.Create(ctx, c)
					ping(c, model.PingSuccess)
				}
				if parentFirst {
					ping(parent, model.PingFail)
				}
				for _, c := range children {
					ping(c, model.PingFail)
				}
				time.Sleep(10 * time.Second)
				if !parentFirst {
					ping(parent, model.PingFail)
				}
				time.Sleep(time.Minute) // past the dependency delay
				synctest.Wait()
				got := rec.Sent()
				if len(got) != 1 || got[0].CheckID != parent.ID || got[0].State != model.StatusDown {
					t.Fatalf("sent %d: %+v, want the parent's one alert", len(got), got)
				}
				if !parentFirst && len(got[0].Suppressed) != 10 {
					t.Errorf("parent alert names %v, want the 10 children", got[0].Suppressed)
				}
				// Everything recovers, children first: only the parent's recovery is news.
				for _, c := range children {
					ping(c, model.PingSuccess)
				}
				ping(parent, model.PingSuccess)
				time.Sleep(time.Minute)
				synctest.Wait()
				if got := rec.Sent(); len(got) != 2 || got[1].CheckID != parent.ID || got[1].State != model.StatusUp {
					t.Fatalf("after recovery sent %d: %+v", len(got), got)
				}
			})
		})
	}
}

// Inside a maintenance window no alert goes out; when it closes, the check
// still down is alerted, the one that recovered inside is not.
func TestMaintenanceWindowHoldsThenSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stays, recovers, outside := pushCheck(1), pushCheck(2), pushCheck(3)
		stays.Tags = []string{"db"}
		ops := model.Routes{Down: []string{"ops"}, Up: []string{"ops"}}
		stays.Routes, recovers.Routes, outside.Routes = ops, ops, ops
		eng, sup, rec, stop := policyWatchdog(t, 0)
		defer stop()
		now := time.Now()
		if err := sup.SetWindows([]Window{{Name: "db upgrade", Tags: []string{"db"}, Checks: []model.CheckID{recovers.ID}, Start: now.Add(time.Minute), End: now.Add(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for _, c := range []model.Check{stays, recovers, outside} {
			eng.Create(ctx, c)
			eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
		}
		time.Sleep(2 * time.Minute) // inside the window
		for _, c := range []model.Check{stays, recovers, outside} {
			eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingFail})
		}
		time.Sleep(10 * time.Minute)
		eng.Ping(ctx, recovers.ID, model.Ping{Kind: model.PingSuccess})
		time.Sleep(40 * time.Minute) // still inside: t0+52m
		synctest.Wait()
		if got := rec.Sent(); len(got) != 1 || got[0].CheckID != outside.ID {
			t.Fatalf("inside the window sent %+v, want only the uncovered check", got)
		}
		time.Sleep(10 * time.Minute) // the window closed at t0+60m
		synctest.Wait()
		got := rec.Sent()
		if len(got) != 2 || got[1].CheckID != stays.ID || got[1].State != model.StatusDown || !got[1].HeldUntil.Equal(now.Add(time.Hour)) {
			t.Fatalf("after the window sent %+v, want the pending down of the check still down", got)
		}
		// After the window: stays recovers, and that is news.
		eng.Ping(ctx, stays.ID, model.Ping{Kind: model.PingSuccess})
		synctest.Wait()
		if got := rec.Sent(); len(got) != 3 || got[2].CheckID != stays.ID || got[2].State != model.StatusUp {
			t.Fatalf("recovery after the window: %+v", got)
		}
	})
}

func TestRecurringWindow(t *testing.T) {
	w := Window{Cron: "0 2 * * 0", Duration: 2 * time.Hour, TZ: "Europe/Paris"}
	if err := w.compile(); err != nil {
		t.Fatal(err)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, tc := range []struct {
		at   time.Time
		open bool
		end  time.Time
	}{
		{time.Date(2026, 11, 22, 2, 0, 0, 0, paris), true, time.Date(2026, 11, 22, 4, 0, 0, 0, paris)}, // a Sunday
		{time.Date(2026, 11, 22, 3, 59, 0, 0, paris), true, time.Date(2026, 11, 22, 4, 0, 0, 0, paris)},
		{time.Date(2026, 11, 22, 4, 0, 0, 0, paris), false, time.Time{}},
		{time.Date(2026, 11, 22, 1, 59, 0, 0, paris), false, time.Time{}},
		{time.Date(2026, 11, 23, 2, 30, 0, 0, paris), false, time.Time{}}, // Monday
	} {
		end, open := w.openAt(tc.at.UTC())
		if open != tc.open || !end.Equal(tc.end) {
			t.Errorf("%v: open %v end %v, want %v %v", tc.at, open, end, tc.open, tc.end)
		}
	}
}

func TestWindowValidate(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		w    Window
		want string
	}{
		{Window{}, "required"},
		{Window{Start: now, End: now}, "end: must be after start"},
		{Window{Start: now, End: now.Add(time.Hour), Cron: "@daily", Duration: time.Hour}, "one or the other"},
		{Window{Cron: "nope", Duration: time.Hour}, "cron:"},
		{Window{Cron: "@daily"}, "duration:"},
		{Window{Cron: "@daily", Duration: time.Hour, TZ: "Mars/Base"}, "tz:"},
		{Window{Cron: "TZ=UTC @daily", Duration: time.Hour}, "TZ= prefix"},
	} {
		if err := tc.w.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.w, err, tc.want)
		}
	}
}

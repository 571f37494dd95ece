package actions

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// recSpec is a channel kind of the tests: its notifier is rec.
type recSpec struct{ rec *recorder }

func (s *recSpec) Validate() error                            { return nil }
func (s *recSpec) Build(notify.Deps) (notify.Notifier, error) { return s.rec, nil }

// A check with late channels is announced once when it passes its due time
// (grace), before its down; a ping in time announces nothing; a check
// without late channels is never announced late; raising the same
// lateness again (a restart, another replica) adds nothing.
func TestLateNotices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := memstore.New(memstore.Options{})
		defer st.Close()
		rec := &recorder{}
		var eng *watchdog.Engine
		sys := NewSystem(st, SystemOptions{Logger: quiet, Status: func(id model.CheckID) (string, model.Status, bool) {
			cs, ok := eng.Get(id)
			return cs.Check.Name, cs.State.Status, ok
		}})
		eng = hooked(watchdog.New(st, watchdog.Options{Logger: quiet}), []model.Planner{sys.Planner()}, sys.Dispatcher(), sys.Late())
		ctx := context.Background()
		if err := eng.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		inWindow := routed(3, model.Routes{Late: []string{"ops"}}) // late inside a maintenance window: dropped
		window := policy.Window{Name: "upgrade", Checks: []model.CheckID{inWindow.ID}, Start: time.Now(), End: time.Now().Add(3 * time.Hour)}
		if err := sys.Apply(Config{Notifiers: map[string]notify.Spec{"ops": &recSpec{rec}}, Windows: []policy.Window{window}}); err != nil {
			t.Fatal(err)
		}
		if err := sys.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer sys.Stop()
		refs, _ := eng.Refs()
		sys.Late().Seed(refs)

		lateOne := routed(0, model.Routes{Down: []string{"ops"}, Late: []string{"ops"}}) // period 1h, grace 1h
		onTime := routed(1, model.Routes{Down: []string{"ops"}, Late: []string{"ops"}})  // pinged before due
		notLate := routed(2, model.Routes{Down: []string{"ops"}})                        // no late channels
		for _, c := range []model.Check{lateOne, onTime, notLate, inWindow} {
			if _, err := eng.Create(ctx, c); err != nil {
				t.Fatal(err)
			}
			if _, err := eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
				t.Fatal(err)
			}
		}
		t0 := time.Now()
		time.Sleep(50 * time.Minute)
		eng.Ping(ctx, onTime.ID, model.Ping{Kind: model.PingSuccess}) // due again at +1h50m
		time.Sleep(30 * time.Minute)                                  // +1h20m: lateOne is late
		synctest.Wait()
		events := func() map[string][]string {
			out := map[string][]string{}
			for _, n := range rec.Sent() {
				out[n.Check] = append(out[n.Check], n.Event)
			}
			return out
		}
		got := events()
		if len(got) != 1 || len(got["job-0"]) != 1 || got["job-0"][0] != notify.EventLate {
			t.Fatalf("at +1h20m: %v, want job-0 late once", got)
		}
		n := rec.Sent()[0]
		if n.State != model.StatusGrace || !n.Time.Equal(t0.Add(time.Hour).UTC()) || n.Title() != `"job-0" is LATE` {
			t.Errorf("notice %+v (title %q)", n, n.Title())
		}
		// Raised again (a restart's Seed, another replica): nothing new.
		cs, _ := eng.Get(lateOne.ID)
		sys.Dispatcher().Raise(LateNotice(cs.Check, cs.State.Due, cs.State.Deadline), []string{"ops"})
		refs, _ = eng.Refs()
		sys.Late().Seed(refs)
		time.Sleep(50 * time.Minute) // +2h10m: job-0 down; job-1 late at +1h50m
		synctest.Wait()
		got = events()
		if want := []string{"late", "down"}; len(got["job-0"]) != 2 || got["job-0"][0] != want[0] || got["job-0"][1] != want[1] {
			t.Errorf("job-0: %v, want %v", got["job-0"], want)
		}
		if len(got["job-1"]) != 1 || got["job-1"][0] != "late" {
			t.Errorf("job-1 (pinged on time once, then late): %v", got["job-1"])
		}
		if len(got["job-2"]) != 1 || got["job-2"][0] != "down" {
			t.Errorf("job-2 has no late channels: %v, want [down]", got["job-2"])
		}
		if len(got["job-3"]) != 0 {
			t.Errorf("job-3, late inside a maintenance window: %v, want nothing", got["job-3"])
		}
	})
}

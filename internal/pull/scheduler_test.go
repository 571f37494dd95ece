package pull

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

type fakeEngine struct {
	mu      sync.Mutex
	checks  []model.CheckState
	reports map[model.CheckID][]time.Time // probe start times
}

func (f *fakeEngine) List() []model.CheckState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.CheckState(nil), f.checks...)
}

func (f *fakeEngine) Report(_ context.Context, id model.CheckID, r model.Result) (model.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports[id] = append(f.reports[id], r.Time)
	return model.State{}, nil
}

func (f *fakeEngine) times(id model.CheckID) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.reports[id]...)
}

// fakeProbe sleeps (in the bubble's fake time) for the duration named in
// the check's Desc.
type fakeProbe struct{ d time.Duration }

func (p fakeProbe) Probe(ctx context.Context) model.Result {
	start := time.Now()
	t := time.NewTimer(p.d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return model.Result{OK: true, Time: start, Duration: time.Since(start)}
}

func pullCheck(name string, interval time.Duration, probeTime string) model.Check {
	return model.Check{ID: model.NewCheckID(), Name: name, Kind: model.KindPull, Schedule: model.Schedule{Period: interval}, Desc: probeTime, Probe: []byte(`{}`)}
}

func newTest(eng *fakeEngine, opts Options) *Scheduler {
	opts.compile = func(c model.Check) (runner, error) {
		d, _ := time.ParseDuration(c.Desc)
		return fakeProbe{d}, nil
	}
	return New(eng, opts)
}

// TestSchedule: every check is probed at a fixed rate after a jittered
// first run, and a slow check neither delays the others nor piles up.
func TestSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fast := pullCheck("fast", 10*time.Second, "1ms")
		other := pullCheck("other", 10*time.Second, "0s")
		slow := pullCheck("slow", 10*time.Second, "25s")
		eng := &fakeEngine{reports: map[model.CheckID][]time.Time{}}
		for _, c := range []model.Check{fast, other, slow, {ID: model.NewCheckID(), Kind: model.KindPush}} {
			eng.checks = append(eng.checks, model.CheckState{Check: c})
		}
		var late time.Duration
		var mu sync.Mutex
		s := newTest(eng, Options{MaxConcurrent: 2, Observe: func(_ model.CheckID, scheduled, started time.Time, _ model.Result) {
			mu.Lock()
			late = max(late, started.Sub(scheduled))
			mu.Unlock()
		}})
		start := time.Now()
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100*time.Second + time.Millisecond)
		synctest.Wait()
		for _, c := range []model.Check{fast, other} {
			ts := eng.times(c.ID)
			if len(ts) != 10 {
				t.Errorf("%s: %d probes in 100s", c.Name, len(ts))
				continue
			}
			if first := ts[0].Sub(start); first < 0 || first >= 10*time.Second {
				t.Errorf("%s: first run at %v, not within the first interval", c.Name, first)
			}
			for i := 1; i < len(ts); i++ {
				if d := ts[i].Sub(ts[i-1]); d != 10*time.Second {
					t.Errorf("%s: probes %v apart", c.Name, d)
				}
			}
		}
		// slow takes 25s per probe: it runs every third turn, the two
		// turns in between are skipped.
		if n := len(eng.times(slow.ID)); n < 3 || n > 4 {
			t.Errorf("slow: %d probes", n)
		}
		if st := s.Stats(); st.Skipped < 5 || st.Checks != 3 {
			t.Errorf("stats %+v", st)
		}
		if late != 0 {
			t.Errorf("a probe started %v late", late)
		}
		if err := s.Check(context.Background()); err != nil {
			t.Error(err)
		}
		s.Close()
	})
}

// TestChanges: a check created, changed, paused and deleted through the
// engine's listener is scheduled accordingly.
func TestChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := &fakeEngine{reports: map[model.CheckID][]time.Time{}}
		s := newTest(eng, Options{})
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c := pullCheck("c", 10*time.Second, "0s")
		s.OnCheck(c, false)
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if n := len(eng.times(c.ID)); n != 3 {
			t.Fatalf("%d probes in 30s", n)
		}
		// Interval 10s → 2s.
		c.Schedule.Period = 2 * time.Second
		s.OnCheck(c, false)
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if n := len(eng.times(c.ID)); n < 3+9 {
			t.Fatalf("%d probes after 20s at 2s", n)
		}
		// Paused: no probes.
		s.OnState(c, model.State{Status: model.StatusPaused})
		n := len(eng.times(c.ID))
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if m := len(eng.times(c.ID)); m != n {
			t.Fatalf("paused check probed %d times", m-n)
		}
		s.OnState(c, model.State{Status: model.StatusUp})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if m := len(eng.times(c.ID)); m == n {
			t.Fatal("resumed check not probed")
		}
		// Deleted: gone.
		s.OnCheck(c, true)
		n = len(eng.times(c.ID))
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if m := len(eng.times(c.ID)); m != n || s.Stats().Checks != 0 {
			t.Fatalf("deleted check probed %d times", m-n)
		}
	})
}

// TestCloseCancelsProbes: Close returns once probes in flight are
// cancelled, and their results are not reported.
func TestCloseCancelsProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := &fakeEngine{reports: map[model.CheckID][]time.Time{}}
		c := pullCheck("hang", time.Second, "1h")
		eng.checks = []model.CheckState{{Check: c}}
		s := newTest(eng, Options{})
		s.Start()
		time.Sleep(2 * time.Second)
		s.Close()
		if n := len(eng.times(c.ID)); n != 0 {
			t.Errorf("%d cancelled probes reported", n)
		}
		if err := s.Start(); err == nil {
			t.Error("restarted")
		}
	})
}

// TestInvalidProbeReported: a check whose probe does not compile is
// reported failed with the reason, each interval.
func TestInvalidProbeReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []model.Result
		var mu sync.Mutex
		eng := &fakeEngine{reports: map[model.CheckID][]time.Time{}}
		s := New(eng, Options{Logger: slog.New(slog.DiscardHandler), Observe: func(_ model.CheckID, _, _ time.Time, r model.Result) {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
		}})
		s.Start()
		defer s.Close()
		s.OnCheck(model.Check{ID: model.NewCheckID(), Kind: model.KindPull, Schedule: model.Schedule{Period: time.Second}, Probe: []byte(`{"url":"ftp://x"}`)}, false)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 || got[0].OK || !strings.HasPrefix(got[0].Error, `invalid probe: url: bad target "ftp://x"`) {
			t.Fatalf("%+v", got)
		}
	})
}

// TestOwns: with Options.Owns, only the checks this replica owns are
// probed; a check it gains is probed from its next turn on.
func TestOwns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mine := pullCheck("mine", 10*time.Second, "0s")
		theirs := pullCheck("theirs", 10*time.Second, "0s")
		eng := &fakeEngine{reports: map[model.CheckID][]time.Time{}}
		eng.checks = []model.CheckState{{Check: mine}, {Check: theirs}}
		var mu sync.Mutex
		owned := map[model.CheckID]bool{mine.ID: true}
		s := newTest(eng, Options{Owns: func(id model.CheckID) bool {
			mu.Lock()
			defer mu.Unlock()
			return owned[id]
		}})
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Second)
		synctest.Wait()
		if n, m := len(eng.times(mine.ID)), len(eng.times(theirs.ID)); n != 5 || m != 0 {
			t.Fatalf("probes: mine %d, theirs %d; want 5 and 0", n, m)
		}
		mu.Lock()
		owned[theirs.ID] = true
		mu.Unlock()
		time.Sleep(50 * time.Second)
		synctest.Wait()
		if m := len(eng.times(theirs.ID)); m != 5 {
			t.Fatalf("theirs, once owned: %d probes in 50s, want 5", m)
		}
		s.Close()
	})
}

package health

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// exactQuantile is the nearest-rank q-quantile of xs.
func exactQuantile(xs []time.Duration, q float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// The estimator keeps the last Window durations sorted, so its quantile is
// exact (error 0) against a sort of the same window, and its memory never
// grows past Window.
func TestBaselineQuantileExactOnRandomData(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, window := range []int{1, 2, 7, 64, 500} {
		b := newBaseline(Baseline{Window: window})
		var all []time.Duration
		for i := range 3000 {
			var d time.Duration
			switch i % 3 { // uniform, heavy-tailed and with many ties
			case 0:
				d = time.Duration(r.Int64N(int64(time.Second)))
			case 1:
				d = time.Duration(r.ExpFloat64() * float64(10*time.Millisecond))
			default:
				d = time.Duration(r.IntN(4)) * time.Millisecond
			}
			b.learn(d)
			all = append(all, d)
			win := all[max(0, len(all)-window):]
			if len(b.sorted) != len(win) || cap(b.sorted) != window || cap(b.ring) != window {
				t.Fatalf("window %d: %d kept (cap %d, %d), want %d", window, len(b.sorted), cap(b.sorted), cap(b.ring), len(win))
			}
			for _, q := range []float64{0.01, 0.5, 0.9, 0.99} {
				if got, want := b.quantile(q), exactQuantile(win, q); got != want {
					t.Fatalf("window %d, after %d: q%.2f = %v, want %v", window, i+1, q, got, want)
				}
			}
		}
	}
}

// FuzzBaseline checks the invariants on any sequence of durations: the
// sorted copy is sorted and the same multiset as the ring, bounded by Window,
// and a check is DEGRADED only after Consecutive slow runs.
func FuzzBaseline(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 200, 200, 1}, uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, window uint8) {
		b := newBaseline(Baseline{Window: int(window%32) + 1, WarmUp: 3, Consecutive: 2})
		slowRun := 0
		for _, x := range data {
			d := time.Duration(x) * time.Millisecond
			norm := b.normal()
			slow := norm > 0 && d > time.Duration(b.cfg.Factor*float64(max(norm, b.cfg.Floor)))
			if slow {
				slowRun++
			} else {
				slowRun = 0
			}
			if deg := b.observe(d); deg && slowRun == 0 && b.fastRun >= b.cfg.Consecutive {
				t.Fatalf("degraded after %d normal runs", b.fastRun)
			} else if deg && !b.degraded {
				t.Fatal("observe disagrees with state")
			}
			if len(b.ring) > b.cfg.Window || !slices.IsSorted(b.sorted) {
				t.Fatalf("ring %d > %d or unsorted %v", len(b.ring), b.cfg.Window, b.sorted)
			}
			r := slices.Clone(b.ring)
			slices.Sort(r)
			if !slices.Equal(r, b.sorted) {
				t.Fatalf("sorted %v is not the ring %v", b.sorted, b.ring)
			}
		}
	})
}

func TestBaselineJudgement(t *testing.T) {
	const ms = time.Millisecond
	b := newBaseline(Baseline{})
	feed := func(n int, d time.Duration) bool {
		var deg bool
		for range n {
			deg = b.observe(d)
		}
		return deg
	}
	if feed(19, 100*ms) || b.normal() != 0 {
		t.Fatal("judged during the warm-up")
	}
	if feed(1, 100*ms) || b.normal() != 100*ms {
		t.Fatalf("normal after warm-up = %v, want 100ms", b.normal())
	}
	if feed(1, 2*time.Second) || feed(5, 100*ms) {
		t.Fatal("a single spike made it DEGRADED")
	}
	if feed(2, time.Second) {
		t.Fatal("DEGRADED before Consecutive slow runs")
	}
	if !feed(1, time.Second) {
		t.Fatal("a sustained 10× slowdown is not DEGRADED")
	}
	if !feed(100, time.Second) || b.normal() != 100*ms {
		t.Fatalf("the slowdown became the normal: %v", b.normal())
	}
	if !feed(2, 100*ms) || feed(1, 100*ms) {
		t.Fatal("no recovery after Consecutive normal runs")
	}
	// The floor: a check of microseconds is not flagged for a millisecond.
	f := newBaseline(Baseline{WarmUp: 1, Consecutive: 1})
	f.observe(10 * time.Microsecond)
	if f.observe(time.Millisecond) {
		t.Fatal("1ms against a 10µs normal is under the 1ms floor × 5")
	}
}

// slowable is a checker that takes a settable (fake) time to succeed.
type slowable struct{ delay atomic.Int64 }

func (s *slowable) Check(ctx context.Context) error {
	t := time.NewTimer(time.Duration(s.delay.Load()))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A database that answers ten times slower than its normal, still under its
// timeout, is DEGRADED: 200 on every probe, "warn" in health+json, a
// transition logged, never DOWN and never unready; it recovers.
func TestBaselineDegradesNeverDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		m := New(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Authorize: AllowAll})
		db := &slowable{}
		db.delay.Store(int64(10 * time.Millisecond))
		must(t, m.Register(Check{Name: "db", Checker: db, Kinds: Liveness | Readiness, Interval: time.Second,
			NoStagger: true, Baseline: &Baseline{}}))
		results := make(chan Result, 1000)
		m.Subscribe(Subscriber{OnResult: func(r Result) { results <- r }})
		var statuses []StatusEvent
		m.Subscribe(Subscriber{OnStatus: func(e StatusEvent) { statuses = append(statuses, e) }})
		must(t, m.Start())
		defer stop(t, m)
		runs := func(n int, d time.Duration) Result {
			db.delay.Store(int64(d))
			var r Result
			for range n {
				r = <-results
				if r.Status == StatusDown || m.Peek(Readiness).Status == StatusDown || m.Peek(Liveness).Status == StatusDown {
					t.Fatalf("DOWN on latency alone: %+v", r)
				}
			}
			return r
		}

		if r := runs(25, 10*time.Millisecond); r.Status != StatusUp || r.Baseline != 10*time.Millisecond {
			t.Fatalf("learning: %v baseline %v", r.Status, r.Baseline)
		}
		if r := runs(1, 4*time.Second); r.Status != StatusUp { // one spike, under the timeout
			t.Fatalf("a single spike: %v", r.Status)
		}
		runs(3, 10*time.Millisecond)
		if r := runs(3, 100*time.Millisecond); r.Status != StatusDegraded {
			t.Fatalf("10× slowdown: %v", r.Status)
		}
		expect(t, get(t, m, "/readyz"), 200, `{"status":"DEGRADED"}`+"\n")
		expect(t, get(t, m, "/livez"), 200, `{"status":"DEGRADED"}`+"\n")
		w := get(t, m, "/readyz", "Accept", "application/health+json")
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"warn"`) ||
			!strings.Contains(w.Body.String(), "slower than its normal") {
			t.Fatalf("health+json: %d %s", w.Code, w.Body)
		}
		if v := decode[verboseBody](t, get(t, m, "/readyz?verbose")); v.Checks["db"].BaselineMS != 10 {
			t.Fatalf("verbose: %+v", v.Checks["db"])
		}
		if r := runs(20, 4*time.Second); r.Status != StatusDegraded || r.Baseline != 10*time.Millisecond {
			t.Fatalf("slow but in time: %v baseline %v", r.Status, r.Baseline)
		}
		if r := runs(3, 10*time.Millisecond); r.Status != StatusUp {
			t.Fatalf("recovery: %v", r.Status)
		}
		expect(t, get(t, m, "/readyz"), 200, `{"status":"UP"}`+"\n")
		stop(t, m) // waits for the deliveries: logs and statuses are ours now
		if !strings.Contains(logs.String(), "check is DEGRADED") {
			t.Fatalf("transition not logged:\n%s", logs.String())
		}
		var ready []Status
		for _, e := range statuses {
			if e.Kinds == Readiness {
				ready = append(ready, e.To)
			}
		}
		if !slices.Equal(ready, []Status{StatusUp, StatusDegraded, StatusUp}) {
			t.Fatalf("readiness went %v", ready)
		}
	})
}

// A failure is still a failure: the baseline does not hide one, and a check
// DOWN stays DOWN until its success threshold whatever its latency.
func TestBaselineFailureStillDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: slog.New(slog.DiscardHandler)})
		sw := up()
		must(t, m.Register(Check{Name: "db", Checker: sw, Interval: time.Second, NoStagger: true, Baseline: &Baseline{WarmUp: 1}}))
		results := make(chan Result, 100)
		m.Subscribe(Subscriber{OnResult: func(r Result) { results <- r }})
		must(t, m.Start())
		defer stop(t, m)
		<-results
		sw.set(context.DeadlineExceeded)
		if r := <-results; r.Status != StatusDown {
			t.Fatalf("failure: %v", r.Status)
		}
		sw.set(nil)
		if r := <-results; r.Status != StatusUp {
			t.Fatalf("recovered: %v", r.Status)
		}
	})
}

package health

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestTimeoutThroughContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &switchable{delay: time.Hour}
		m := New(Options{Logger: quiet})
		must(t, m.Register(Check{Name: "slow", Checker: slow, Timeout: 2 * time.Second, Interval: 10 * time.Second, NoStagger: true}))
		must(t, m.Start())
		defer stop(t, m)
		settle(3 * time.Second)
		r, _ := m.Result("slow")
		if r.Status != StatusDown || !strings.Contains(r.Error, "check timed out after 2s") {
			t.Fatalf("result = %+v, want DOWN with a timeout", r)
		}
		if r.Duration != 2*time.Second {
			t.Errorf("duration = %v, want the 2s timeout", r.Duration)
		}
	})
}

// A check that ignores its context cannot hold the probe past its timeout,
// and holds at most one goroutine however many runs come due.
func TestTimeoutOfCheckIgnoringContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var started atomic.Int64
		stubborn := CheckerFunc(func(context.Context) error {
			started.Add(1)
			<-release // ignores ctx
			return nil
		})
		m := New(Options{Logger: quiet})
		must(t, m.Register(Check{Name: "stubborn", Checker: stubborn, Timeout: time.Second, Interval: time.Second, NoStagger: true}))
		must(t, m.Start())
		settle(1500 * time.Millisecond)
		r, _ := m.Result("stubborn")
		if r.Status != StatusDown || !errors.Is(errors.New(r.Error), nil) && !strings.Contains(r.Error, ErrTimeout.Error()) {
			t.Fatalf("result = %+v, want DOWN by timeout", r)
		}
		expect(t, get(t, m, "/readyz"), 503, `{"status":"DOWN"}`+"\n")

		settle(10 * time.Second) // ten more runs come due
		if n := started.Load(); n != 1 {
			t.Errorf("invocations while the first is stuck = %d, want 1", n)
		}
		r, _ = m.Result("stubborn")
		if !strings.Contains(r.Error, ErrStillRunning.Error()) {
			t.Errorf("error = %q, want %q", r.Error, ErrStillRunning)
		}

		// Stop cannot wait for the stuck goroutine forever.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := m.Stop(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "stubborn") {
			t.Errorf("Stop = %v, want an error naming the stuck check", err)
		}
		close(release)
		synctest.Wait()
		stop(t, m) // now everything has exited
	})
}

func TestPanicBecomesFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		must(t, m.Register(Check{Name: "boom", Checker: CheckerFunc(func(context.Context) error { panic("nil map write") }), NoStagger: true}))
		must(t, m.Start())
		defer stop(t, m)
		settle(time.Millisecond)
		r, _ := m.Result("boom")
		if r.Status != StatusDown || r.Error != "panic: nil map write" {
			t.Errorf("result = %+v, want DOWN with the panic text", r)
		}
	})
}

// A check calling runtime.Goexit is a failed run with an honest message, and
// runs again at its next interval (it is not mistaken for a stuck run).
func TestGoexitBecomesFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int64
		exits := CheckerFunc(func(context.Context) error {
			runs.Add(1)
			runtime.Goexit()
			return nil
		})
		m := New(Options{Logger: quiet})
		must(t, m.Register(Check{Name: "exits", Checker: exits, Timeout: time.Second, Interval: 10 * time.Second, NoStagger: true}))
		must(t, m.Start())
		defer stop(t, m)
		settle(time.Millisecond)
		r, _ := m.Result("exits")
		if r.Status != StatusDown || r.Error != ErrGoexit.Error() || r.ConsecutiveFailures != 1 {
			t.Fatalf("after the first run: %+v, want DOWN with %q", r, ErrGoexit)
		}
		settle(10 * time.Second) // the next run comes due
		r, _ = m.Result("exits")
		if n := runs.Load(); n != 2 || r.Error != ErrGoexit.Error() || r.ConsecutiveFailures != 2 {
			t.Errorf("after the next interval: %d runs, %+v; want 2 runs failing with %q", n, r, ErrGoexit)
		}
	})
}

// Options.MaxConcurrency bounds how many checks run at once: with more checks
// due at the same instant than the bound, no more than the bound are ever
// inside Check together, and the rest wait their turn rather than failing.
func TestMaxConcurrencyBoundsRuns(t *testing.T) {
	const bound, checks = 3, 10
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inside, most, runs := 0, 0, 0
		busy := CheckerFunc(func(ctx context.Context) error {
			mu.Lock()
			inside++
			runs++
			most = max(most, inside)
			mu.Unlock()
			defer func() {
				mu.Lock()
				inside--
				mu.Unlock()
			}()
			timer := time.NewTimer(time.Second)
			defer timer.Stop()
			select {
			case <-timer.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		m := New(Options{Logger: quiet, MaxConcurrency: bound})
		for i := range checks {
			must(t, m.Register(Check{Name: fmt.Sprintf("c%d", i), Checker: busy, Timeout: time.Minute, Interval: time.Hour, NoStagger: true}))
		}
		must(t, m.Start())
		defer stop(t, m)
		synctest.Wait() // every check is due at once
		mu.Lock()
		if inside != bound {
			t.Errorf("checks inside Check at the start = %d, want the bound %d", inside, bound)
		}
		mu.Unlock()
		settle(time.Minute) // all of them get their turn
		mu.Lock()
		defer mu.Unlock()
		if most != bound || runs != checks {
			t.Errorf("at most %d checks ran at once over %d runs, want at most %d over %d", most, runs, bound, checks)
		}
		for i := range checks {
			if r, _ := m.Result(fmt.Sprintf("c%d", i)); r.Status != StatusUp {
				t.Errorf("c%d = %+v, want UP: a check waiting for a slot is not a failure", i, r)
			}
		}
	})
}

func TestThresholds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := up()
		m := New(Options{Logger: quiet})
		must(t, m.Register(Check{Name: "db", Checker: c, Interval: time.Second, FailureThreshold: 3, SuccessThreshold: 2, NoStagger: true}))
		must(t, m.Start())
		defer stop(t, m)
		status := func() (Status, int) {
			r, _ := m.Result("db")
			return r.Status, r.ConsecutiveFailures
		}
		step := func() { settle(time.Second) }

		settle(time.Millisecond) // first run
		if s, _ := status(); s != StatusUp {
			t.Fatalf("first success: %v, want UP at once", s)
		}
		c.set(errors.New("refused"))
		for i := 1; i <= 2; i++ {
			step()
			if s, n := status(); s != StatusUp || n != i {
				t.Fatalf("after %d failures: %v with %d failures, want UP below the threshold", i, s, n)
			}
		}
		expect(t, get(t, m, "/readyz"), 200, `{"status":"UP"}`+"\n")
		step()
		if s, n := status(); s != StatusDown || n != 3 {
			t.Fatalf("after 3 failures: %v (%d), want DOWN", s, n)
		}
		expect(t, get(t, m, "/readyz"), 503, `{"status":"DOWN"}`+"\n")

		c.set(nil)
		step()
		if s, n := status(); s != StatusDown || n != 0 {
			t.Fatalf("after 1 success: %v (%d failures), want DOWN below the success threshold", s, n)
		}
		step()
		if s, _ := status(); s != StatusUp {
			t.Fatalf("after 2 successes: %v, want UP", s)
		}
	})
}

// A check that has never succeeded is not UP, whatever its thresholds.
func TestHonestStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		must(t, m.Register(Check{Name: "db", Checker: down("refused"), FailureThreshold: 5, Interval: time.Second, NoStagger: true}))
		expect(t, get(t, m, "/readyz"), 503, `{"status":"DOWN"}`+"\n") // before Start
		must(t, m.Start())
		defer stop(t, m)
		settle(2500 * time.Millisecond)
		r, _ := m.Result("db")
		if r.Status != StatusDown || r.Pending || r.ConsecutiveFailures != 3 {
			t.Errorf("result = %+v, want DOWN after 3 failures", r)
		}
	})
}

func TestStaggeredFirstRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 50
		start := time.Now()
		var mu sync.Mutex
		first := map[string]time.Duration{}
		m := New(Options{Logger: quiet, MaxConcurrency: n})
		for i := range n {
			name := fmt.Sprintf("c%d", i)
			must(t, m.Register(Check{Name: name, Interval: 10 * time.Second, InitialDelay: 2 * time.Second,
				Checker: CheckerFunc(func(context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					if _, ok := first[name]; !ok {
						first[name] = time.Since(start)
					}
					return nil
				})}))
		}
		must(t, m.Start())
		defer stop(t, m)
		settle(12 * time.Second)
		mu.Lock()
		defer mu.Unlock()
		if len(first) != n {
			t.Fatalf("%d checks ran, want %d", len(first), n)
		}
		distinct := map[time.Duration]bool{}
		for name, d := range first {
			if d < 2*time.Second || d >= 12*time.Second {
				t.Errorf("%s first ran at %v, want within [InitialDelay, InitialDelay+Interval)", name, d)
			}
			distinct[d] = true
		}
		if len(distinct) < n/2 {
			t.Errorf("only %d distinct first-run times for %d checks: not staggered", len(distinct), n)
		}
	})
}

func TestNonCriticalDegrades(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet, Authorize: AllowAll})
		must(t, m.Register(Check{Name: "db", Checker: up(), NoStagger: true}))
		must(t, m.Register(Check{Name: "cache", Checker: down("redis: i/o timeout"), NonCritical: true, NoStagger: true}))
		must(t, m.Start())
		defer stop(t, m)
		settle(time.Millisecond)
		expect(t, get(t, m, "/readyz"), 200, `{"status":"DEGRADED"}`+"\n")
		expect(t, get(t, m, "/readyz", "Accept", "application/health+json"), 200, ietfDegraded)
		expect(t, get(t, m, "/readyz/cache"), 503, `{"status":"DOWN"}`+"\n")
	})
}

const ietfDegraded = `{"status":"warn","checks":{"cache":[{"status":"warn","time":"2000-01-01T00:00:00Z","output":"redis: i/o timeout"}],"db":[{"status":"pass","time":"2000-01-01T00:00:00Z"}]}}` + "\n"

func TestListenersSeeTransitionsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := up()
		m := New(Options{Logger: quiet})
		var mu sync.Mutex
		var got []string
		var results atomic.Int64
		m.Subscribe(Subscriber{
			OnCheck: func(e CheckEvent) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, fmt.Sprintf("check %s %v->%v", e.Result.Name, e.From, e.To))
			},
			OnStatus: func(e StatusEvent) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, fmt.Sprintf("%s %v->%v %s", probeName(e.Kinds), e.From, e.To, e.Reason))
			},
			OnResult: func(Result) { results.Add(1) },
		})
		must(t, m.Register(Check{Name: "db", Checker: c, Interval: time.Second, NoStagger: true}))
		must(t, m.Start())
		defer stop(t, m)
		settle(time.Millisecond)
		c.set(errors.New("refused"))
		settle(time.Second)
		m.Drain()
		m.Undrain()
		c.set(nil)
		settle(time.Second)
		mu.Lock()
		defer mu.Unlock()
		want := []string{
			"check db DOWN->UP", "readyz DOWN->UP ", "healthz DOWN->UP ",
			"check db UP->DOWN", "readyz UP->DOWN ", "healthz UP->DOWN ",
			"check db DOWN->UP", "readyz DOWN->UP ", "healthz DOWN->UP ",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if n := results.Load(); n != 3 {
			t.Errorf("OnResult called %d times, want 3", n)
		}
	})
}

func TestDrainEventsWhileUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		var got []string
		m.Subscribe(Subscriber{OnStatus: func(e StatusEvent) {
			got = append(got, fmt.Sprintf("%s %v->%v %s", probeName(e.Kinds), e.From, e.To, e.Reason))
		}})
		m.Drain()
		m.Drain() // idempotent
		m.Undrain()
		want := "readyz UP->DOWN draining,healthz UP->DOWN draining,readyz DOWN->UP ,healthz DOWN->UP "
		if strings.Join(got, ",") != want {
			t.Errorf("events %q, want %q", strings.Join(got, ","), want)
		}
	})
}

func TestRegisterErrors(t *testing.T) {
	m := New(Options{Logger: quiet})
	must(t, m.Register(Check{Name: "db", Checker: up()}))
	for _, tc := range []struct {
		c    Check
		want string
	}{
		{Check{Checker: up()}, "health: check name is empty"},
		{Check{Name: "a b", Checker: up()}, `health: check name "a b": character ' ' is not allowed (use letters, digits and -_.:)`},
		{Check{Name: "x/y", Checker: up()}, `health: check name "x/y": character '/' is not allowed (use letters, digits and -_.:)`},
		{Check{Name: "nil"}, `health: check "nil": Checker is nil`},
		{Check{Name: "k", Checker: up(), Kinds: 64}, `health: check "k": unknown kinds Kind(0x40)`},
		{Check{Name: "db", Checker: up()}, `health: duplicate check name: "db"`},
	} {
		if err := m.Register(tc.c); err == nil || err.Error() != tc.want {
			t.Errorf("Register(%+v) = %v, want %q", tc.c, err, tc.want)
		}
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Errorf("Stop of a never-started monitor: %v", err)
	}
	if err := m.Register(Check{Name: "late", Checker: up()}); !errors.Is(err, ErrStopped) {
		t.Errorf("Register after Stop = %v, want ErrStopped", err)
	}
	if err := m.Start(); !errors.Is(err, ErrStopped) {
		t.Errorf("Start after Stop = %v, want ErrStopped", err)
	}
}

func TestRegisterAfterStartRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		must(t, m.Start())
		defer stop(t, m)
		if err := m.Start(); err == nil {
			t.Error("second Start succeeded")
		}
		c := up()
		must(t, m.Register(Check{Name: "late", Checker: c, NoStagger: true}))
		settle(time.Millisecond)
		if c.runs.Load() != 1 {
			t.Errorf("runs = %d, want 1", c.runs.Load())
		}
	})
}

func TestStopEndsTheChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		c := up()
		must(t, m.Register(Check{Name: "db", Checker: c, Interval: time.Second, NoStagger: true}))
		must(t, m.Start())
		settle(2500 * time.Millisecond)
		if err := m.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		n := c.runs.Load()
		settle(10 * time.Second)
		if c.runs.Load() != n {
			t.Error("checks ran after Stop returned")
		}
		// The endpoints keep serving the last results.
		expect(t, get(t, m, "/readyz"), 200, `{"status":"UP"}`+"\n")
	})
}

func TestOnDemandCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &switchable{delay: 100 * time.Millisecond}
		m := New(Options{Logger: quiet})
		must(t, m.Register(Check{Name: "cheap", Checker: c, OnDemand: true, Interval: 5 * time.Second}))
		must(t, m.Start())
		defer stop(t, m)
		settle(time.Hour)
		if c.runs.Load() != 0 {
			t.Fatalf("on-demand check ran %d times without a request", c.runs.Load())
		}
		var wg sync.WaitGroup
		var codes [200]int
		for i := range codes {
			wg.Go(func() { codes[i] = get(t, m, "/readyz").Code })
		}
		wg.Wait()
		if n := c.runs.Load(); n != 1 {
			t.Errorf("200 concurrent requests ran the check %d times, want 1", n)
		}
		for i, code := range codes {
			if code != 200 {
				t.Fatalf("request %d: %d, want 200", i, code)
			}
		}
		settle(4 * time.Second)
		get(t, m, "/readyz")
		if n := c.runs.Load(); n != 1 {
			t.Errorf("a request within the minimum interval re-ran the check (%d runs)", n)
		}
		settle(2 * time.Second)
		get(t, m, "/readyz")
		if n := c.runs.Load(); n != 2 {
			t.Errorf("a stale result was not refreshed (%d runs)", n)
		}
	})
}

// A burst of 10,000 concurrent probe requests causes zero check runs: the
// endpoints serve the snapshot.
func TestBurstCausesNoCheckRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet, Authorize: AllowAll})
		var cs []*switchable
		for i := range 10 {
			c := up()
			cs = append(cs, c)
			must(t, m.Register(Check{Name: fmt.Sprintf("dep%d", i), Checker: c, Interval: 10 * time.Second, NoStagger: true}))
		}
		must(t, m.Start())
		defer stop(t, m)
		settle(time.Millisecond)
		count := func() (n int64) {
			for _, c := range cs {
				n += c.runs.Load()
			}
			return n
		}
		before := count()
		var wg sync.WaitGroup
		var failed atomic.Int64
		targets := []string{"/readyz", "/livez", "/healthz?verbose", "/readyz?exclude=dep1", "/readyz/dep3"}
		for i := range 10_000 {
			wg.Go(func() {
				if get(t, m, targets[i%len(targets)]).Code != 200 {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		if after := count(); after != before {
			t.Errorf("10,000 requests caused %d check runs, want 0", after-before)
		}
		if failed.Load() != 0 {
			t.Errorf("%d requests failed", failed.Load())
		}
	})
}

// A check registered after Start takes the probe DOWN until it passes, and
// listeners hear both transitions; before Start, registering is silent.
func TestRegisterAfterStartIsATransition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		var mu sync.Mutex
		var got []string
		m.Subscribe(Subscriber{OnStatus: func(e StatusEvent) {
			if e.Kinds == Liveness {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, fmt.Sprintf("%v->%v", e.From, e.To))
			}
		}})
		must(t, m.Register(Check{Name: "early", Checker: down("x"), Kinds: Liveness, NonCritical: true, NoStagger: true}))
		must(t, m.Start())
		defer stop(t, m)
		settle(time.Millisecond)
		c := down("refused")
		must(t, m.Register(Check{Name: "late", Checker: c, Kinds: Liveness, NoStagger: true, Interval: time.Second}))
		expect(t, get(t, m, "/livez"), 503, `{"status":"DOWN"}`+"\n")
		settle(time.Millisecond)
		c.set(nil)
		settle(time.Second)
		expect(t, get(t, m, "/livez"), 200, `{"status":"DEGRADED"}`+"\n")
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(got, ",") != "DEGRADED->DOWN,DOWN->DEGRADED" {
			t.Errorf("liveness events %v, want [DEGRADED->DOWN DOWN->DEGRADED]", got)
		}
	})
}

// cancel ends a subscription: no call after it returns, from inside a
// callback too; calling it again does nothing; other subscribers still hear.
func TestSubscribeCancel(t *testing.T) {
	m := New(Options{Logger: quiet})
	var first, second, other atomic.Int64
	var cancelFirst func()
	cancelFirst = m.Subscribe(Subscriber{OnStatus: func(StatusEvent) {
		first.Add(1)
		cancelFirst() // from inside a callback: the next event is not heard
	}})
	cancelSecond := m.Subscribe(Subscriber{OnStatus: func(StatusEvent) { second.Add(1) }})
	m.Subscribe(Subscriber{OnStatus: func(StatusEvent) { other.Add(1) }, OnCheck: nil, OnResult: nil})

	m.Drain() // readiness and healthz DOWN: two events
	if got := first.Load(); got != 1 {
		t.Errorf("subscriber that cancelled in its callback heard %d events, want 1", got)
	}
	if got := second.Load(); got != 2 {
		t.Errorf("second subscriber heard %d events, want 2", got)
	}
	cancelSecond()
	cancelSecond() // idempotent
	cancelFirst()
	m.Undrain()
	if first.Load() != 1 || second.Load() != 2 {
		t.Errorf("cancelled subscribers heard more: %d, %d", first.Load(), second.Load())
	}
	if got := other.Load(); got != 4 {
		t.Errorf("remaining subscriber heard %d events, want 4", got)
	}
	m.mu.Lock()
	n := len(m.subs)
	m.mu.Unlock()
	if n != 1 {
		t.Errorf("%d subscriptions kept, want 1", n)
	}
}

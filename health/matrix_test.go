package health

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestDecisionMatrix is the state decision matrix of SPEC §1, one subtest per
// row: the same service (a database, a mandatory broker, a volume, a worker
// loop, load shedding and a startup phase) put in each state, with the HTTP
// status and body of /livez and /readyz asserted.
func TestDecisionMatrix(t *testing.T) {
	type service struct {
		startup, worker, load, db, broker, volume *switchable
		m                                         *Monitor
	}
	const (
		upBody   = `{"status":"UP"}` + "\n"
		downBody = `{"status":"DOWN"}` + "\n"
	)
	rows := []struct {
		name        string
		arrange     func(s *service)
		alive       bool
		ready       bool
		description string
	}{
		{"startup phase", func(s *service) { s.startup.set(errors.New("migrations running")) }, false, false,
			"until startup completes, liveness and readiness are not judged UP"},
		{"ready", func(s *service) {}, true, true, "everything answers"},
		{"deadlock or stalled worker", func(s *service) { s.worker.set(errors.New("worker last beat 2m ago")) }, false, false,
			"a stalled loop fails liveness (a restart fixes it) and readiness"},
		{"heavy load", func(s *service) { s.load.set(errors.New("412 requests in flight, limit 400")) }, true, false,
			"load shedding takes the instance out of rotation, it stays alive"},
		{"database cannot be reached", func(s *service) { s.db.set(errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")) }, true, false,
			"its own database makes it unready, never dead"},
		{"mandatory broker cannot be reached", func(s *service) { s.broker.set(errors.New("amqp: connection closed")) }, true, false,
			"a mandatory broker is like the database"},
		{"volume has insufficient space", func(s *service) { s.volume.set(errors.New("/data: 1% free, need 5%")) }, true, false,
			"a full volume makes it unready"},
		{"slow response from database under its timeout", func(s *service) { s.db.delay = 4 * time.Second }, true, true,
			"slow but within the timeout is healthy"},
		{"draining after SIGTERM", func(s *service) { s.m.Drain() }, true, false,
			"readiness DOWN first, liveness stays UP"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &service{startup: up(), worker: up(), load: up(), db: up(), broker: up(), volume: up()}
				s.m = New(Options{Logger: quiet})
				for _, c := range []Check{
					{Name: "migrations", Checker: s.startup, Kinds: Startup, Interval: time.Second},
					{Name: "worker", Checker: s.worker, Kinds: Liveness | Readiness, Interval: time.Second},
					{Name: "load", Checker: s.load, Kinds: Readiness, Interval: time.Second},
					{Name: "db", Checker: s.db, Kinds: Readiness, Interval: time.Second, Timeout: 5 * time.Second},
					{Name: "broker", Checker: s.broker, Kinds: Readiness, Interval: time.Second},
					{Name: "volume", Checker: s.volume, Kinds: Readiness, Interval: time.Second},
				} {
					c.NoStagger = true
					if err := s.m.Register(c); err != nil {
						t.Fatal(err)
					}
				}
				row.arrange(s)
				if err := s.m.Start(); err != nil {
					t.Fatal(err)
				}
				defer stop(t, s.m)
				settle(10 * time.Second) // several intervals: every check has run
				synctest.Wait()

				wantCode := func(ok bool) (int, string) {
					if ok {
						return http.StatusOK, upBody
					}
					return http.StatusServiceUnavailable, downBody
				}
				code, body := wantCode(row.alive)
				expect(t, get(t, s.m, "/livez"), code, body)
				code, body = wantCode(row.ready)
				expect(t, get(t, s.m, "/readyz"), code, body)
			})
		})
	}
}

// TestStartupLatch: once every critical startup check has passed, startup is
// complete for good and startup-only checks stop running.
func TestStartupLatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		migrations := down("migrating")
		m := New(Options{Logger: quiet})
		must(t, m.Register(Check{Name: "migrations", Checker: migrations, Kinds: Startup, Interval: time.Second, NoStagger: true}))
		must(t, m.Register(Check{Name: "loop", Checker: up(), Kinds: Liveness, Interval: time.Second, NoStagger: true}))
		must(t, m.Start())
		defer stop(t, m)
		settle(3 * time.Second)
		expect(t, get(t, m, "/startupz"), 503, `{"status":"DOWN"}`+"\n")
		expect(t, get(t, m, "/livez"), 503, `{"status":"DOWN"}`+"\n")
		if got := decode[verboseBody](t, get(t, New(Options{}), "/livez")); got.Status != "UP" {
			t.Errorf("a monitor without checks is %q", got.Status)
		}

		migrations.set(nil)
		settle(time.Second + time.Millisecond)
		expect(t, get(t, m, "/startupz"), 200, `{"status":"UP"}`+"\n")
		expect(t, get(t, m, "/livez"), 200, `{"status":"UP"}`+"\n")

		runs := migrations.runs.Load()
		migrations.set(errors.New("would fail now"))
		settle(5 * time.Second)
		if got := migrations.runs.Load(); got != runs {
			t.Errorf("startup-only check ran %d more times after startup completed", got-runs)
		}
		expect(t, get(t, m, "/livez"), 200, `{"status":"UP"}`+"\n")
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDecisionMatrixSlowWithBaseline is the matrix row "slow response from
// database under its timeout" for a database check with a Baseline that has
// learned a normal of 10ms: still 200 on both probes, DEGRADED and "warn"
// instead of UP, never 503.
func TestDecisionMatrixSlowWithBaseline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet, Authorize: AllowAll})
		db := &slowable{}
		db.delay.Store(int64(10 * time.Millisecond))
		must(t, m.Register(Check{Name: "worker", Checker: up(), Kinds: Liveness | Readiness, Interval: time.Second, NoStagger: true}))
		must(t, m.Register(Check{Name: "db", Checker: db, Kinds: Readiness, Interval: time.Second,
			Timeout: 5 * time.Second, NoStagger: true, Baseline: &Baseline{}}))
		must(t, m.Start())
		defer stop(t, m)
		settle(30 * time.Second) // the warm-up: 20 runs and more
		expect(t, get(t, m, "/readyz"), 200, `{"status":"UP"}`+"\n")
		db.delay.Store(int64(4 * time.Second))
		for range 8 { // 8 × 5s: every run slow, none timed out
			settle(5 * time.Second)
			expect(t, get(t, m, "/livez"), 200, `{"status":"UP"}`+"\n")
			if w := get(t, m, "/readyz"); w.Code != 200 {
				t.Fatalf("/readyz %d %s", w.Code, w.Body)
			}
		}
		expect(t, get(t, m, "/readyz"), 200, `{"status":"DEGRADED"}`+"\n")
		w := get(t, m, "/readyz", "Accept", "application/health+json")
		if w.Code != 200 || !strings.HasPrefix(w.Body.String(), `{"status":"warn"`) {
			t.Fatalf("health+json: %d %s", w.Code, w.Body)
		}
	})
}

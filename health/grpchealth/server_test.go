package grpchealth

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vitals-go/vitals/health"
)

const accounts = "accounts.v1.Accounts"

// fixture is a Monitor with a critical "db" and a non-critical "cache",
// bridged to a real gRPC server, and a client over loopback.
type fixture struct {
	m         *health.Monitor
	db, cache *switchable
	hs        *Server
	client    healthpb.HealthClient
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{m: health.New(health.Options{Logger: quiet}), db: &switchable{}, cache: &switchable{}}
	must(t, f.m.Register(fastCheck("db", f.db, false)))
	must(t, f.m.Register(fastCheck("cache", f.cache, true)))
	hs, err := New(f.m, opts)
	must(t, err)
	f.hs = hs
	_, addr := serve(t, hs, nil)
	f.client = healthpb.NewHealthClient(dial(t, addr))
	startMonitor(t, f.m)
	must(t, hs.Start())
	return f
}

func (f *fixture) check(t *testing.T, service string) (healthpb.HealthCheckResponse_ServingStatus, error) {
	t.Helper()
	resp, err := f.client.Check(testCtx(t), &healthpb.HealthCheckRequest{Service: service})
	return resp.GetStatus(), err
}

func (f *fixture) watch(t *testing.T, service string) healthpbWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	t.Cleanup(cancel)
	w, err := f.client.Watch(ctx, &healthpb.HealthCheckRequest{Service: service})
	must(t, err)
	return w
}

type healthpbWatch = interface {
	Recv() (*healthpb.HealthCheckResponse, error)
}

func waitW(t *testing.T, w healthpbWatch, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	for {
		resp, err := w.Recv()
		if err != nil {
			t.Fatalf("watch: waiting for %s: %v", want, err)
		}
		if resp.GetStatus() == want {
			return
		}
	}
}

func TestCheckAndWatchFollowTheChecks(t *testing.T) {
	f := newFixture(t, Options{Services: map[string][]string{accounts: {"db"}}})
	overall := f.watch(t, "")
	svc := f.watch(t, accounts)
	waitW(t, overall, serving)
	waitW(t, svc, serving)
	if st, err := f.check(t, ""); err != nil || st != serving {
		t.Fatalf(`Check(""): %v, %v; want SERVING`, st, err)
	}

	f.db.set(errDown)
	waitW(t, overall, notServing)
	waitW(t, svc, notServing)
	for _, s := range []string{"", accounts} {
		if st, err := f.check(t, s); err != nil || st != notServing {
			t.Fatalf("Check(%q) with db down: %v, %v; want NOT_SERVING", s, st, err)
		}
	}

	f.db.set(nil)
	waitW(t, overall, serving)
	waitW(t, svc, serving)
}

func TestDegradedIsServing(t *testing.T) {
	f := newFixture(t, Options{Services: map[string][]string{accounts: {"db", "cache"}}, PerCheck: true})
	cache := f.watch(t, "cache")
	waitW(t, cache, serving)
	f.cache.set(errDown)
	waitW(t, cache, notServing) // the check itself is DOWN
	for _, s := range []string{"", accounts} {
		if st, err := f.check(t, s); err != nil || st != serving {
			t.Fatalf("Check(%q) with a non-critical check down: %v, %v; want SERVING (DEGRADED)", s, st, err)
		}
	}
}

func TestUnknownService(t *testing.T) {
	f := newFixture(t, Options{})
	_, err := f.check(t, "no.such.Service")
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Check(unknown): %v; want NotFound", err)
	}
	w := f.watch(t, "no.such.Service")
	resp, err := w.Recv()
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Fatalf("Watch(unknown): %v, %v; want SERVICE_UNKNOWN", resp.GetStatus(), err)
	}
}

func TestList(t *testing.T) {
	f := newFixture(t, Options{
		Probes:   map[string]health.Kind{"liveness": health.Liveness},
		Services: map[string][]string{accounts: {"db"}, "ghost.v1.Ghost": {"not-registered"}},
		PerCheck: true,
	})
	waitW(t, f.watch(t, "cache"), serving)
	f.cache.set(errDown)
	waitW(t, f.watch(t, "cache"), notServing)
	resp, err := f.client.List(testCtx(t), &healthpb.HealthListRequest{})
	must(t, err)
	got := map[string]healthpb.HealthCheckResponse_ServingStatus{}
	for name, r := range resp.GetStatuses() {
		got[name] = r.GetStatus()
	}
	want := map[string]healthpb.HealthCheckResponse_ServingStatus{
		"":               serving,
		"liveness":       serving,
		accounts:         serving,
		"ghost.v1.Ghost": notServing, // its check is not registered
		"db":             serving,
		"cache":          notServing,
	}
	if len(got) != len(want) {
		t.Fatalf("List: %v; want %v", got, want)
	}
	for name, st := range want {
		if got[name] != st {
			t.Errorf("List[%q] = %v; want %v", name, got[name], st)
		}
	}
}

func TestDrainTurnsServicesNotServingButNotLiveness(t *testing.T) {
	f := newFixture(t, Options{
		Probes:   map[string]health.Kind{"liveness": health.Liveness},
		Services: map[string][]string{accounts: {"db"}},
	})
	overall, svc, live := f.watch(t, ""), f.watch(t, accounts), f.watch(t, "liveness")
	waitW(t, overall, serving)
	waitW(t, svc, serving)
	waitW(t, live, serving)
	f.m.Drain()
	waitW(t, overall, notServing)
	waitW(t, svc, notServing)
	if st, err := f.check(t, "liveness"); err != nil || st != serving {
		t.Fatalf("liveness while draining: %v, %v; want SERVING", st, err)
	}
	f.m.Undrain()
	waitW(t, overall, serving)
	waitW(t, svc, serving)
}

func TestNotServingBeforeStart(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	must(t, m.Register(fastCheck("db", &switchable{}, false)))
	hs, err := New(m, Options{Services: map[string][]string{accounts: {"db"}}})
	must(t, err)
	for _, s := range []string{"", accounts} {
		resp, err := hs.Check(context.Background(), &healthpb.HealthCheckRequest{Service: s})
		if err != nil || resp.GetStatus() != notServing {
			t.Fatalf("Check(%q) before Start: %v, %v; want NOT_SERVING", s, resp.GetStatus(), err)
		}
	}
	hs.Stop()
	if err := hs.Start(); !errors.Is(err, ErrStarted) {
		t.Fatalf("Start after Stop: %v; want ErrStarted", err)
	}
}

// TestStopEndsWatch checks that Stop tells watchers NOT_SERVING, then ends
// their streams, so that GracefulStop (run by the cleanup) completes.
func TestStopEndsWatch(t *testing.T) {
	f := newFixture(t, Options{})
	w := f.watch(t, "")
	waitW(t, w, serving)
	f.hs.Stop()
	waitW(t, w, notServing)
	if _, err := w.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("Recv after Stop: %v; want Unavailable", err)
	}
	// A Watch that starts after Stop gets NOT_SERVING and ends too.
	w2 := f.watch(t, "")
	waitW(t, w2, notServing)
	if _, err := w2.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("Recv of a Watch after Stop: %v; want Unavailable", err)
	}
	if st, err := f.check(t, ""); err != nil || st != notServing {
		t.Fatalf("Check after Stop: %v, %v; want NOT_SERVING", st, err)
	}
}

// TestCheckRegisteredLater checks that a check registered while everything
// runs shows up (per check) and takes readiness down if it fails, although
// registering is not a transition.
func TestCheckRegisteredLater(t *testing.T) {
	f := newFixture(t, Options{PerCheck: true})
	overall := f.watch(t, "")
	waitW(t, overall, serving)
	must(t, f.m.Register(fastCheck("late", &switchable{err: errDown}, false)))
	waitW(t, overall, notServing)
	waitW(t, f.watch(t, "late"), notServing)
}

func TestNewRejectsBadOptions(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	for name, opts := range map[string]Options{
		"probe and service": {Probes: map[string]health.Kind{"x": health.Liveness}, Services: map[string][]string{"x": {"db"}}},
		"empty service":     {Services: map[string][]string{"x": nil}},
		"root as service":   {Services: map[string][]string{"": {"db"}}},
		"bad kind":          {Probes: map[string]health.Kind{"x": 0}},
	} {
		if _, err := New(m, opts); err == nil {
			t.Errorf("%s: New succeeded; want an error", name)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil): succeeded; want an error")
	}
}

// TestStopLeavesNoGoroutines checks that Stop waits for the update loop.
func TestStopLeavesNoGoroutines(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	must(t, m.Register(fastCheck("db", &switchable{}, false)))
	startMonitor(t, m)
	hs, err := New(m, Options{})
	must(t, err)
	must(t, hs.Start())
	hs.Stop()
	hs.Stop() // idempotent
	// Stop has waited for the loop; give the runtime a moment to retire
	// the goroutine from the list (it may be between Done and exit).
	eventually(t, "no goroutine of the Server left", func() bool {
		return goroutinesOf("grpchealth.(*Server)") == ""
	})
}

// TestUpdatesWithoutPolling checks that the bridge reacts to a drain (an
// event with no check run behind it) with the checks' intervals far away.
func TestUpdatesWithoutPolling(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	db := &switchable{}
	must(t, m.Register(health.Check{Name: "db", Checker: db, Interval: time.Hour, NoStagger: true}))
	startMonitor(t, m)
	eventually(t, "first run", func() bool { return db.runs.Load() == 1 })
	hs, err := New(m, Options{})
	must(t, err)
	_, addr := serve(t, hs, nil)
	client := healthpb.NewHealthClient(dial(t, addr))
	must(t, hs.Start())
	w, err := client.Watch(testCtx(t), &healthpb.HealthCheckRequest{})
	must(t, err)
	waitW(t, w, serving)
	m.Drain()
	waitW(t, w, notServing)
	m.Undrain()
	waitW(t, w, serving)
	if n := db.runs.Load(); n != 1 {
		t.Fatalf("the check ran %d times; want 1 (the bridge must not run checks)", n)
	}
}

// TestStopCancelsSubscription checks that Stop ends the bridge's
// subscription to the Monitor: a Monitor that outlives many bridges does not
// keep calling them.
func TestStopCancelsSubscription(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	var calls int
	m.Subscribe(health.Subscriber{OnStatus: func(health.StatusEvent) { calls++ }}) // a witness that events happen
	hs, err := New(m, Options{})
	must(t, err)
	must(t, hs.Start())
	m.Drain()
	select {
	case <-hs.kick: // the bridge heard the drain (or its loop did)
	default:
	}
	hs.Stop()
	select {
	case <-hs.kick: // a poke queued before Stop
	default:
	}
	before := calls
	m.Undrain()
	m.Drain()
	if calls == before {
		t.Fatal("the Monitor sent no events")
	}
	select {
	case <-hs.kick:
		t.Fatal("the bridge was called after Stop")
	default:
	}
}

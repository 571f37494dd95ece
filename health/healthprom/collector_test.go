package healthprom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vitals-go/vitals/health"
)

var quiet = slog.New(slog.DiscardHandler)

// counting is a checker whose outcome the test sets, counting its runs.
type counting struct {
	mu   sync.Mutex
	err  error
	runs atomic.Int64
}

func (c *counting) set(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

func (c *counting) Check(ctx context.Context) error {
	c.runs.Add(1)
	health.Observe(ctx, 42, "percent")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func startMonitor(t testing.TB, m *health.Monitor) {
	t.Helper()
	must(t, m.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		must(t, m.Stop(ctx))
	})
}

// waitFor waits until the check has been recorded with the wanted status
// at least runs times.
func waitFor(t testing.TB, m *health.Monitor, c *counting, name string, runs int64, want health.Status) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, _ := m.Result(name)
		if c.runs.Load() >= runs && !r.Pending && r.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s to be %v after %d runs (got %v after %d)", name, want, runs, r.Status, c.runs.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestExposition(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	db, cache := &counting{}, &counting{err: errors.New("refused")}
	must(t, m.Register(health.Check{Name: "db", Checker: db, Kinds: health.Liveness | health.Readiness, Interval: time.Millisecond, NoStagger: true}))
	must(t, m.Register(health.Check{Name: "cache", Checker: cache, NonCritical: true, Interval: time.Millisecond, NoStagger: true}))
	must(t, m.Register(health.Check{Name: "lazy", Checker: &counting{}, Kinds: health.Startup, OnDemand: true}))
	c := New(m, Options{})
	startMonitor(t, m)
	waitFor(t, m, db, "db", 1, health.StatusUp)
	db.set(errors.New("gone"))
	waitFor(t, m, db, "db", db.runs.Load()+1, health.StatusDown)

	// The statuses and probes, exactly ("lazy", on-demand, never ran: the
	// scrape did not run it, so startup is DOWN).
	want := `
# HELP health_check_up Whether the health check is UP (1) or DOWN (0, also before its first run).
# TYPE health_check_up gauge
health_check_up{check="cache",critical="false",kind="readiness"} 0
health_check_up{check="db",critical="true",kind="liveness+readiness"} 0
health_check_up{check="lazy",critical="true",kind="startup"} 0
# HELP health_check_transitions_total Status changes of the health check, by the status changed to.
# TYPE health_check_transitions_total counter
health_check_transitions_total{check="cache",to="degraded"} 0
health_check_transitions_total{check="cache",to="down"} 0
health_check_transitions_total{check="cache",to="up"} 0
health_check_transitions_total{check="db",to="degraded"} 0
health_check_transitions_total{check="db",to="down"} 1
health_check_transitions_total{check="db",to="up"} 1
health_check_transitions_total{check="lazy",to="degraded"} 0
health_check_transitions_total{check="lazy",to="down"} 0
health_check_transitions_total{check="lazy",to="up"} 0
# HELP health_probe_up Whether the probe answers 200 (1: UP or DEGRADED) or 503 (0: DOWN).
# TYPE health_probe_up gauge
health_probe_up{probe="all"} 0
health_probe_up{probe="liveness"} 0
health_probe_up{probe="readiness"} 0
health_probe_up{probe="startup"} 0
# HELP health_probe_status The probe's current status (1) among UP, DEGRADED and DOWN.
# TYPE health_probe_status gauge
health_probe_status{probe="all",status="DEGRADED"} 0
health_probe_status{probe="all",status="DOWN"} 1
health_probe_status{probe="all",status="UP"} 0
health_probe_status{probe="liveness",status="DEGRADED"} 0
health_probe_status{probe="liveness",status="DOWN"} 1
health_probe_status{probe="liveness",status="UP"} 0
health_probe_status{probe="readiness",status="DEGRADED"} 0
health_probe_status{probe="readiness",status="DOWN"} 1
health_probe_status{probe="readiness",status="UP"} 0
health_probe_status{probe="startup",status="DEGRADED"} 0
health_probe_status{probe="startup",status="DOWN"} 1
health_probe_status{probe="startup",status="UP"} 0
`
	// The Monitor records a result (what waitFor sees) before it delivers
	// the transition to subscribers such as c: wait for the delivery.
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := testutil.CollectAndCompare(c, strings.NewReader(want),
			"health_check_up", "health_check_transitions_total", "health_probe_up", "health_probe_status")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}

	// The others exist for the checks that ran.
	for name, n := range map[string]int{
		MetricCheckDuration:           2, // db and cache: one histogram each
		MetricCheckLastSuccess:        1, // db only: cache never succeeded
		MetricCheckConsecutiveFailure: 3,
		MetricCheckObservedValue:      2,
	} {
		if got := testutil.CollectAndCount(c, name); got != n {
			t.Errorf("%s: %d series; want %d", name, got, n)
		}
	}
}

func TestExpositionIsLintClean(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	var cs []*counting
	for i := range 3 {
		cs = append(cs, &counting{})
		must(t, m.Register(health.Check{Name: fmt.Sprintf("c%d", i), Checker: cs[i], Interval: time.Millisecond, NoStagger: true}))
	}
	c := New(m, Options{})
	startMonitor(t, m)
	for i := range cs {
		waitFor(t, m, cs[i], fmt.Sprintf("c%d", i), 1, health.StatusUp)
	}
	problems, err := testutil.CollectAndLint(c)
	must(t, err)
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	// And the names the package documents are the names it exports.
	reg := prometheus.NewPedanticRegistry()
	must(t, reg.Register(c))
	mfs, err := reg.Gather()
	must(t, err)
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, name := range []string{MetricCheckUp, MetricCheckDuration, MetricCheckTransitions, MetricCheckLastSuccess,
		MetricCheckConsecutiveFailure, MetricCheckObservedValue, MetricProbeUp, MetricProbeStatus} {
		if !got[name] {
			t.Errorf("metric %s is not exported", name)
		}
	}
}

func TestNamespaceAndConstLabels(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	c := New(m, Options{Namespace: "api", ConstLabels: prometheus.Labels{"component": "api"}})
	want := `
# HELP api_probe_up Whether the probe answers 200 (1: UP or DEGRADED) or 503 (0: DOWN).
# TYPE api_probe_up gauge
api_probe_up{component="api",probe="all"} 1
api_probe_up{component="api",probe="liveness"} 1
api_probe_up{component="api",probe="readiness"} 1
api_probe_up{component="api",probe="startup"} 1
`
	must(t, testutil.CollectAndCompare(c, strings.NewReader(want), "api_probe_up"))
}

func TestBadObservedUnitDoesNotPanic(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	must(t, m.Register(health.Check{Name: "odd", NoStagger: true, Interval: time.Hour, Checker: health.CheckerFunc(func(ctx context.Context) error {
		health.Observe(ctx, 1, "\xff\xfe")
		return nil
	})}))
	c := New(m, Options{})
	startMonitor(t, m)
	waitFor(t, m, &counting{}, "odd", 0, health.StatusUp)
	if n := testutil.CollectAndCount(c, MetricCheckObservedValue); n != 1 {
		t.Fatalf("observed value series: %d; want 1", n)
	}
}

// TestScrapeRunsNoCheck scrapes 100 checks over real HTTP many times and
// asserts that no check ran because of it, on-demand checks included.
func TestScrapeRunsNoCheck(t *testing.T) {
	m := health.New(health.Options{Logger: quiet})
	var checkers []*counting
	for i := range 100 {
		ch := &counting{}
		checkers = append(checkers, ch)
		must(t, m.Register(health.Check{
			Name:      fmt.Sprintf("check-%03d", i),
			Checker:   ch,
			Interval:  time.Hour, // runs once, at Start
			NoStagger: true,
			OnDemand:  i%10 == 0, // never runs: nothing requests it
		}))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(m, Options{}))
	startMonitor(t, m)
	for i, ch := range checkers {
		if i%10 != 0 {
			waitFor(t, m, ch, fmt.Sprintf("check-%03d", i), 1, health.StatusUp)
		}
	}
	runs := func() (n int64) {
		for _, ch := range checkers {
			n += ch.runs.Load()
		}
		return n
	}
	before := runs()
	if before != 90 {
		t.Fatalf("%d runs before scraping; want 90", before)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() { srv.Close(); <-served }()
	url := "http://" + ln.Addr().String() + "/metrics"
	for range 25 { // each scrape reads every check; 25 are plenty (and slow under -race)
		resp, err := http.Get(url)
		must(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		must(t, err)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `health_check_up{check="check-099"`) {
			t.Fatalf("scrape: %s\n%.300s", resp.Status, body)
		}
	}
	if after := runs(); after != before {
		t.Fatalf("25 scrapes of 100 checks caused %d check runs; want 0", after-before)
	}
}

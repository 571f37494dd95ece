package healthprom

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vitals-go/vitals/health"
)

// scrapeBench measures a full scrape (gather and text encoding through
// promhttp) of reg.
func scrapeBench(b *testing.B, reg *prometheus.Registry) {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkScrape100Checks scrapes the Collector of a Monitor with 100
// checks that have all run once (so every series exists).
func BenchmarkScrape100Checks(b *testing.B) {
	m := health.New(health.Options{Logger: quiet})
	var cs []*counting
	for i := range 100 {
		c := &counting{}
		cs = append(cs, c)
		must(b, m.Register(health.Check{Name: fmt.Sprintf("check-%03d", i), Checker: c, Interval: time.Hour, NoStagger: true}))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(New(m, Options{}))
	startMonitor(b, m)
	for i, c := range cs {
		waitFor(b, m, c, fmt.Sprintf("check-%03d", i), 1, health.StatusUp)
	}
	var runs int64
	for _, c := range cs {
		runs += c.runs.Load()
	}
	scrapeBench(b, reg)
	b.StopTimer()
	for _, c := range cs {
		runs -= c.runs.Load()
	}
	if runs != 0 {
		b.Fatalf("scrapes caused %d check runs", -runs)
	}
}

// BenchmarkScrapeBaseline scrapes the same series count made of plain
// client_golang metrics (a GaugeVec per per-check gauge, a HistogramVec),
// the cost of the exposition itself.
func BenchmarkScrapeBaseline(b *testing.B) {
	reg := prometheus.NewRegistry()
	gauge := func(name string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: name}, labels)
		reg.MustRegister(g)
		return g
	}
	up := gauge("b_check_up", "check", "kind", "critical")
	trans := gauge("b_check_transitions", "check", "to")
	last := gauge("b_check_last_success", "check")
	fails := gauge("b_check_consecutive_failures", "check")
	obs := gauge("b_check_observed_value", "check", "unit")
	probe := gauge("b_probe_up", "probe")
	pstat := gauge("b_probe_status", "probe", "status")
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "b_check_duration_seconds", Help: "d", Buckets: DefaultBuckets}, []string{"check"})
	reg.MustRegister(hist)
	for i := range 100 {
		n := fmt.Sprintf("check-%03d", i)
		up.WithLabelValues(n, "readiness", "true").Set(1)
		trans.WithLabelValues(n, "up").Set(1)
		trans.WithLabelValues(n, "down").Set(0)
		last.WithLabelValues(n).Set(1.7e9)
		fails.WithLabelValues(n).Set(0)
		obs.WithLabelValues(n, "percent").Set(42)
		hist.WithLabelValues(n).Observe(0.001)
	}
	for _, p := range []string{"liveness", "readiness", "startup", "all"} {
		probe.WithLabelValues(p).Set(1)
		for _, s := range []string{"UP", "DEGRADED", "DOWN"} {
			pstat.WithLabelValues(p, s).Set(0)
		}
	}
	scrapeBench(b, reg)
}

package health

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchMonitor is a started monitor with ten healthy checks that have run.
func benchMonitor(b *testing.B) *Monitor {
	b.Helper()
	m := New(Options{Logger: quiet, Authorize: AllowAll})
	for i := range 10 {
		if err := m.Register(Check{Name: fmt.Sprintf("dep%d", i), Checker: up(), Interval: time.Hour, NoStagger: true}); err != nil {
			b.Fatal(err)
		}
	}
	if err := m.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Stop(b.Context()) })
	for range 1000 {
		if m.snap.Load().probes[1].status == StatusUp {
			return m
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatal("checks did not run")
	return nil
}

// fixedBytes is the baseline: a handler writing the same fixed bytes with the
// same headers, and nothing else.
func fixedBytes(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = hdrJSON
		h["Cache-Control"] = hdrNoStore
		w.WriteHeader(200)
		w.Write(body)
	}
}

// BenchmarkServeHTTP compares the probe handler against the fixed-bytes
// baseline in the same run, in process with an httptest recorder.
func BenchmarkServeHTTP(b *testing.B) {
	m := benchMonitor(b)
	verbose := m.snap.Load().probes[1].appendVerbose(nil, time.Minute)
	cases := []struct {
		name    string
		h       http.Handler
		target  string
		headers map[string]string
	}{
		{"baseline=fixed-minimal", fixedBytes(minimalBodies[StatusUp]), "/readyz", nil},
		{"readyz=minimal", m, "/readyz", nil},
		{"baseline=fixed-verbose", fixedBytes(verbose), "/readyz?verbose", nil},
		{"readyz=verbose", m, "/readyz?verbose", nil},
		{"readyz=ietf", m, "/readyz", map[string]string{"Accept": "application/health+json"}},
		{"readyz=exclude", m, "/readyz?exclude=dep1", nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", c.target, nil)
			for k, v := range c.headers {
				r.Header.Set(k, v)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

// BenchmarkServeHTTPParallel is the same comparison from all CPUs at once.
func BenchmarkServeHTTPParallel(b *testing.B) {
	m := benchMonitor(b)
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"baseline=fixed-minimal", fixedBytes(minimalBodies[StatusUp])}, {"readyz=minimal", m}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest("GET", "/readyz", nil)
				for pb.Next() {
					w := httptest.NewRecorder()
					c.h.ServeHTTP(w, r)
				}
			})
		})
	}
}

// reuseWriter is a ResponseWriter that allocates nothing once warm, so that
// a benchmark counts the handler's own allocations only.
type reuseWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *reuseWriter) Header() http.Header { return w.h }
func (w *reuseWriter) WriteHeader(c int)   { w.code = c }
func (w *reuseWriter) Write(b []byte) (int, error) {
	w.n += len(b)
	return len(b), nil
}

// BenchmarkServeHTTPHandlerOnly counts what the handler itself allocates,
// without the recorder's own allocations.
func BenchmarkServeHTTPHandlerOnly(b *testing.B) {
	m := benchMonitor(b)
	for _, c := range []struct {
		name, target string
		h            http.Handler
	}{
		{"baseline=fixed-minimal", "/readyz", fixedBytes(minimalBodies[StatusUp])},
		{"readyz=minimal", "/readyz", m},
		{"baseline=fixed-verbose", "/readyz?verbose", fixedBytes(m.snap.Load().probes[1].appendVerbose(nil, time.Minute))},
		{"readyz=verbose", "/readyz?verbose", m},
		{"readyz=exclude", "/readyz?exclude=dep1", m},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", c.target, nil)
			w := &reuseWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkRecord is the cost of recording one result, without and with a
// Baseline (window 64): the per-result overhead of the option.
func BenchmarkRecord(b *testing.B) {
	for _, bc := range []struct {
		name string
		base *Baseline
	}{{"plain", nil}, {"baseline", &Baseline{}}} {
		b.Run(bc.name, func(b *testing.B) {
			m := New(Options{Logger: quiet})
			if err := m.Register(Check{Name: "db", Checker: up(), Baseline: bc.base}); err != nil {
				b.Fatal(err)
			}
			cs := m.checks["db"]
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				m.record(cs, outcome{duration: time.Duration(5e6 + r.Int64N(1e6))})
			}
		})
	}
}

// BenchmarkBaselineObserve is the Baseline's own work per result.
func BenchmarkBaselineObserve(b *testing.B) {
	bl := newBaseline(Baseline{})
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		bl.observe(time.Duration(5e6 + r.Int64N(1e6)))
	}
}

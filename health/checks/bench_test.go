package checks_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health/checks"
)

// nopWriter is a ResponseWriter that does nothing, so that benchmarks
// measure the middleware and not the writer.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

var bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

func benchHandler(b *testing.B, h http.Handler) {
	r, _ := http.NewRequest("GET", "/", nil)
	w := &nopWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func benchHandlerParallel(b *testing.B, h http.Handler) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r, _ := http.NewRequest("GET", "/", nil)
		w := &nopWriter{h: make(http.Header)}
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}

// BenchmarkPassive compares the bare handler with the same handler behind
// the Passive middleware, serially and in parallel (run with -cpu 1,2).
func BenchmarkPassive(b *testing.B) {
	p := checks.NewPassive(checks.PassiveOptions{})
	wrapped := p.Middleware(bare)
	b.Run("bare", func(b *testing.B) { benchHandler(b, bare) })
	b.Run("wrapped", func(b *testing.B) { benchHandler(b, wrapped) })
	b.Run("bare-parallel", func(b *testing.B) { benchHandlerParallel(b, bare) })
	b.Run("wrapped-parallel", func(b *testing.B) { benchHandlerParallel(b, wrapped) })
	b.Run("record-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p.Record(false)
			}
		})
	})
	// Baseline: what one shared counter (no shards) costs under RunParallel.
	var shared atomic.Uint64
	b.Run("one-counter-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				shared.Add(1)
			}
		})
	})
	off := checks.NewPassive(checks.PassiveOptions{})
	off.SetEnabled(false)
	wrappedOff := off.Middleware(bare)
	b.Run("wrapped-disabled", func(b *testing.B) { benchHandler(b, wrappedOff) })
}

// BenchmarkStallBeat measures Beat, serially and with one Stall per
// goroutine (run with -cpu 1,2).
func BenchmarkStallBeat(b *testing.B) {
	s := checks.NewStall("bench", time.Minute)
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Beat()
		}
	})
	b.Run("parallel-own", func(b *testing.B) {
		g := checks.NewStalls(time.Minute)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			s := g.Add("w")
			for pb.Next() {
				s.Beat()
			}
		})
	})
	a := checks.NewActivity("bench", time.Minute, checks.ActivityOptions{})
	b.Run("activity-touch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.Touch()
		}
	})
}

// BenchmarkInFlight measures the in-flight middleware over the bare handler.
func BenchmarkInFlight(b *testing.B) {
	l := checks.NewInFlight(1000, checks.InFlightOptions{})
	b.Run("wrapped", func(b *testing.B) { benchHandler(b, l.Middleware(bare)) })
	b.Run("wrapped-parallel", func(b *testing.B) { benchHandlerParallel(b, l.Middleware(bare)) })
}

// BenchmarkPassiveOverhead alternates chunks of bare and wrapped calls in
// one loop and reports the fastest chunk of each, per call: on a shared
// machine the fastest chunk is the one least disturbed by other processes,
// and alternating keeps both under the same conditions. The ns/op column
// is the mean of both and means little; read the custom metrics.
func BenchmarkPassiveOverhead(b *testing.B) {
	p := checks.NewPassive(checks.PassiveOptions{})
	wrapped := p.Middleware(bare)
	r, _ := http.NewRequest("GET", "/", nil)
	w := &nopWriter{h: make(http.Header)}
	const chunk = 2048
	bestBare, bestWrapped := time.Duration(1<<62), time.Duration(1<<62)
	b.ReportAllocs()
	for i := 0; i < b.N; i += 2 * chunk {
		t0 := time.Now()
		serveN(bare, w, r, chunk)
		t1 := time.Now()
		serveN(wrapped, w, r, chunk)
		t2 := time.Now()
		bestBare = min(bestBare, t1.Sub(t0))
		bestWrapped = min(bestWrapped, t2.Sub(t1))
	}
	bareNs := float64(bestBare.Nanoseconds()) / chunk
	wrappedNs := float64(bestWrapped.Nanoseconds()) / chunk
	b.ReportMetric(bareNs, "bare-ns/op")
	b.ReportMetric(wrappedNs, "wrapped-ns/op")
	b.ReportMetric(wrappedNs-bareNs, "overhead-ns/op")
	b.ReportMetric(wrappedNs/bareNs, "wrapped/bare")
}

// serveN calls h n times through the http.Handler interface, as a server
// does, so that bare and wrapped handlers are dispatched alike.
//
//go:noinline
func serveN(h http.Handler, w http.ResponseWriter, r *http.Request, n int) {
	for range n {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkStallBeatFastest reports the fastest chunk of Beat calls, per
// call, next to a bare atomic store measured in the same loop.
func BenchmarkStallBeatFastest(b *testing.B) {
	s := checks.NewStall("bench", time.Minute)
	var x atomic.Int64
	const chunk = 2048
	bestBeat, bestStore := time.Duration(1<<62), time.Duration(1<<62)
	for i := 0; i < b.N; i += 2 * chunk {
		t0 := time.Now()
		for j := range chunk {
			x.Store(int64(j))
		}
		t1 := time.Now()
		for range chunk {
			s.Beat()
		}
		t2 := time.Now()
		bestStore = min(bestStore, t1.Sub(t0))
		bestBeat = min(bestBeat, t2.Sub(t1))
	}
	b.ReportMetric(float64(bestStore.Nanoseconds())/chunk, "store-ns/op")
	b.ReportMetric(float64(bestBeat.Nanoseconds())/chunk, "beat-ns/op")
}

package checks_test

import (
	"net/http"
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

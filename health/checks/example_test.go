package checks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
)

// A worker loop beats on every iteration; the stall check, registered for
// liveness, fails when it stops.
func ExampleNewStall() {
	m := health.New(health.Options{})
	s := checks.NewStall("ingest", 30*time.Second)
	m.Register(health.Check{Name: "ingest-loop", Checker: s, Kinds: health.Liveness, Interval: 5 * time.Second})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			s.Beat()
			select {
			case <-ctx.Done():
				return
			case <-tick.C: // wake at least once per period, even without work
			}
		}
	}()
	fmt.Println(s.Check(ctx))
	cancel()
	<-done
	// Output: <nil>
}

// The application's own handler answers a synthetic request, which it can
// tell apart from real traffic.
func ExampleNewProbe() {
	var realRequests atomic.Int64 // business metrics count real traffic only
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/ping", func(w http.ResponseWriter, r *http.Request) {
		if !checks.IsSynthetic(r) {
			realRequests.Add(1)
		}
		io.WriteString(w, "pong")
	})
	mux.HandleFunc("GET /api/orders", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database is down", http.StatusInternalServerError)
	})
	ctx := context.Background()
	fmt.Println(checks.NewProbe(mux, checks.ProbeOptions{Target: "/api/ping"}).Check(ctx))
	fmt.Println(checks.NewProbe(mux, checks.ProbeOptions{Target: "/api/orders"}).Check(ctx))
	fmt.Println(realRequests.Load())
	// Output:
	// <nil>
	// probe GET /api/orders: unexpected status 500 Internal Server Error, want 2xx: body "database is down"
	// 0
}

// Outcomes of real requests eject the instance from readiness when too many
// fail; gRPC interceptors or consumers call Record.
func ExampleNewPassive() {
	p := checks.NewPassive(checks.PassiveOptions{MinRequests: 10, FailureRatio: 0.5, EjectionTime: 30 * time.Second})
	var app http.Handler = http.NotFoundHandler()
	app = p.Middleware(app) // count HTTP outcomes

	for i := range 10 {
		p.Record(i%3 == 0) // 4 of 10 failed
	}
	fmt.Println(p.Check(context.Background()))
	for range 10 {
		p.Record(true) // 14 of 20 failed
	}
	err := p.Check(context.Background())
	fmt.Println(errors.Is(err, checks.ErrEjected))
	// Output:
	// <nil>
	// true
}

// Threshold errors say what was observed and what was allowed.
func ExampleThresholdError() {
	err := checks.NewGoroutines(1).Check(context.Background())
	var te *checks.ThresholdError
	if errors.As(err, &te) {
		fmt.Println(te.Subject, "/", te.Allowed)
	}
	// Output: goroutines / at most 1
}

// Package checkrun runs a checker through a real health.Monitor in tests, to
// see the result the Monitor records (status, error text, observation). It is
// apart from package testenv so that the health package's own tests can use
// testenv without an import cycle.
package checkrun

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
)

// Once registers c with a new Monitor as a readiness check with the given
// timeout (the Monitor's default when zero), runs it once, stops the Monitor
// and returns the recorded result. It fails the test when no result arrives
// within a minute.
func Once(tb testing.TB, c health.Checker, timeout time.Duration) health.Result {
	tb.Helper()
	m := health.New(health.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	results := make(chan health.Result, 1)
	m.Subscribe(health.Subscriber{OnResult: func(r health.Result) {
		select {
		case results <- r:
		default:
		}
	}})
	err := m.Register(health.Check{Name: "c", Checker: c, NoStagger: true, Interval: time.Hour, Timeout: timeout})
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			tb.Errorf("checkrun: stop: %v", err)
		}
	}()
	wait := time.NewTimer(time.Minute)
	defer wait.Stop()
	select {
	case r := <-results:
		return r
	case <-wait.C:
		tb.Fatal("checkrun: no result within a minute")
	}
	return health.Result{}
}

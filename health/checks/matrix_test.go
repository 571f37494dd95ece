package checks_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
)

func newMonitor(t *testing.T, cs ...health.Check) *health.Monitor {
	t.Helper()
	m := health.New(health.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, c := range cs {
		c.NoStagger = true
		if err := m.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return m
}

func probeCodes(m *health.Monitor) (live, ready int) {
	get := func(path string) int {
		w := httptest.NewRecorder()
		m.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Code
	}
	return get("/livez"), get("/readyz")
}

// TestMatrixProgress plays the rows of the SPEC §1 decision matrix that the
// progress checkers decide: ready, heavy load (with load shedding) and a
// stalled worker.
func TestMatrixProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stall := checks.NewStall("worker", 10*time.Second)
		load := checks.NewInFlight(2, checks.InFlightOptions{Grace: 3 * time.Second})
		m := newMonitor(t,
			health.Check{Name: "worker", Checker: stall, Kinds: health.Liveness | health.Readiness, Interval: time.Second},
			health.Check{Name: "load", Checker: load, Kinds: health.Readiness, Interval: time.Second},
		)
		row := func(name string, wantLive, wantReady int) {
			t.Helper()
			synctest.Wait()
			if live, ready := probeCodes(m); live != wantLive || ready != wantReady {
				t.Errorf("%s: /livez %d /readyz %d, want %d %d", name, live, ready, wantLive, wantReady)
			}
		}
		time.Sleep(1500 * time.Millisecond)
		row("ready", 200, 200)

		for range 3 {
			load.Enter()
		}
		stall.Beat()
		time.Sleep(5 * time.Second)
		stall.Beat()
		row("heavy load", 200, 503)
		for range 3 {
			load.Leave()
		}
		time.Sleep(time.Second)
		stall.Beat()
		row("load gone", 200, 200)

		time.Sleep(12 * time.Second) // the worker stops beating
		row("stalled worker", 503, 503)
		stall.Beat()
		time.Sleep(time.Second)
		row("worker back", 200, 200)
	})
}

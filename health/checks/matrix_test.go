package checks_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
	"github.com/vitals-go/vitals/internal/testenv"
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
		m.Handler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
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

// TestMatrixVolume plays the row "volume has insufficient space: alive,
// not ready" on a real tmpfs filled up while the Monitor runs.
func TestMatrixVolume(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("tmpfs mounts need Linux")
	}
	dir := mountTmpfs(t, "size=1m")
	m := newMonitor(t,
		health.Check{Name: "data-space", Checker: checks.NewDiskSpace(dir, checks.DiskSpaceOptions{MinFreeBytes: 256 << 10}), Interval: 20 * time.Millisecond},
		health.Check{Name: "data-write", Checker: checks.NewDiskWrite(dir, checks.DiskWriteOptions{}), Interval: 20 * time.Millisecond},
		health.Check{Name: "alive", Checker: checks.NewGoroutines(0), Kinds: health.Liveness, Interval: 20 * time.Millisecond},
	)
	want := func(what string, wantLive, wantReady int) {
		t.Helper()
		testenv.WaitFor(t, what, 10*time.Second, func() error {
			if live, ready := probeCodes(m); live != wantLive || ready != wantReady {
				return fmt.Errorf("/livez %d /readyz %d, want %d %d", live, ready, wantLive, wantReady)
			}
			return nil
		})
	}
	want("empty volume", http.StatusOK, http.StatusOK)
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 900<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	want("full volume", http.StatusOK, http.StatusServiceUnavailable)
	if err := os.Remove(big); err != nil {
		t.Fatal(err)
	}
	want("space freed", http.StatusOK, http.StatusOK)
}

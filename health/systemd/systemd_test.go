//go:build unix

package systemd

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/internal/testenv"
)

func TestNotifiesReadyWatchdogAndStopping(t *testing.T) {
	sd := testenv.ListenNotify(t)
	var failing atomic.Bool
	failing.Store(true)
	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	m.Register(health.Check{Name: "db", Kinds: health.Liveness | health.Readiness, OnDemand: true, Interval: time.Nanosecond,
		Checker: health.CheckerFunc(func(context.Context) error {
			if failing.Load() {
				return errors.New("not yet")
			}
			return nil
		})})
	m.Report(context.Background(), health.All) // runs the on-demand check: DOWN

	n, err := Start(m, Options{Socket: sd.Path, WatchdogInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()

	failing.Store(false)
	m.Report(context.Background(), health.All) // UP: READY=1
	if got := sd.Next(t); got != "READY=1\nSTATUS=ready" {
		t.Fatalf("first notification %q, want READY=1", got)
	}
	if got := sd.Next(t); got != "WATCHDOG=1" {
		t.Fatalf("then %q, want WATCHDOG=1", got)
	}
	m.Drain()
	for {
		got := sd.Next(t)
		if got == "WATCHDOG=1" {
			continue // liveness stays UP while draining
		}
		if !strings.HasPrefix(got, "STOPPING=1") {
			t.Fatalf("on drain %q, want STOPPING=1", got)
		}
		break
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n.Stop() // idempotent
}

// WATCHDOG=1 is sent on every interval while liveness is UP and never while
// it is DOWN, so that systemd restarts a service whose liveness stays DOWN.
func TestWatchdogOnlyWhileLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sd := testenv.ListenNotify(t)
		var failing atomic.Bool
		m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
		m.Register(health.Check{Name: "loop", Kinds: health.Liveness, OnDemand: true, Interval: time.Nanosecond,
			Checker: health.CheckerFunc(func(context.Context) error {
				if failing.Load() {
					return errors.New("stalled")
				}
				return nil
			})})
		set := func(live bool) {
			failing.Store(!live)
			m.Report(context.Background(), health.Liveness) // runs the on-demand check
			if got := m.Peek(health.Liveness).Status; (got == health.StatusUp) != live {
				t.Fatalf("liveness = %v, want live=%v", got, live)
			}
		}
		set(true)
		n, err := Start(m, Options{Socket: sd.Path, WatchdogInterval: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Stop()

		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got := sd.Count(t, "WATCHDOG=1"); got != 3 {
			t.Errorf("WATCHDOG=1 over 3 intervals while live: %d, want 3", got)
		}
		set(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := sd.Count(t, "WATCHDOG=1"); got != 0 {
			t.Errorf("WATCHDOG=1 over 10 intervals with liveness DOWN: %d, want 0", got)
		}
		set(true)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := sd.Count(t, "WATCHDOG=1"); got != 2 {
			t.Errorf("WATCHDOG=1 over 2 intervals live again: %d, want 2", got)
		}
	})
}

func TestNoSocketIsNotAnError(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n, err := Start(health.New(health.Options{}), Options{})
	if n != nil || err != nil {
		t.Fatalf("Start without systemd = %v, %v; want nil, nil", n, err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestBadSocket(t *testing.T) {
	_, err := Start(health.New(health.Options{}), Options{Socket: filepath.Join(t.TempDir(), "missing.sock")})
	if err == nil || !strings.Contains(err.Error(), "systemd: notify socket") {
		t.Fatalf("err = %v", err)
	}
}

// Notify sends one message to $NOTIFY_SOCKET, and nothing without it.
func TestNotify(t *testing.T) {
	sd := testenv.ListenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sd.Path)
	for _, msg := range []string{"READY=1", "WATCHDOG=1", "STOPPING=1"} {
		if err := Notify(msg); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(sd.Queued(t), ","); got != "READY=1,WATCHDOG=1,STOPPING=1" {
		t.Errorf("queued %q", got)
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Notify("READY=1"); err != nil {
		t.Errorf("Notify without systemd = %v, want nil", err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "missing.sock"))
	if err := Notify("READY=1"); err == nil || !strings.Contains(err.Error(), "systemd: notify socket") {
		t.Errorf("Notify to a missing socket = %v", err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		socket, usec string
		want         time.Duration
	}{
		{"/run/notify", "2000000", time.Second},
		{"/run/notify", "", 0},
		{"/run/notify", "junk", 0},
		{"", "2000000", 0}, // not run by systemd
	} {
		t.Setenv("NOTIFY_SOCKET", tc.socket)
		t.Setenv("WATCHDOG_USEC", tc.usec)
		if got := WatchdogInterval(); got != tc.want {
			t.Errorf("NOTIFY_SOCKET=%q WATCHDOG_USEC=%q: %v, want %v", tc.socket, tc.usec, got, tc.want)
		}
	}
}

// Stop cancels the Notifier's subscription: the Monitor's later drains
// send nothing.
func TestStopUnsubscribes(t *testing.T) {
	sd := testenv.ListenNotify(t)
	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	n, err := Start(m, Options{Socket: sd.Path})
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.Next(t); got != "READY=1\nSTATUS=ready" {
		t.Fatalf("first notification %q", got)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	var heard int
	m.Subscribe(health.Subscriber{OnStatus: func(health.StatusEvent) { heard++ }})
	m.Drain()
	if heard == 0 {
		t.Fatal("the drain changed no status")
	}
	if q := sd.Queued(t); len(q) != 0 {
		t.Errorf("after Stop: %q", q)
	}
}

package systemd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
)

// fakeSystemd is a real unixgram socket standing where systemd's is.
type fakeSystemd struct {
	conn *net.UnixConn
	path string
}

func listen(t *testing.T) *fakeSystemd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &fakeSystemd{conn: conn, path: path}
}

// next returns the next message, failing after a generous bound.
func (f *fakeSystemd) next(t *testing.T) string {
	t.Helper()
	buf := make([]byte, 1024)
	f.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := f.conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotifiesReadyWatchdogAndStopping(t *testing.T) {
	sd := listen(t)
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

	n, err := Start(m, Options{Socket: sd.path, WatchdogInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()

	failing.Store(false)
	m.Report(context.Background(), health.All) // UP: READY=1
	if got := sd.next(t); got != "READY=1\nSTATUS=ready" {
		t.Fatalf("first notification %q, want READY=1", got)
	}
	if got := sd.next(t); got != "WATCHDOG=1" {
		t.Fatalf("then %q, want WATCHDOG=1", got)
	}
	m.Drain()
	for {
		got := sd.next(t)
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

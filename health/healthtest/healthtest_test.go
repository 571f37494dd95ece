package healthtest_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
	"github.com/vitals-go/vitals/health/healthtest"
)

// server is a real TCP listener that a test can stop and restart on the
// same port.
type server struct {
	mu   sync.Mutex
	addr string
	ln   net.Listener
}

func (s *server) start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.ln, s.addr = ln, ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (s *server) stop(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ln.Close()
}

// The suite passes for a well-behaved checker against a real server that is
// stopped and restarted.
func TestRunOnTCPChecker(t *testing.T) {
	s := &server{}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	healthtest.Run(t, healthtest.Conformance{
		Checker: checks.NewTCP(s.addr, checks.TCPOptions{}),
		Break:   s.stop,
		Restore: s.start,
		Secrets: []string{"hunter2"},
	})
}

// The suite catches a checker that ignores its context.
func TestReturnsOnCancelCatchesContextIgnorer(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ignorer := health.CheckerFunc(func(ctx context.Context) error {
		if ctx.Err() != nil {
			<-release // ignores the cancellation
		}
		return nil
	})
	ft := &fakeT{}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stopTest); !ok {
					panic(r)
				}
			}
		}()
		healthtest.ReturnsOnCancel(ft, ignorer, 100*time.Millisecond)
	}()
	if !ft.failed {
		t.Error("a checker ignoring its cancelled context passed")
	}
	ft = &fakeT{}
	healthtest.ReturnsOnCancel(ft, checks.NewTCP("127.0.0.1:1", checks.TCPOptions{}), time.Second)
	if ft.failed {
		t.Error("a well-behaved checker failed")
	}
}

func TestAssertProbe(t *testing.T) {
	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	m.Register(health.Check{Name: "db", OnDemand: true, Checker: health.CheckerFunc(func(context.Context) error { return errors.New("down") })})
	healthtest.AssertProbe(t, m, "/livez", health.StatusUp)
	healthtest.AssertProbe(t, m, "/readyz", health.StatusDown)
	if a := healthtest.Probe(t, m, "/readyz/db"); a.Code != 503 || a.Status != "DOWN" {
		t.Errorf("Probe = %+v", a)
	}
}

// fakeT records a failure instead of failing the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()                  {}
func (f *fakeT) Fatalf(string, ...any)    { f.failed = true; panic(stopTest{}) }
func (f *fakeT) Errorf(string, ...any)    { f.failed = true }
func (f *fakeT) Cleanup(func())           {}
func (f *fakeT) Logf(string, ...any)      {}
func (f *fakeT) Fatal(...any)             { f.failed = true; panic(stopTest{}) }
func (f *fakeT) Context() context.Context { return context.Background() }

type stopTest struct{}

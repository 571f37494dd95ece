package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health/checks"
)

// TestInvalidConfig: an invalid setting stops the service with exit code 2
// before it opens anything.
func TestInvalidConfig(t *testing.T) {
	if code := run([]string{"-memory-fraction=1.5", "-data", t.TempDir()}); code != 2 {
		t.Fatalf("run with -memory-fraction=1.5: exit %d, want 2", code)
	}
	cfg := config{checkInterval: time.Second, stallAfter: time.Second, poolWindow: time.Second, passiveWindow: time.Second,
		ejection: time.Second, maxInFlight: 1, maxGoroutines: 1, memoryFraction: 0.9}
	if err := cfg.validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	cfg.memoryFraction, cfg.maxInFlight = 1.5, 0
	err := cfg.validate()
	for _, want := range []string{"-memory-fraction 1.5: must be in (0, 1]", "-max-in-flight 0: must be above 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want it to contain %q", err, want)
		}
	}
}

// TestStoreFaults: the pool exhaustion fault takes every connection (a
// query then waits until its deadline and the pool check fails once its
// window is over), its release frees them, and the latency fault delays a
// round trip.
func TestStoreFaults(t *testing.T) {
	ctx := context.Background()
	s, err := OpenStore(ctx, t.TempDir()+"/accounts.db", -1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Exhaust(); err != nil {
		t.Fatal(err)
	}
	if st := s.DB().Stats(); st.InUse != maxConns {
		t.Fatalf("in use %d after Exhaust, want %d", st.InUse, maxConns)
	}
	if err := s.Pool().Check(ctx); err != nil {
		t.Fatalf("first saturated run: %v", err)
	}
	qctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = s.Count(qctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("query on an exhausted pool: %v, want a deadline", err)
	}
	if err := s.Pool().Check(ctx); !errors.Is(err, checks.ErrPoolExhausted) {
		t.Fatalf("pool check with a waiter: %v", err)
	}
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	if err := s.Pool().Check(ctx); err != nil {
		t.Fatalf("released: %v", err)
	}
	if _, err := s.Count(ctx); err != nil {
		t.Fatal(err)
	}

	s.SetLatency(100 * time.Millisecond)
	if err := s.DB().PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	qctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.DB().PingContext(qctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ping with 100ms latency and a 20ms deadline: %v", err)
	}
	s.SetLatency(0)
	if err := s.DB().PingContext(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRouteBug: a failing route answers 500; an unknown one is refused.
func TestRouteBug(t *testing.T) {
	a := &api{}
	if err := a.setFailing("nope", true); err == nil {
		t.Fatal("unknown route accepted")
	}
	if err := a.setFailing("get", true); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.failing.Load("get"); !ok {
		t.Fatal("get not failing")
	}
	if err := a.setFailing("get", false); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.failing.Load("get"); ok {
		t.Fatal("get still failing")
	}
}

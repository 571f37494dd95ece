package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

func testClosed(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.GetCheck(cctx, c.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: model.NewState(c.ID, base)}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("apply after close: %v", err)
	}
	if _, err := s.ListChecks(ctx); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("list after close: %v", err)
	}
}

func testReopen(t *testing.T, cfg Config) {
	if !cfg.Persistent {
		t.Skip("store is not persistent")
	}
	ctx := context.Background()
	s, reopen := open(t, cfg)
	c := SampleCheck(1)
	st := sampleState(c.ID)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	p := model.Ping{CheckID: c.ID, N: 7, Kind: model.PingSuccess, ExitStatus: -1, Time: base, Body: []byte("hi")}
	f := flip(c.ID, model.StatusNew, model.StatusUp, base)
	n := model.Notification{ID: uuid.Must(uuid.NewV7()), FlipID: f.ID, CheckID: c.ID, Channel: "webhook:x",
		State: model.NotificationPending, NextAttempt: base, Created: base}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p, Flips: []model.Flip{f}, Notifications: []model.Notification{n}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := reopen()
	gc, gs, err := s2.GetCheck(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "check after reopen", gc, c)
	equal(t, "state (with deadline) after reopen", gs, st)
	pings, _ := s2.Pings(ctx, c.ID, store.PingQuery{})
	equal(t, "pings after reopen", pings, []model.Ping{p})
	flips, _ := s2.Flips(ctx, c.ID, store.FlipQuery{})
	equal(t, "flips after reopen", flips, []model.Flip{f})
	outbox, _ := s2.Notifications(ctx, store.NotificationQuery{})
	equal(t, "outbox after reopen", outbox, []model.Notification{n})
}

// WriteProber is the optional capability of a store to prove, cheaply, that
// a write can be made durable now (readiness asks it, so that a full disk
// takes the watchdog out of rotation).
type WriteProber interface {
	ProbeWrite(ctx context.Context) error
}

// testProbeWrite: the probe succeeds on an open store, again and again,
// leaves the checks as they were (across a reopen too), and fails once
// the store is closed or the context done. Stores without the capability
// skip it.
func testProbeWrite(t *testing.T, cfg Config) {
	s, reopen, p, c := openCapable[WriteProber](t, cfg, "ProbeWrite")
	ctx := context.Background()
	for range 3 {
		if err := p.ProbeWrite(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.ProbeWrite(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProbeWrite(ctx); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("probe after close: %v", err)
	}
	if !cfg.Persistent {
		return
	}
	s2 := reopen()
	all, err := s2.ListChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Check.ID != c.ID {
		t.Fatalf("checks after probes and a reopen: %+v", all)
	}
	if err := s2.(WriteProber).ProbeWrite(ctx); err != nil {
		t.Fatalf("probe after reopen: %v", err)
	}
}

package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

func testOutbox(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	f := flip(c.ID, model.StatusUp, model.StatusDown, base)
	mk := func(channel string, next time.Time) model.Notification {
		return model.Notification{ID: uuid.Must(uuid.NewV7()), FlipID: f.ID, CheckID: c.ID, Channel: channel,
			Payload: json.RawMessage(`{"to":"down"}`), State: model.NotificationPending, NextAttempt: next, Created: base}
	}
	n1, n2 := mk("webhook:ops", base), mk("slack:team", base.Add(time.Minute))
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: model.NewState(c.ID, base), Flips: []model.Flip{f}, Notifications: []model.Notification{n1, n2}}); err != nil {
		t.Fatal(err)
	}
	// The same (flip, channel) again is skipped, not an error.
	dup := mk("webhook:ops", base)
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: model.NewState(c.ID, base), Notifications: []model.Notification{dup}}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Notifications(ctx, store.NotificationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "outbox", all, []model.Notification{n1, n2})
	due, _ := s.Notifications(ctx, store.NotificationQuery{State: model.NotificationPending, DueBefore: base.Add(time.Second)})
	equal(t, "due", due, []model.Notification{n1})

	d := n1
	d.State, d.Attempts, d.Delivered = model.NotificationDelivered, 1, base.Add(time.Second)
	if ok, err := s.UpdateNotification(ctx, d, model.NotificationPending); err != nil || !ok {
		t.Fatalf("mark delivered: %v %v", ok, err)
	}
	if ok, err := s.UpdateNotification(ctx, d, model.NotificationPending); err != nil || ok {
		t.Fatalf("second CAS must fail: %v %v", ok, err)
	}
	if _, err := s.UpdateNotification(ctx, mk("x", base), model.NotificationPending); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	pending, _ := s.Notifications(ctx, store.NotificationQuery{State: model.NotificationPending})
	equal(t, "pending after delivery", pending, []model.Notification{n2})
	byCheck, _ := s.Notifications(ctx, store.NotificationQuery{CheckID: c.ID, Limit: 1})
	equal(t, "by check, limit", byCheck, []model.Notification{d})
}

// testEnqueue: rows enqueued without a flip are kept like any other outbox
// row, a row repeated is skipped, and with a persistent store they survive
// a reopen.
func testEnqueue(t *testing.T, cfg Config) {
	s, reopen := open(t, cfg)
	ctx := context.Background()
	c := SampleCheck(1)
	if err := s.CreateCheck(ctx, c, sampleState(c.ID)); err != nil {
		t.Fatal(err)
	}
	row := model.Notification{ID: uuid.Must(uuid.NewV7()), FlipID: uuid.New(), CheckID: c.ID, Channel: "webhook:ops",
		Payload: json.RawMessage(`{"event":"gave_up"}`), State: model.NotificationPending, NextAttempt: base, Created: base}
	if err := s.EnqueueNotifications(ctx, []model.Notification{row}); err != nil {
		t.Fatal(err)
	}
	dup := row
	dup.ID = uuid.Must(uuid.NewV7())
	if err := s.EnqueueNotifications(ctx, []model.Notification{dup}); err != nil {
		t.Fatal(err)
	}
	check := func(s store.Store) {
		t.Helper()
		got, err := s.Notifications(ctx, store.NotificationQuery{CheckID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != row.ID || string(got[0].Payload) != `{"event":"gave_up"}` {
			t.Fatalf("outbox %+v, want the one enqueued row", got)
		}
	}
	check(s)
	if cfg.Persistent {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		check(reopen())
	}
}

// testPolicyState: the alert policy's memory is written with a flip
// (Update.Policy), replaced by the next one, changed outside a flip only
// while it is still about the same flip (compare-and-set), kept across a
// reopen, and deleted with its check.
func testPolicyState(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, reopen := open(t, cfg)
	a, b := SampleCheck(1), SampleCheck(2)
	for _, c := range []model.Check{a, b} {
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.PolicyStates(ctx); err != nil || len(got) != 0 {
		t.Fatalf("policy states of a new store: %v %v", got, err)
	}
	fa := flip(a.ID, model.StatusUp, model.StatusDown, base)
	pa := store.PolicyState{CheckID: a.ID, FlipID: fa.ID, Held: true}
	if err := s.Apply(ctx, store.Update{CheckID: a.ID, State: model.NewState(a.ID, base), Flips: []model.Flip{fa}, Policy: &pa}); err != nil {
		t.Fatal(err)
	}
	fb := flip(b.ID, model.StatusUp, model.StatusDown, base)
	pb := store.PolicyState{CheckID: b.ID, FlipID: fb.ID, Dropped: true}
	if err := s.Apply(ctx, store.Update{CheckID: b.ID, State: model.NewState(b.ID, base), Flips: []model.Flip{fb}, Policy: &pb}); err != nil {
		t.Fatal(err)
	}
	// An update without Policy leaves it alone.
	if err := s.Apply(ctx, store.Update{CheckID: a.ID, State: model.NewState(a.ID, base)}); err != nil {
		t.Fatal(err)
	}
	sorted := func(ps ...store.PolicyState) []store.PolicyState {
		if bytes.Compare(ps[0].CheckID[:], ps[len(ps)-1].CheckID[:]) > 0 {
			ps[0], ps[len(ps)-1] = ps[len(ps)-1], ps[0]
		}
		return ps
	}
	got, err := s.PolicyStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "policy states", got, sorted(pa, pb))

	// Released outside a flip: only while it is about the same flip.
	stale := store.PolicyState{CheckID: a.ID, FlipID: uuid.New()}
	if ok, err := s.UpdatePolicyState(ctx, stale); err != nil || ok {
		t.Fatalf("compare-and-set on another flip: %v %v", ok, err)
	}
	released := store.PolicyState{CheckID: a.ID, FlipID: fa.ID}
	if ok, err := s.UpdatePolicyState(ctx, released); err != nil || !ok {
		t.Fatalf("release: %v %v", ok, err)
	}
	if _, err := s.UpdatePolicyState(ctx, store.PolicyState{CheckID: model.NewCheckID(), FlipID: fa.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("policy state of an unknown check: %v", err)
	}
	// The next flip replaces it.
	fb2 := flip(b.ID, model.StatusDown, model.StatusUp, base.Add(time.Minute))
	pb2 := store.PolicyState{CheckID: b.ID, FlipID: fb2.ID}
	if err := s.Apply(ctx, store.Update{CheckID: b.ID, State: model.NewState(b.ID, base), Flips: []model.Flip{fb2}, Policy: &pb2}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.UpdatePolicyState(ctx, pb); err != nil || ok {
		t.Fatalf("a late decision about a replaced flip: %v %v", ok, err)
	}
	got, _ = s.PolicyStates(ctx)
	equal(t, "policy states after release and a new flip", got, sorted(released, pb2))

	if cfg.Persistent {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen()
		got, err := s.PolicyStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "policy states after reopen", got, sorted(released, pb2))
	}
	if err := s.DeleteCheck(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = s.PolicyStates(ctx)
	equal(t, "policy states after deleting a check", got, []store.PolicyState{pb2})
}

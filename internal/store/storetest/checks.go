package storetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

func testCheckCRUD(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, _ := open(t, cfg)
	c := SampleCheck(1)
	st := sampleState(c.ID)
	if err := s.CreateCheck(ctx, c, st); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCheck(ctx, c, st); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate create: %v, want ErrExists", err)
	}
	gc, gs, err := s.GetCheck(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "check", gc, c)
	equal(t, "state", gs, st)

	c.Name, c.Tags, c.Schedule = "renamed", nil, model.Schedule{Period: time.Hour, Grace: time.Minute, TZ: "UTC"}
	if err := s.UpdateCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	gc, gs, _ = s.GetCheck(ctx, c.ID)
	equal(t, "updated check", gc, c)
	equal(t, "state kept by update", gs, st)

	// A check's channels are part of its definition: the planner reads
	// them from it, so every store keeps them, and a change of them.
	c.Routes = model.Routes{Up: []string{"chat"}}
	if err := s.UpdateCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Routes.Up[0] = "changed by the caller after the update"
	if gc, _, _ = s.GetCheck(ctx, c.ID); len(gc.Routes.Down) != 0 || len(gc.Routes.Up) != 1 || gc.Routes.Up[0] != "chat" {
		t.Fatalf("routes after update: %+v (the store must keep a copy)", gc.Routes)
	}
	c.Routes.Up[0] = "chat"
	equal(t, "check with new routes", gc, c)

	missing := SampleCheck(2)
	if err := s.UpdateCheck(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	if _, _, err := s.GetCheck(ctx, missing.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if err := s.DeleteCheck(ctx, missing.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}

	var ids []model.CheckID
	for i := range 5 {
		c := SampleCheck(10 + i)
		ids = append(ids, c.ID)
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("%d checks listed, want 6", len(all))
	}
	listed := map[model.CheckID]bool{}
	for i := range all {
		listed[all[i].Check.ID] = true
		if i > 0 && bytes.Compare(all[i-1].Check.ID[:], all[i].Check.ID[:]) >= 0 {
			t.Fatal("ListChecks not ordered by id")
		}
	}
	for _, id := range append(ids, c.ID) {
		if !listed[id] {
			t.Fatalf("check %s not listed", id)
		}
	}

	// Delete removes the check and its history.
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &model.Ping{CheckID: c.ID, N: 1, Kind: model.PingSuccess, Time: base}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCheck(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.GetCheck(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := s.Pings(ctx, c.ID, store.PingQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pings of deleted: %v", err)
	}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("apply to deleted: %v", err)
	}
}

// testRetire: a retired check leaves the live set (ListChecks, GetCheck,
// Apply) but keeps its whole history, across a reopen; RestoreCheck brings
// it back with that history, its state and a new definition; PurgeRetired
// deletes only the checks retired before its cutoff, history included.
func testRetire(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, reopen := open(t, cfg)
	c, other := SampleCheck(1), SampleCheck(2)
	for _, x := range []model.Check{c, other} {
		if err := s.CreateCheck(ctx, x, model.NewState(x.ID, base)); err != nil {
			t.Fatal(err)
		}
	}
	st := sampleState(c.ID)
	p := model.Ping{CheckID: c.ID, N: 1, Kind: model.PingSuccess, ExitStatus: -1, Time: base, Body: []byte("ok")}
	f := flip(c.ID, model.StatusNew, model.StatusUp, base)
	n := model.Notification{ID: uuid.Must(uuid.NewV7()), FlipID: f.ID, CheckID: c.ID, Channel: "webhook:x",
		State: model.NotificationPending, NextAttempt: base, Created: base}
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	up := []model.UptimeDay{{CheckID: c.ID, Day: day, Up: time.Hour, Total: time.Hour}}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p, Flips: []model.Flip{f},
		Notifications: []model.Notification{n}, Uptime: up}); err != nil {
		t.Fatal(err)
	}
	retiredAt := base.Add(time.Hour)
	if err := s.RetireCheck(ctx, c.ID, retiredAt); err != nil {
		t.Fatal(err)
	}
	history := func(s store.Store, what string) {
		t.Helper()
		pings, err := s.Pings(ctx, c.ID, store.PingQuery{})
		if err != nil {
			t.Fatalf("%s: pings: %v", what, err)
		}
		equal(t, what+": pings", pings, []model.Ping{p})
		flips, _ := s.Flips(ctx, c.ID, store.FlipQuery{})
		equal(t, what+": flips", flips, []model.Flip{f})
		outbox, _ := s.Notifications(ctx, store.NotificationQuery{CheckID: c.ID})
		equal(t, what+": outbox", outbox, []model.Notification{n})
		got, _ := s.Uptime(ctx, c.ID, day, day.AddDate(0, 0, 1))
		equal(t, what+": uptime", got, up)
	}
	isRetired := func(s store.Store, what string) {
		t.Helper()
		if _, _, err := s.GetCheck(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: get a retired check: %v, want ErrNotFound", what, err)
		}
		all, err := s.ListChecks(ctx)
		if err != nil || len(all) != 1 || all[0].Check.ID != other.ID {
			t.Fatalf("%s: ListChecks = %d checks (%v), want only the live one", what, len(all), err)
		}
		if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: apply to a retired check: %v, want ErrNotFound", what, err)
		}
		if err := s.UpdateCheck(ctx, c); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: update a retired check: %v, want ErrNotFound", what, err)
		}
		if err := s.RetireCheck(ctx, c.ID, retiredAt); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: retire twice: %v, want ErrNotFound", what, err)
		}
		if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); !errors.Is(err, store.ErrExists) {
			t.Fatalf("%s: create over a retired check: %v, want ErrExists", what, err)
		}
		rs, err := s.RetiredChecks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, what+": retired checks", rs, []store.RetiredCheck{{Check: c, Retired: retiredAt}})
		history(s, what)
	}
	isRetired(s, "retired")
	if cfg.Persistent {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = reopen()
		isRetired(s, "retired, after a reopen")
	}
	if err := s.RetireCheck(ctx, model.NewCheckID(), retiredAt); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retire unknown: %v, want ErrNotFound", err)
	}
	if _, _, err := s.RestoreCheck(ctx, other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("restore a live check: %v, want ErrNotFound", err)
	}

	// Restore with a changed definition: Created kept, state and history back.
	changed := c
	changed.Desc, changed.Created, changed.Updated = "restored", base.Add(time.Minute), base.Add(2*time.Hour)
	gc, gs, err := s.RestoreCheck(ctx, changed)
	if err != nil {
		t.Fatal(err)
	}
	want := changed
	want.Created = c.Created
	equal(t, "restored check", gc, want)
	equal(t, "restored state", gs, st)
	if gc, gs, err := s.GetCheck(ctx, c.ID); err != nil {
		t.Fatal(err)
	} else {
		equal(t, "restored check, read back", gc, want)
		equal(t, "restored state, read back", gs, st)
	}
	history(s, "restored")
	if rs, _ := s.RetiredChecks(ctx); len(rs) != 0 {
		t.Fatalf("%d retired checks after the restore", len(rs))
	}
	p2 := model.Ping{CheckID: c.ID, N: 2, Kind: model.PingSuccess, ExitStatus: -1, Time: base.Add(3 * time.Hour), Body: []byte{}}
	if err := s.Apply(ctx, store.Update{CheckID: c.ID, State: st, Ping: &p2}); err != nil {
		t.Fatalf("apply to a restored check: %v", err)
	}

	// Purge: only what was retired before the cutoff.
	if err := s.RetireCheck(ctx, c.ID, retiredAt); err != nil {
		t.Fatal(err)
	}
	if err := s.RetireCheck(ctx, other.ID, retiredAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	gone, err := s.PurgeRetired(ctx, retiredAt)
	if err != nil || len(gone) != 0 {
		t.Fatalf("purge before any retirement: %v %v", gone, err)
	}
	gone, err = s.PurgeRetired(ctx, retiredAt.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "purged", gone, []store.RetiredCheck{{Check: want, Retired: retiredAt}})
	if _, err := s.Pings(ctx, c.ID, store.PingQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pings of a purged check: %v, want ErrNotFound", err)
	}
	if fl, _ := s.Flips(ctx, model.CheckID{}, store.FlipQuery{}); len(fl) != 0 {
		t.Fatalf("flips of a purged check remain: %v", fl)
	}
	if rows, _ := s.Notifications(ctx, store.NotificationQuery{}); len(rows) != 0 {
		t.Fatalf("outbox rows of a purged check remain: %v", rows)
	}
	if _, _, err := s.RestoreCheck(ctx, c); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("restore a purged check: %v, want ErrNotFound", err)
	}
	if rs, _ := s.RetiredChecks(ctx); len(rs) != 1 || rs[0].Check.ID != other.ID {
		t.Fatalf("retired after the purge: %v, want the other check", rs)
	}
	// A check created again with a purged id starts afresh.
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatalf("create with a purged id: %v", err)
	}
	if pings, _ := s.Pings(ctx, c.ID, store.PingQuery{}); len(pings) != 0 {
		t.Fatalf("a purged check's pings came back: %v", pings)
	}
}

// testSecretsNotStored: a check's Secrets are never stored: CreateCheck
// UpdateCheck and RestoreCheck keep its Redacted form, which GetCheck and
// ListChecks return (after a reopen too).
func testSecretsNotStored(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, reopen := open(t, cfg)
	c := SampleCheck(1)
	c.Desc = "backup with s3cr3t-one"
	c.Probe = []byte(`{"header":{"Authorization":"Bearer s3cr3t-one"},"url":"http://127.0.0.1/?token=s3cr3t-two"}`)
	c.Secrets = []model.Secret{{Name: "ONE", Value: "s3cr3t-one"}, {Name: "TWO", Value: "s3cr3t-two"}}
	if err := s.CreateCheck(ctx, c, model.NewState(c.ID, base)); err != nil {
		t.Fatal(err)
	}
	want := c.Redacted()
	if !strings.Contains(string(want.Probe), "${TWO}") {
		t.Fatalf("Redacted: %s", want.Probe)
	}
	got, _, err := s.GetCheck(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "created check", got, want)
	c.Desc = "now s3cr3t-two"
	if err := s.UpdateCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	want = c.Redacted()
	all, err := s.ListChecks(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("%d checks, %v", len(all), err)
	}
	equal(t, "updated check", all[0].Check, want)
	if all[0].Check.Secrets != nil || strings.Contains(mustJSON(all[0].Check), "s3cr3t") {
		t.Fatalf("a secret was stored: %+v", all[0].Check)
	}
	// A restore (a retired config check listed again) writes the
	// definition too: the redacted one.
	if err := s.RetireCheck(ctx, c.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c.Desc = "restored with s3cr3t-one"
	want = c.Redacted()
	if _, _, err := s.RestoreCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, _, err = s.GetCheck(ctx, c.ID); err != nil || strings.Contains(mustJSON(got), "s3cr3t") {
		t.Fatalf("a secret was stored by RestoreCheck: %+v, %v", got, err)
	}
	want.Created = got.Created
	equal(t, "restored check", got, want)
	if !cfg.Persistent {
		return
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, err = reopen().GetCheck(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "check after reopen", got, want)
}

// testInstallationSecret: the secret is InstallationSecretLen bytes, the
// same on every call (concurrent first calls included) and after a
// reopen, and another store's differs.
func testInstallationSecret(t *testing.T, cfg Config) {
	ctx := context.Background()
	s, reopen := open(t, cfg)
	got := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			b, err := s.InstallationSecret(ctx)
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		})
	}
	wg.Wait()
	first := got[0]
	if len(first) != store.InstallationSecretLen || bytes.Equal(first, make([]byte, store.InstallationSecretLen)) {
		t.Fatalf("secret %x: want %d random bytes", first, store.InstallationSecretLen)
	}
	for _, b := range got {
		if !bytes.Equal(b, first) {
			t.Fatalf("concurrent first calls disagree: %x and %x", b, first)
		}
	}
	if again, err := s.InstallationSecret(ctx); err != nil || !bytes.Equal(again, first) {
		t.Fatalf("second call: %x, %v", again, err)
	}
	other, _ := open(t, cfg)
	if b, err := other.InstallationSecret(ctx); err != nil || bytes.Equal(b, first) {
		t.Fatalf("another store's secret: %x, %v (must differ)", b, err)
	}
	if !cfg.Persistent {
		return
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := reopen().InstallationSecret(ctx); err != nil || !bytes.Equal(b, first) {
		t.Fatalf("after reopen: %x, %v; want %x", b, err, first)
	}
	if _, err := s.InstallationSecret(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("closed store: %v, want ErrClosed", err)
	}
}

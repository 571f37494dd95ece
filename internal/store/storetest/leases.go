package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// leaseClock is the scenarios' injected clock: a second after the server's
// (a new check's lease is stamped with the server's clock, free from then
// on), moved by hand.
func leaseClock() time.Time { return time.Now().Add(time.Second).Truncate(time.Microsecond) }

func ids(ls []store.Lease) map[model.CheckID]int64 {
	out := map[model.CheckID]int64{}
	for _, l := range ls {
		out[l.CheckID] = l.Epoch
	}
	return out
}

// Leases: a new check's lease is free; Claim takes it at epoch 1 and only
// once; Renew extends what the replica holds and names the other live
// replicas; an expired lease is claimed by another at epoch+1 and the old
// owner's Renew no longer returns it; Release frees it at once, keeping
// the epoch; Leave frees everything and takes the replica out of the live
// list; a retired check's lease is neither renewed nor claimable.
func testLeases(t *testing.T, cfg Config) {
	s, _, l, c := openCapable[store.Leaser](t, cfg, "Leaser")
	ctx := context.Background()
	const ttl = 10 * time.Second
	now := leaseClock()
	c2 := SampleCheck(2)
	if err := s.CreateCheck(ctx, c2, sampleState(c2.ID)); err != nil {
		t.Fatal(err)
	}
	free, err := l.Unowned(ctx, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(free); len(got) != 2 || got[c.ID] != 0 || got[c2.ID] != 0 {
		t.Fatalf("unowned at start: %+v, want both checks at epoch 0", free)
	}
	got, err := l.Claim(ctx, "a", []model.CheckID{c.ID, c2.ID}, now, now.Add(ttl))
	if err != nil || len(got) != 2 || got[0].Epoch != 1 || got[1].Epoch != 1 || got[0].Owner != "a" {
		t.Fatalf("claim: %+v, %v", got, err)
	}
	if again, err := l.Claim(ctx, "b", []model.CheckID{c.ID}, now, now.Add(ttl)); err != nil || len(again) != 0 {
		t.Fatalf("claim of a held lease: %+v, %v", again, err)
	}
	if free, _ := l.Unowned(ctx, now, 10); len(free) != 0 {
		t.Fatalf("unowned after the claim: %+v", free)
	}
	// b joins; a renews and sees it.
	if _, _, err := l.Renew(ctx, store.Replica{ID: "b", Address: "127.0.0.1:2", Heartbeat: now, Expires: now.Add(ttl)}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(ttl / 2)
	held, others, err := l.Renew(ctx, store.Replica{ID: "a", Address: "127.0.0.1:1", Heartbeat: now, Expires: now.Add(ttl)})
	if err != nil || len(held) != 2 || !held[0].Expires.Equal(now.Add(ttl)) {
		t.Fatalf("renew: %+v, %v", held, err)
	}
	if len(others) != 1 || others[0].ID != "b" || others[0].Address != "127.0.0.1:2" {
		t.Fatalf("others: %+v", others)
	}
	// a stops renewing: past its expiry, b takes c over at epoch 2.
	now = now.Add(ttl)
	if free, _ := l.Unowned(ctx, now, 10); len(free) != 2 || free[0].Owner != "a" {
		t.Fatalf("unowned once a expired: %+v", free)
	}
	if got, err := l.Claim(ctx, "b", []model.CheckID{c.ID}, now, now.Add(ttl)); err != nil || len(got) != 1 || got[0].Epoch != 2 {
		t.Fatalf("takeover: %+v, %v", got, err)
	}
	held, others, err = l.Renew(ctx, store.Replica{ID: "a", Address: "127.0.0.1:1", Heartbeat: now, Expires: now.Add(ttl)})
	if err != nil || len(held) != 1 || held[0].CheckID != c2.ID || held[0].Epoch != 1 {
		t.Fatalf("a's renewal after the takeover: %+v, %v (want c2 only: never claimed by another)", held, err)
	}
	if len(others) != 0 {
		t.Fatalf("b's heartbeat expired, yet live: %+v", others)
	}
	// Release frees at once, keeping the epoch; the next claim adds one.
	if err := l.Release(ctx, "a", []model.CheckID{c2.ID, c.ID}, now); err != nil {
		t.Fatal(err)
	}
	free, _ = l.Unowned(ctx, now, 10)
	if got := ids(free); len(got) != 1 || got[c2.ID] != 1 {
		t.Fatalf("unowned after a's release: %+v (c is b's and must stay so)", free)
	}
	if got, err := l.Claim(ctx, "b", []model.CheckID{c2.ID}, now, now.Add(ttl)); err != nil || len(got) != 1 || got[0].Epoch != 2 {
		t.Fatalf("claim after release: %+v, %v", got, err)
	}
	// A retired check's lease is not renewed, nor claimable.
	if err := s.RetireCheck(ctx, c2.ID, now); err != nil {
		t.Fatal(err)
	}
	held, _, _ = l.Renew(ctx, store.Replica{ID: "b", Heartbeat: now, Expires: now.Add(ttl)})
	if got := ids(held); len(got) != 1 || got[c.ID] != 2 {
		t.Fatalf("b holds %+v, want c at epoch 2 only", held)
	}
	if free, _ := l.Unowned(ctx, now.Add(time.Hour), 10); len(free) != 1 || free[0].CheckID != c.ID {
		t.Fatalf("unowned an hour later: %+v, want c only", free)
	}
	// Leave frees b's leases at once and takes b out of the live list.
	if err := l.Leave(ctx, "b", now); err != nil {
		t.Fatal(err)
	}
	if free, _ := l.Unowned(ctx, now, 10); len(free) != 1 || free[0].Owner != "" || free[0].Epoch != 2 {
		t.Fatalf("unowned after b left: %+v", free)
	}
	if _, others, _ := l.Renew(ctx, store.Replica{ID: "a", Heartbeat: now, Expires: now.Add(ttl)}); len(others) != 0 {
		t.Fatalf("b left, yet live: %+v", others)
	}
}

// Fencing: an Apply fenced with the current lease is written; one fenced
// with an older epoch, with the lease of another owner, or with a lease
// given up, is refused with ErrFenced and changes nothing (no state, ping,
// flip, outbox row, uptime or policy state); an unfenced Apply is written
// (one process); a fenced Apply to a missing check is ErrNotFound.
func testFencing(t *testing.T, cfg Config) {
	s, _, l, c := openCapable[store.Leaser](t, cfg, "Leaser")
	ctx := context.Background()
	const ttl = 10 * time.Second
	now := leaseClock()
	a, err := l.Claim(ctx, "a", []model.CheckID{c.ID}, now, now.Add(ttl))
	if err != nil || len(a) != 1 {
		t.Fatalf("claim: %+v, %v", a, err)
	}
	n := int64(0)
	update := func(f store.Fence) store.Update {
		n++
		st := sampleState(c.ID)
		st.NPings, st.LastError = n, "write "+string(rune('0'+n))
		fl := flip(c.ID, model.StatusUp, model.StatusDown, now)
		return store.Update{CheckID: c.ID, State: st, Fence: f,
			Ping:          &model.Ping{CheckID: c.ID, N: n, Kind: model.PingFail, Time: now},
			Flips:         []model.Flip{fl},
			Notifications: []model.Notification{{ID: uuid.New(), FlipID: fl.ID, CheckID: c.ID, Channel: "ops", State: model.NotificationPending, Created: now, NextAttempt: now}},
			Uptime:        []model.UptimeDay{{CheckID: c.ID, Day: base.Truncate(24 * time.Hour), Up: time.Second, Total: time.Second}},
			Policy:        &store.PolicyState{CheckID: c.ID, FlipID: fl.ID, Held: true},
		}
	}
	if err := s.Apply(ctx, update(a[0].Fence())); err != nil {
		t.Fatalf("write with the current lease: %v", err)
	}
	snapshot := func() string {
		_, st, err := s.GetCheck(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		pings, _ := s.Pings(ctx, c.ID, store.PingQuery{})
		flips, _ := s.Flips(ctx, c.ID, store.FlipQuery{})
		rows, _ := s.Notifications(ctx, store.NotificationQuery{CheckID: c.ID})
		up, _ := s.Uptime(ctx, c.ID, base.Add(-48*time.Hour), base.Add(48*time.Hour))
		pol, _ := s.PolicyStates(ctx)
		return mustJSON([]any{st, len(pings), len(flips), len(rows), up, pol})
	}
	before := snapshot()
	refused := func(what string, f store.Fence) {
		t.Helper()
		if err := s.Apply(ctx, update(f)); !errors.Is(err, store.ErrFenced) {
			t.Fatalf("%s: %v, want ErrFenced", what, err)
		}
		if after := snapshot(); after != before {
			t.Fatalf("%s changed the store:\n got %s\nwant %s", what, after, before)
		}
	}
	refused("another owner", store.Fence{Owner: "b", Epoch: 1})
	refused("an epoch never granted", store.Fence{Owner: "a", Epoch: 7})
	// b takes over at epoch 2: a's epoch 1 is refused, b's written.
	now = now.Add(2 * ttl)
	b, err := l.Claim(ctx, "b", []model.CheckID{c.ID}, now, now.Add(ttl))
	if err != nil || len(b) != 1 || b[0].Epoch != 2 {
		t.Fatalf("takeover: %+v, %v", b, err)
	}
	refused("the old owner after the takeover", a[0].Fence())
	if err := s.Apply(ctx, update(b[0].Fence())); err != nil {
		t.Fatalf("the new owner: %v", err)
	}
	before = snapshot()
	// b releases: its own epoch no longer writes.
	if err := l.Release(ctx, "b", []model.CheckID{c.ID}, now); err != nil {
		t.Fatal(err)
	}
	refused("a released lease", b[0].Fence())
	if err := s.Apply(ctx, update(store.Fence{})); err != nil {
		t.Fatalf("unfenced: %v", err)
	}
	missing := update(b[0].Fence())
	missing.CheckID = model.NewCheckID()
	missing.State.CheckID = missing.CheckID
	if err := s.Apply(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("fenced write to a missing check: %v, want ErrNotFound", err)
	}
}

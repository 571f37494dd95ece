package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Feed (stores shared by replicas: store.Feed): a new state is at
// revision 0 and every written state moves it on by one, compare-and-set
// or not; a compare-and-set Apply at the current revision is written; one
// at an older revision is refused with ErrConflict and changes nothing (no
// state, ping, flip); Revisions lists every live check's revision; Listen
// calls its function with nil once it listens, then with the ids of the
// writes made with Notify, from another store on the same data too.
func testFeed(t *testing.T, cfg Config) {
	s, _, f, c := openCapable[store.Feed](t, cfg, "Feed")
	ctx := context.Background()
	_, _, rev, err := f.GetCheckRev(ctx, c.ID)
	if err != nil || rev != 0 {
		t.Fatalf("a new check's revision: %d, %v; want 0", rev, err)
	}
	n := int64(0)
	update := func(cas bool, rev int64) store.Update {
		n++
		st := sampleState(c.ID)
		st.NPings = n
		fl := flip(c.ID, model.StatusUp, model.StatusDown, base)
		return store.Update{CheckID: c.ID, State: st, CAS: cas, Rev: rev,
			Ping:  &model.Ping{CheckID: c.ID, N: n, Kind: model.PingFail, Time: base},
			Flips: []model.Flip{fl}}
	}
	if err := s.Apply(ctx, update(true, 0)); err != nil {
		t.Fatalf("compare-and-set at the current revision: %v", err)
	}
	if err := s.Apply(ctx, update(false, 0)); err != nil {
		t.Fatalf("a write without compare-and-set: %v", err)
	}
	_, st, rev, err := f.GetCheckRev(ctx, c.ID)
	if err != nil || rev != 2 || st.NPings != 2 {
		t.Fatalf("after two writes: revision %d, n_pings %d, %v; want 2 and 2", rev, st.NPings, err)
	}
	if err := s.Apply(ctx, update(true, 1)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("compare-and-set at an old revision: %v, want ErrConflict", err)
	}
	pings, _ := s.Pings(ctx, c.ID, store.PingQuery{})
	flips, _ := s.Flips(ctx, c.ID, store.FlipQuery{})
	_, st, rev, _ = f.GetCheckRev(ctx, c.ID)
	if rev != 2 || st.NPings != 2 || len(pings) != 2 || len(flips) != 2 {
		t.Fatalf("a refused write changed the store: revision %d, n_pings %d, %d pings, %d flips", rev, st.NPings, len(pings), len(flips))
	}
	c2 := SampleCheck(2)
	if err := s.CreateCheck(ctx, c2, sampleState(c2.ID)); err != nil {
		t.Fatal(err)
	}
	revs, err := f.Revisions(ctx)
	if err != nil || len(revs) != 2 || revs[c.ID] != 2 || revs[c2.ID] != 0 {
		t.Fatalf("revisions %v, %v; want %s at 2 and %s at 0", revs, err, model.UniqueKey(c.ID), model.UniqueKey(c2.ID))
	}

	lctx, cancel := context.WithCancel(ctx)
	got := make(chan []model.CheckID, 16)
	done := make(chan error, 1)
	go func() { done <- f.Listen(lctx, func(ids []model.CheckID) { got <- ids }) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Listen after its context ended: %v", err)
		}
	}()
	next := func() []model.CheckID {
		t.Helper()
		select {
		case ids := <-got:
			return ids
		case <-time.After(10 * time.Second):
			t.Fatal("no call of Listen's function in 10s")
			return nil
		}
	}
	if ids := next(); ids != nil {
		t.Fatalf("Listen's first call: %v, want nil (listening)", ids)
	}
	u := update(true, 2)
	u.Notify = true
	if err := s.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	if ids := next(); !slices.Contains(ids, c.ID) {
		t.Fatalf("notified %d ids, not the check written with Notify", len(ids))
	}
}

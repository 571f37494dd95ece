package watchdog_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// With replicas on PostgreSQL, a batch of routine results never overwrites
// a newer state or another owner's: replica A holds routine results of two
// checks it owns; replica B takes the first over (a new lease epoch) and
// flips it down, and pauses the second without owning it. A's final
// flush is fenced for the first and refused (compare-and-set) for the
// second: the store keeps B's writes. Release writes what it holds under
// the lease still.
func TestHeldResultsKeepFencingAndCAS(t *testing.T) {
	dsn := pgtest.Schema(t)
	ctx := context.Background()
	replica := func() (*postgres.Store, *watchdog.Engine) {
		st, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, watchdog.New(st, watchdog.Options{Leased: true, Logger: quietLog, ResultFlush: time.Hour})
	}
	stA, eA := replica()
	stB, eB := replica()
	if err := eA.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eA.Close() })
	var ids []model.CheckID
	for _, name := range []string{"taken-over", "paused-elsewhere", "released"} {
		c, err := eA.Create(ctx, pullCheck(name))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if err := eB.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eB.Close() })
	now := time.Now()
	leases, err := stA.Claim(ctx, "a", ids, now, now.Add(time.Minute))
	if err != nil || len(leases) != len(ids) {
		t.Fatalf("claim: %v %v", leases, err)
	}
	held := map[model.CheckID]model.State{}
	for _, l := range leases {
		if err := eA.Acquire(ctx, l.CheckID, l.Fence()); err != nil {
			t.Fatal(err)
		}
		report(t, eA, l.CheckID, true) // new → up: durable
		time.Sleep(2 * time.Millisecond)
		held[l.CheckID] = report(t, eA, l.CheckID, true) // routine: held
		if s := storedPG(t, stA, l.CheckID); s.LastPing.Equal(held[l.CheckID].LastPing) {
			t.Fatalf("routine result written before the flush")
		}
	}

	// Release writes the held result under the lease.
	eA.Release(ids[2])
	if s := storedPG(t, stA, ids[2]); !s.LastPing.Equal(held[ids[2]].LastPing) {
		t.Fatalf("Release did not write the held result: %v, want %v", s.LastPing, held[ids[2]].LastPing)
	}

	// B takes the first check over (A's lease expired) and flips it down.
	later := now.Add(time.Hour)
	taken, err := stB.Claim(ctx, "b", ids[:1], later, later.Add(time.Minute))
	if err != nil || len(taken) != 1 {
		t.Fatalf("takeover claim: %v %v", taken, err)
	}
	if err := eB.Acquire(ctx, ids[0], taken[0].Fence()); err != nil {
		t.Fatal(err)
	}
	down := report(t, eB, ids[0], false)
	// B pauses the second check, which A still owns: a compare-and-set
	// write that moves its revision.
	if _, err := eB.Pause(ctx, ids[1], "maintenance"); err != nil {
		t.Fatal(err)
	}

	if err := eA.Close(); err != nil { // the final flush
		t.Fatal(err)
	}
	if s := storedPG(t, stB, ids[0]); s.Status != model.StatusDown || !s.LastPing.Equal(down.LastPing) {
		t.Fatalf("A's batch overwrote the new owner's state: %s at %v", s.Status, s.LastPing)
	}
	if s := storedPG(t, stB, ids[1]); s.Status != model.StatusPaused {
		t.Fatalf("A's batch overwrote a newer state: %s", s.Status)
	}
}

func storedPG(t *testing.T, st store.Store, id model.CheckID) model.State {
	t.Helper()
	_, s, err := st.GetCheck(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

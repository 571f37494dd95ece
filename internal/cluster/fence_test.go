package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// A replica that takes a check over from one that stopped renewing (but
// whose timers still run, as a paused process's do when it resumes)
// announces the check's deadline; both timers fire, and the database
// holds one down flip: the old owner's write is fenced (it then drops the
// check) or finds the check already down. Probe results reach only the
// owner.
func TestTakeoverAnnouncesMissedDeadlineOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	clk := newClock()
	a := newReplica(t, dsn, "a", clk, 20)
	c, err := a.eng.Create(ctx, model.Check{Name: "backup", Kind: model.KindPush, Schedule: model.Schedule{Period: time.Second, Grace: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	a.cl.Step(ctx) // the first heartbeat
	clk.Add(time.Second)
	a.cl.Step(ctx) // the first claim
	if !a.eng.Owns(c.ID) {
		t.Fatal("a does not own the check")
	}
	// A ping: the deadline is 2s away (real time: the engine's timers are
	// real).
	if _, err := a.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
		t.Fatal(err)
	}
	// a is "paused": its cluster stops; b takes the lease over once it
	// expired, and announces the missed deadline.
	b := newReplica(t, dsn, "b", clk, 20)
	b.cl.Step(ctx)
	clk.Add(ttl + time.Second)
	b.cl.Step(ctx)
	if !b.eng.Owns(c.ID) {
		t.Fatal("b did not take the check over")
	}
	waitFor(t, func() bool { cs, _ := b.eng.Get(c.ID); return cs.State.Status == model.StatusDown })
	// a's own timer fires too (it still thinks it owns the check).
	waitFor(t, func() bool { return a.eng.PendingDeadlines() == 0 })
	flips, err := b.st.Flips(ctx, c.ID, store.FlipQuery{})
	if err != nil {
		t.Fatal(err)
	}
	downs := 0
	for _, f := range flips {
		if f.To == model.StatusDown {
			downs++
		}
	}
	if downs != 1 {
		t.Fatalf("%d down flips, want 1: %+v", downs, flips)
	}
	// Probe results reach only the owner: a replica that never claimed
	// the check refuses one.
	d := newReplica(t, dsn, "d", clk, 20)
	if _, err := d.eng.Report(ctx, c.ID, model.Result{OK: true, Time: time.Now()}); !errors.Is(err, watchdog.ErrNotOwner) {
		t.Fatalf("a report to a replica that does not own the check: %v, want ErrNotOwner", err)
	}
}

// waitFor polls cond for up to 10s: the engines' timers are real.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

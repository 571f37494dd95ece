package cluster_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/cluster"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// Writes from a replica that does not own the check (docs/ha-ownership.md,
// "Writes from any replica"): each replica is a real Leased engine on its
// own pool of the real PostgreSQL, Following the store's feed as the
// daemon makes it.

// newFollower is a replica whose engine runs on the injected engine clock
// now (nil: real time) and Follows the feed until the test ends. It keeps
// every ping (retention 10,000), so that the tests can count them.
func newFollower(t *testing.T, dsn, id string, clk *clock, now func() time.Time) *replica {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{PingRetention: 10000, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	eng := watchdog.New(st, watchdog.Options{Leased: true, Logger: quiet, Now: now})
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		eng.Follow(ctx, time.Second)
	}()
	cl := cluster.New(st, eng, cluster.Options{ID: id, TTL: ttl, Now: clk.Now, Logger: quiet})
	t.Cleanup(func() {
		cancel()
		<-done
		eng.Close()
		st.Close()
	})
	return &replica{st: st, eng: eng, cl: cl}
}

// owned creates a push check on a and makes a its owner. The other
// replicas, started after it (an engine loads the checks at its start),
// never run a round of their clusters, so they never own it.
func owned(t *testing.T, a *replica, clk *clock, sched model.Schedule) model.Check {
	t.Helper()
	ctx := context.Background()
	c, err := a.eng.Create(ctx, model.Check{Name: "job", Kind: model.KindPush, Schedule: sched})
	if err != nil {
		t.Fatal(err)
	}
	a.cl.Step(ctx) // the first heartbeat
	clk.Add(time.Second)
	a.cl.Step(ctx) // the first claim
	if !a.eng.Owns(c.ID) {
		t.Fatal("a does not own the check")
	}
	return c
}

// Pings to one check on two replicas at once, the owner's and another's,
// eight clients each: every ping answered is stored once, n_pings
// advances by exactly their number, and the owner's memory follows.
func TestConcurrentPingsOnTwoReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	clk := newClock()
	a := newFollower(t, dsn, "a", clk, nil)
	c := owned(t, a, clk, model.Schedule{Period: time.Hour, Grace: time.Minute})
	b := newFollower(t, dsn, "b", clk, nil)
	const clients, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*clients*each)
	for _, r := range []struct {
		name string
		eng  *watchdog.Engine
	}{{"a", a.eng}, {"b", b.eng}} {
		for g := range clients {
			wg.Go(func() {
				for i := range each {
					ua := fmt.Sprintf("%s-%d-%d", r.name, g, i)
					if _, err := r.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess, UserAgent: ua}); err != nil {
						errs <- fmt.Errorf("ping %s: %w", ua, err)
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const n = 2 * clients * each
	_, st, err := a.st.GetCheck(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.NPings != n {
		t.Fatalf("n_pings %d after %d pings answered", st.NPings, n)
	}
	pings, err := a.st.Pings(ctx, c.ID, store.PingQuery{Limit: 2 * n})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var ns []int64
	for _, p := range pings {
		if seen[p.UserAgent] {
			t.Fatalf("ping %s stored twice", p.UserAgent)
		}
		seen[p.UserAgent] = true
		ns = append(ns, p.N)
	}
	slices.Sort(ns)
	if len(ns) != n || ns[0] != 1 || ns[n-1] != n {
		t.Fatalf("%d pings stored, numbered %d..%d; want %d numbered 1..%d", len(ns), ns[0], ns[len(ns)-1], n, n)
	}
	waitFor(t, func() bool { cs, _ := a.eng.Get(c.ID); return cs.State.NPings == n })
	if dl, ok := a.eng.Armed(c.ID); !ok || !dl.Equal(st.Deadline) {
		t.Fatalf("the owner's deadline is armed at %v (%v), want the stored %v", dl, ok, st.Deadline)
	}
}

// A ping on a replica that does not own the check re-arms the owner's
// deadline at once (through the notification, not at the owner's old
// deadline): the engines' clock is injected and frozen, so that no timer
// fires during the test and only the notification can move the deadline.
func TestNonOwnerPingMovesOwnersDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	clk := newClock()
	eclk := newClock() // the engines'
	a := newFollower(t, dsn, "a", clk, eclk.Now)
	c := owned(t, a, clk, model.Schedule{Period: time.Hour, Grace: time.Minute})
	b := newFollower(t, dsn, "b", clk, eclk.Now)
	st, err := a.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
	if err != nil {
		t.Fatal(err)
	}
	old := st.Deadline
	if dl, _ := a.eng.Armed(c.ID); !dl.Equal(old) {
		t.Fatalf("armed at %v after the owner's ping, want %v", dl, old)
	}
	eclk.Add(50 * time.Minute)
	st, err = b.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Deadline.After(old) {
		t.Fatalf("the non-owner's ping set the deadline %v, not after %v", st.Deadline, old)
	}
	if _, ok := b.eng.Armed(c.ID); ok {
		t.Fatal("the non-owner armed a deadline")
	}
	waitFor(t, func() bool { dl, ok := a.eng.Armed(c.ID); return ok && dl.Equal(st.Deadline) })
	cs, _ := a.eng.Get(c.ID)
	if cs.State.Status != model.StatusUp || cs.State.NPings != 2 {
		t.Fatalf("the owner sees %s with %d pings, want up with 2", cs.State.Status, cs.State.NPings)
	}
}

// A definition changed through a replica that does not own the check (an
// API update of its channels, which moves no deadline and so writes no
// state) reaches the owner, which decides its events on the definition it
// holds: the update moves the state's revision and notifies, so the owner
// re-reads it at once (and a write decided on the old definition
// meanwhile is refused by compare-and-set and decided again).
func TestNonOwnerUpdateReachesOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	clk := newClock()
	a := newFollower(t, dsn, "a", clk, nil)
	c := owned(t, a, clk, model.Schedule{Period: time.Hour, Grace: time.Minute})
	b := newFollower(t, dsn, "b", clk, nil)
	if _, err := a.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
		t.Fatal(err)
	}
	cs, _ := b.eng.Get(c.ID)
	upd := cs.Check
	upd.Routes = model.Routes{Down: []string{"pager"}}
	if _, err := b.eng.Update(ctx, upd); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { cs, _ := a.eng.Get(c.ID); return slices.Equal(cs.Check.Routes.Down, []string{"pager"}) })
	if _, err := a.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
		t.Fatal(err)
	}
}

// Pause and resume through a replica that does not own the check: the
// owner disarms the deadline at once, and re-arms it at the first ping
// after the resume.
func TestNonOwnerPauseResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	clk := newClock()
	a := newFollower(t, dsn, "a", clk, nil)
	c := owned(t, a, clk, model.Schedule{Period: time.Hour, Grace: time.Minute})
	b := newFollower(t, dsn, "b", clk, nil)
	if _, err := a.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.eng.Armed(c.ID); !ok {
		t.Fatal("no deadline armed after a ping")
	}
	if _, err := b.eng.Pause(ctx, c.ID, "maintenance"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		cs, _ := a.eng.Get(c.ID)
		_, armed := a.eng.Armed(c.ID)
		return cs.State.Status == model.StatusPaused && !armed
	})
	if _, err := b.eng.Resume(ctx, c.ID, "done"); err != nil {
		t.Fatal(err)
	}
	st, err := b.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { dl, ok := a.eng.Armed(c.ID); return ok && dl.Equal(st.Deadline) })
	flips, err := a.st.Flips(ctx, c.ID, store.FlipQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range slices.Backward(flips) {
		got = append(got, string(f.From)+">"+string(f.To))
	}
	if fmt.Sprint(got) != "[new>up up>paused paused>new new>up]" {
		t.Fatalf("flips %v", got)
	}
}

// The owner dies (no clean leave) while another replica takes pings for
// its check: once the lease expired, the survivor claims the check and
// its state has every ping, once.
func TestOwnerKilledNonOwnerPingsKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	clk := newClock()
	a := newFollower(t, dsn, "a", clk, nil)
	c := owned(t, a, clk, model.Schedule{Period: time.Hour, Grace: time.Minute})
	b := newFollower(t, dsn, "b", clk, nil)
	a.eng.Close() // killed: its lease stays until it expires
	const k = 20
	var st model.State
	for i := range k {
		var err error
		if st, err = b.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess, UserAgent: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	b.cl.Step(ctx)
	clk.Add(ttl + time.Second)
	b.cl.Step(ctx)
	if !b.eng.Owns(c.ID) {
		t.Fatal("b did not take the check over")
	}
	cs, _ := b.eng.Get(c.ID)
	if cs.State.NPings != k {
		t.Fatalf("the new owner sees %d pings, want %d", cs.State.NPings, k)
	}
	if dl, ok := b.eng.Armed(c.ID); !ok || !dl.Equal(st.Deadline) {
		t.Fatalf("the new owner armed %v (%v), want the last ping's deadline %v", dl, ok, st.Deadline)
	}
	pings, err := b.st.Pings(ctx, c.ID, store.PingQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(pings) != k {
		t.Fatalf("%d pings stored, want %d", len(pings), k)
	}
}

// How long after a ping is answered by a replica that does not own the
// check the owner's engine has applied it (its memory and its armed
// deadline): pings one after another on b, each timed from b's answer to
// a's state showing it. Logged, not asserted (BENCHMARKS.md, "Pings on a
// replica that does not own the check").
func TestNonOwnerPingReachesOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	clk := newClock()
	a := newFollower(t, dsn, "a", clk, nil)
	c := owned(t, a, clk, model.Schedule{Period: time.Hour, Grace: time.Minute})
	b := newFollower(t, dsn, "b", clk, nil)
	const n = 300
	lat := make([]time.Duration, 0, n)
	for i := range n {
		st, err := b.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
		if err != nil {
			t.Fatal(err)
		}
		answered := time.Now()
		for stop := answered.Add(10 * time.Second); ; {
			if dl, ok := a.eng.Armed(c.ID); ok && dl.Equal(st.Deadline) {
				if cs, _ := a.eng.Get(c.ID); cs.State.NPings == int64(i+1) {
					break
				}
			}
			if time.Now().After(stop) {
				t.Fatalf("ping %d not applied by the owner in 10s", i+1)
			}
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(answered))
	}
	slices.Sort(lat)
	t.Logf("non-owner ping answered → owner applied, %d pings: p50 %v, p99 %v, max %v",
		n, lat[n/2], lat[n*99/100], lat[n-1])
}

// A check created through the API of one replica is loaded by the others
// (Follow's poll), so that a ping to it on any replica is taken.
func TestCheckCreatedElsewhereIsLoaded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	clk := newClock()
	a := newFollower(t, dsn, "a", clk, nil)
	b := newFollower(t, dsn, "b", clk, nil)
	c := owned(t, a, clk, model.Schedule{Period: time.Hour, Grace: time.Minute})
	waitFor(t, func() bool { _, ok := b.eng.Get(c.ID); return ok })
	if _, err := b.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { cs, _ := a.eng.Get(c.ID); return cs.State.NPings == 1 })
}

// A write whose notification is lost (here: made without Notify, once
// the owner listens) reaches the owner through Follow's poll: the
// deadline it set is armed.
func TestLostNotificationCaughtUpByPoll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	clk := newClock()
	a := newFollower(t, dsn, "a", clk, nil)
	c := owned(t, a, clk, model.Schedule{Period: time.Hour, Grace: time.Minute})
	b := newFollower(t, dsn, "b", clk, nil)
	// A notified ping first: once the owner has it, it listens (its
	// catch-up at connection is behind it).
	if _, err := b.eng.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { cs, _ := a.eng.Get(c.ID); return cs.State.NPings == 1 })
	_, st, rev, err := a.st.GetCheckRev(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	st.Deadline = st.Deadline.Add(time.Hour)
	if err := a.st.Apply(ctx, store.Update{CheckID: c.ID, State: st, CAS: true, Rev: rev}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { dl, ok := a.eng.Armed(c.ID); return ok && dl.Equal(st.Deadline) })
}

package cluster_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
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

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is the injected clock the replicas share: a second after the
// server's (new checks' leases are free from the server's now on).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Add(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// replica is one watchdog replica: its own store (its own pool, as a
// process has), a real Leased engine and its Cluster.
type replica struct {
	st  *postgres.Store
	eng *watchdog.Engine
	cl  *cluster.Cluster
}

const ttl = 9 * time.Second

func newReplica(t *testing.T, dsn, id string, clk *clock, handovers int) *replica {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := watchdog.New(st, watchdog.Options{Leased: true, Logger: quiet})
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The cluster's warnings (a failed claim or load) go to the test's
	// log: Step runs on the test's goroutine, never after it ends.
	warn := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cl := cluster.New(st, eng, cluster.Options{ID: id, TTL: ttl, Now: clk.Now, MaxHandovers: handovers, Logger: warn})
	t.Cleanup(func() {
		eng.Close()
		st.Close()
	})
	return &replica{st: st, eng: eng, cl: cl}
}

// testWriter writes to a test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// settle steps every replica a second at a time until each check is
// owned by exactly one engine, for at most rounds steps: a claim or a
// load that failed on a loaded machine is retried at the next claim
// round or renewal, as in production.
func settle(t *testing.T, clk *clock, ids []model.CheckID, rs map[string]*replica, rounds int) map[string]int {
	t.Helper()
	for round := 1; round <= rounds; round++ {
		step(clk, time.Second, rs)
		owned, total := 0, 0
		for _, os := range owners(ids, rs) {
			total++
			if len(os) == 1 {
				owned++
			}
		}
		if owned == len(ids) && total == len(ids) {
			t.Logf("settled in %d rounds", round)
			break
		}
	}
	return exactlyOne(t, ids, rs)
}

// createChecks stores n push checks (no deadline until their first ping).
func createChecks(t *testing.T, st store.Store, n int) []model.CheckID {
	t.Helper()
	ids := make([]model.CheckID, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := range ids {
		ids[i] = model.NewCheckID()
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c := model.Check{ID: ids[i], Name: fmt.Sprintf("c%d", i), Kind: model.KindPush, Schedule: model.Schedule{Period: time.Minute}}.WithDefaults()
			if err := st.CreateCheck(context.Background(), c, model.NewState(c.ID, time.Now())); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

// owners returns, for each check, the replicas whose engine owns it.
func owners(ids []model.CheckID, rs map[string]*replica) map[model.CheckID][]string {
	out := map[model.CheckID][]string{}
	for _, id := range ids {
		for name, r := range rs {
			if r.eng.Owns(id) {
				out[id] = append(out[id], name)
			}
		}
	}
	return out
}

// dbOwners counts the leases per owner in the database.
func dbOwners(t *testing.T, st *postgres.Store, clk *clock) map[string]int {
	t.Helper()
	// Unowned far in the future lists every lease with its owner.
	all, err := st.Unowned(context.Background(), clk.Now().Add(24*time.Hour), 100000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, l := range all {
		out[l.Owner]++
	}
	return out
}

// exactlyOne fails unless every check is owned by exactly one engine, and
// returns how many each replica owns.
func exactlyOne(t *testing.T, ids []model.CheckID, rs map[string]*replica) map[string]int {
	t.Helper()
	return atMostOne(t, ids, rs, 0)
}

// atMostOne fails if a check is owned by two engines or more than
// inFlight checks by none (handed over, not claimed yet).
func atMostOne(t *testing.T, ids []model.CheckID, rs map[string]*replica, inFlight int) map[string]int {
	t.Helper()
	count := map[string]int{}
	for id, os := range owners(ids, rs) {
		if len(os) != 1 {
			t.Fatalf("check %s owned by %v", id, os)
		}
		count[os[0]]++
	}
	total := 0
	for _, n := range count {
		total += n
	}
	if total < len(ids)-inFlight {
		t.Fatalf("%d of %d checks owned: %v", total, len(ids), count)
	}
	return count
}

// step advances the clock by d and runs one round of each live replica.
func step(clk *clock, d time.Duration, rs map[string]*replica) {
	clk.Add(d)
	for _, r := range rs {
		r.cl.Step(context.Background())
	}
}

// One replica claims everything; two join and take their share gradually
// (at most MaxHandovers per renewal from each); one stops renewing and
// its checks are taken over, past its TTL, by both survivors, each at the
// next epoch; exactly one engine owns each check at every point.
func TestClaimRebalanceTakeover(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	clk := newClock()
	a := newReplica(t, dsn, "a", clk, 20)
	ids := createChecks(t, a.st, 300)
	rs := map[string]*replica{"a": a}
	step(clk, 0, rs)           // a's first heartbeat
	step(clk, time.Second, rs) // its first claim
	if got := exactlyOne(t, ids, rs); got["a"] != 300 {
		t.Fatalf("alone, a owns %v", got)
	}
	rs["b"] = newReplica(t, dsn, "b", clk, 20)
	rs["c"] = newReplica(t, dsn, "c", clk, 20)
	prev := map[string]int{"a": 300}
	for round := 0; round < 40; round++ {
		step(clk, time.Second, rs)
		got := atMostOne(t, ids, rs, 2*20) // released this round, claimed the next
		if prev["a"]-got["a"] > 20 {
			t.Fatalf("round %d: a gave up %d checks in one round, want at most 20", round, prev["a"]-got["a"])
		}
		prev = got
	}
	want := map[string]int{}
	for _, id := range ids {
		want[cluster.Preferred(id, []string{"a", "b", "c"})]++
	}
	if got := exactlyOne(t, ids, rs); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after rebalancing: %v, want each check on its preferred replica: %v", got, want)
	}
	if db := dbOwners(t, a.st, clk); fmt.Sprint(db) != fmt.Sprint(want) {
		t.Fatalf("leases in the database %v, want %v", db, want)
	}
	t.Logf("balanced over a, b, c: %v", want)

	// c stops: nobody takes its checks before its leases expire; after,
	// a and b take them all, each its own share.
	c := rs["c"]
	delete(rs, "c")
	cChecks := map[model.CheckID]bool{}
	for _, id := range ids {
		if c.eng.Owns(id) {
			cChecks[id] = true
		}
	}
	step(clk, ttl/2, rs)
	if got := dbOwners(t, a.st, clk); got["c"] != want["c"] {
		t.Fatalf("c's leases taken before they expired: %v", got)
	}
	step(clk, ttl/2+time.Second, rs)
	step(clk, time.Second, rs)
	got := exactlyOne(t, ids, map[string]*replica{"a": rs["a"], "b": rs["b"]})
	if got["a"]+got["b"] != 300 || got["a"] == want["a"] || got["b"] == want["b"] {
		t.Fatalf("after c stopped: %v (before %v): both survivors should have taken some", got, want)
	}
	held, _, err := a.st.Renew(context.Background(), store.Replica{ID: "a", Heartbeat: clk.Now(), Expires: clk.Now().Add(ttl)})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range held {
		if cChecks[l.CheckID] && l.Epoch != 3 {
			t.Fatalf("a took over one of c's checks at epoch %d, want 3 (a, then c, then a)", l.Epoch)
		}
	}
	// Close: a leaves; b takes everything once its next renewal no longer
	// lists a (RenewEvery, ttl/3), not a TTL later.
	if err := rs["a"].cl.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	delete(rs, "a")
	for range 4 {
		step(clk, time.Second, rs)
	}
	if got := exactlyOne(t, ids, rs); got["b"] != 300 {
		t.Fatalf("after a left: %v", got)
	}
}

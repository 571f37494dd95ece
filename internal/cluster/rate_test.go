package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
)

// 10,000 checks over three replicas: once they are claimed, a simulated
// minute of rounds (one per ClaimEvery, renewals every TTL/3) costs each
// replica at most 5 statements per second, whatever its number of checks
// (one statement renews all of them). The figures go to BENCHMARKS.md:
// go test -run TestRenewalStatements -v ./internal/cluster/
func TestRenewalStatements(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 checks")
	}
	t.Parallel()
	dsn := pgtest.Schema(t)
	clk := newClock()
	rs := map[string]*replica{}
	for _, id := range []string{"a", "b", "c"} {
		rs[id] = newReplica(t, dsn, id, clk, 100)
	}
	ids := createChecks(t, rs["a"].st, 10000)
	settle(t, clk, ids, rs, 40) // heartbeats, then claims; retries on a loaded machine (CI once needed more than 12)
	before := map[string]int64{}
	for id, r := range rs {
		before[id] = r.cl.Stats().Statements
	}
	const simulated = 60
	for range simulated {
		step(clk, time.Second, rs)
	}
	owned := exactlyOne(t, ids, rs)
	for id, r := range rs {
		n := r.cl.Stats().Statements - before[id]
		rate := float64(n) / simulated
		t.Logf("replica %s: %d checks, %d statements in %ds: %.2f statements/s", id, owned[id], n, simulated, rate)
		if rate > 5 {
			t.Errorf("replica %s: %.2f statements/s, want at most 5", id, rate)
		}
	}
	// The cost of one renewal of ~3,300 leases, for the record.
	r := rs["a"]
	start := time.Now()
	const renewals = 20
	for range renewals {
		now := clk.Now()
		if _, _, err := r.st.Renew(context.Background(), store.Replica{ID: "a", Heartbeat: now, Expires: now.Add(ttl)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("one renewal of %d leases: %v (mean of %d)", owned["a"], time.Since(start)/renewals, renewals)
}

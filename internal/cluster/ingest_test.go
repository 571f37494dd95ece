package cluster_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
)

// ingestPGPort is the private, durable PostgreSQL server of
// TestIngestScaling.
const ingestPGPort = 25471

// TestIngestScaling measures durable ping ingest through HTTP: 64 pingers
// (pingLoad) send pings to 1,000 push checks on the replicas' /ping/
// endpoints, spread over them at random, for VITALS_HA_BENCH each
// (a duration; unset skips the test): one process on SQLite (its
// default, synchronous FULL), then 1, 2 and 3 replica processes on a
// private PostgreSQL server with fsync and synchronous_commit on, each on
// a fresh schema. It logs pings answered 200 per second, p50 and p99 of
// their latency, 503s and the mean group commit, for BENCHMARKS.md
// ("High availability: ping ingest with 1-3 replicas"), and checks that
// every ping answered 200 is in the database. Figures of the machine:
// logged, never asserted.
//
//	VITALS_HA_BENCH=10s go test -run TestIngestScaling -v ./internal/cluster/
func TestIngestScaling(t *testing.T) {
	v := os.Getenv("VITALS_HA_BENCH")
	if v == "" {
		t.Skip("VITALS_HA_BENCH (a duration) is unset")
	}
	run, err := time.ParseDuration(v)
	if err != nil || run <= 0 {
		t.Fatalf("VITALS_HA_BENCH=%q: want a positive duration", v)
	}
	run = min(run, 5*time.Minute)
	bin := vitalsBinary(t)
	srv := pgtest.Start(t, ingestPGPort, map[string]string{"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"})
	const n, workers = 1000, 64
	var checks strings.Builder
	for i := range n {
		fmt.Fprintf(&checks, "  - {name: job-%d, slug: job-%d, period: 1h, grace: 1h}\n", i, i)
	}
	var lines []string
	for _, replicas := range []int{0, 1, 2, 3} { // 0: SQLite
		dsn, storeYAML, what := "", "", "SQLite (FULL), 1 process"
		if replicas == 0 {
			storeYAML = fmt.Sprintf("sqlite: {path: %q}", filepath.Join(t.TempDir(), "v.db"))
		} else {
			dsn = pgtest.SchemaOn(t, srv.DSN())
			storeYAML = `postgres: {dsn: "${VITALS_TEST_PG_DSN}", lease_ttl: 10s}`
			what = fmt.Sprintf("PostgreSQL (durable), %d replica(s)", replicas)
		}
		file := writeConfigStore(t, storeYAML, "", checks.String())
		var ps []*proc
		for range max(replicas, 1) {
			ps = append(ps, startReplica(t, bin, file, dsn))
		}
		var addrs []string
		for _, p := range ps {
			addrs = append(addrs, p.addr)
		}
		list := func() []string { return addrs }
		warm, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		pingLoad(warm, list, slugs(n), workers, 0) // connections, caches, leases settled
		cancel()
		var c0, w0 float64
		for _, a := range addrs {
			c, w, err := groupCommits(a)
			if err != nil {
				t.Fatal(err)
			}
			c0, w0 = c0+c, w0+w
		}
		ctx, cancel := context.WithTimeout(context.Background(), run)
		l := pingLoad(ctx, list, slugs(n), workers, 0)
		cancel()
		var c1, w1 float64
		for _, a := range addrs {
			c, w, err := groupCommits(a)
			if err != nil {
				t.Fatal(err)
			}
			c1, w1 = c1+c, w1+w
		}
		if replicas > 0 {
			lost, acked, unchecked := l.lost(t, dsn)
			if len(lost) > 0 {
				t.Errorf("%s: %d pings answered 200 are not in the database", what, len(lost))
			}
			t.Logf("%s: %d of the %d pings answered 200 checked in the database (the others: checks past the retention of 100)", what, acked-unchecked, acked)
		}
		group := 0.0
		if c1 > c0 {
			group = (w1 - w0) / (c1 - c0)
		}
		lines = append(lines, fmt.Sprintf("| %s | %.0f | %v | %v | %d | %.1f |", what, l.rate(),
			l.quantile(0.5).Round(100*time.Microsecond), l.quantile(0.99).Round(100*time.Microsecond), l.busy, group))
		for _, p := range ps { // free the CPU for the next run
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	}
	t.Logf("%d pingers, 1,000 checks, %v per run:\n| store | pings/s answered 200 | p50 | p99 | 503s | mean group commit |\n|---|---|---|---|---|---|\n%s",
		workers, run, strings.Join(lines, "\n"))
}

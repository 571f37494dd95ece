package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/testenv"
)

// restartPGPort is the private PostgreSQL server that
// TestDatabaseRestartUnderPings stops and starts (ports 25470-25479 are
// this package's; the shared server, 55432, is never stopped). Below the
// ephemeral range (32768-60999): while the server is down the replicas
// keep dialling it, and a dial from the port it listens on connects to
// itself (TCP simultaneous open), which then keeps the server from
// binding its port again (seen in CI: "could not bind … Address already
// in use").
const restartPGPort = 25470

// proxied returns dsn with its host replaced by a TCP proxy to it, which
// the test can cut (Down), hang, slow (Delay) and heal (Up), and a
// connect timeout of 2s.
func proxied(t *testing.T, dsn string) (string, *testenv.Proxy) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.NewProxy(t, u.Host)
	u.Host = p.Addr()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return u.String(), p
}

// Database restart under ping load: two replica processes, pings to both
// from 8 workers; the database is stopped for 3s and started again.
// Every ping answered 200 (before, during, after) is in the database;
// meanwhile pings are answered 503 with Retry-After and /readyz is DOWN;
// afterwards both replicas, never restarted, answer 200 again.
func TestDatabaseRestartUnderPings(t *testing.T) {
	bin := vitalsBinary(t)
	srv := pgtest.Start(t, restartPGPort, nil)
	dsn := pgtest.SchemaOn(t, srv.DSN()) + "&connect_timeout=2"
	const n = 500 // a few pings each: under the retention of 100
	file := writeConfig(t, 2*time.Second, n, time.Hour, time.Hour)
	a, b := startReplica(t, bin, file, dsn), startReplica(t, bin, file, dsn)
	addrs := func() []string { return []string{a.addr, b.addr} }
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan *load)
	go func() { done <- pingLoad(ctx, addrs, slugs(n), 8, 20*time.Millisecond) }()

	time.Sleep(2 * time.Second)
	srv.Stop()
	down := map[string]bool{}
	poll(t, "/readyz DOWN on both replicas", 30*time.Second, func() bool {
		for _, addr := range addrs() {
			if readyz(addr) == 503 {
				down[addr] = true
			}
		}
		return len(down) == 2
	})
	time.Sleep(3 * time.Second)
	srv.Start()
	poll(t, "/readyz UP on both replicas", 60*time.Second, func() bool {
		return readyz(a.addr) == 200 && readyz(b.addr) == 200
	})
	time.Sleep(2 * time.Second) // pings answered 200 after the restart
	stop()
	l := <-done
	for _, p := range []*proc{a, b} {
		if p.cmd.ProcessState != nil {
			t.Fatalf("replica %s exited", p.addr)
		}
	}
	lost, acked, unchecked := l.lost(t, dsn)
	if unchecked > 0 {
		t.Fatalf("%d pings of checks past the retention of 100: add checks", unchecked)
	}
	if len(lost) > 0 {
		t.Errorf("%d pings answered 200 are not in the database (false 200s): %v", len(lost), lost[:min(len(lost), 10)])
	}
	if l.busy == 0 || l.noRetryAfter > 0 {
		t.Errorf("%d answers 503 (%d without Retry-After); want some, all with Retry-After", l.busy, l.noRetryAfter)
	}
	if l.other > 0 {
		t.Errorf("%d answers neither 200 nor 503", l.other)
	}
	t.Logf("database restart under pings: %d answered 200 (all %d in the database), %d answered 503 with Retry-After, %d transport errors, both replicas back without a restart",
		l.ok, acked, l.busy, l.errs)
}

// The database unreachable from one replica: two replicas, A's connections
// through a proxy. A owns some checks and has just accepted their pings
// (deadlines 3s later) when its proxy is cut: A turns /readyz DOWN and
// answers pings 503; B takes A's checks over within the lease TTL (the
// time is logged) and announces their missed deadlines. When the proxy
// heals, whatever A decided meanwhile is refused (fencing): every check
// of A has exactly the flips up, down.
func TestReplicaCutFromDatabase(t *testing.T) {
	bin := vitalsBinary(t)
	t.Parallel()
	dsn := pgtest.Schema(t)
	viaProxy, proxy := proxied(t, dsn)
	const n, ttl = 20, 2 * time.Second
	file := writeConfig(t, ttl, n, 2*time.Second, time.Second)
	conn := connect(t, dsn)
	a := startReplica(t, bin, file, viaProxy)
	b := startReplica(t, bin, file, dsn)
	var mine []string
	poll(t, "every check owned, some by each replica", 30*time.Second, func() bool {
		mine = mine[:0]
		for _, name := range slugs(n) {
			switch ownerAddr(t, conn, name) {
			case "":
				return false
			case a.addr:
				mine = append(mine, name)
			}
		}
		return len(mine) > 0 && len(mine) < n
	})
	for _, name := range mine {
		ping(t, a.addr, name) // A's own timers armed
	}
	proxy.Down()
	cut := time.Now()
	poll(t, "A's /readyz DOWN", 30*time.Second, func() bool { return readyz(a.addr) == 503 })
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Post("http://"+a.addr+"/ping/pk/"+mine[0], "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("ping to the cut replica: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	poll(t, "B owns A's checks", 30*time.Second, func() bool {
		for _, name := range mine {
			if ownerAddr(t, conn, name) != b.addr {
				return false
			}
		}
		return true
	})
	takeover := time.Since(cut)
	poll(t, "B announces every missed deadline", 30*time.Second, func() bool {
		for _, name := range mine {
			if fl, _ := flips(t, conn, name); !slices.Contains(fl, "down") {
				return false
			}
		}
		return true
	})
	proxy.Up()
	poll(t, "A ready again", 60*time.Second, func() bool { return readyz(a.addr) == 200 })
	poll(t, "A learns it lost its leases", 30*time.Second, func() bool {
		l := a.logs()
		return strings.Contains(l, "leases expired without renewal") || strings.Contains(l, "leases taken over by another replica") ||
			strings.Contains(l, "a write was fenced")
	})
	time.Sleep(2 * ttl) // a late write would land by now
	for _, name := range mine {
		if fl, _ := flips(t, conn, name); !slices.Equal(fl, []string{"up", "down"}) {
			t.Errorf("%s: flips %v, want [up down]", name, fl)
		}
	}
	t.Logf("A cut from the database owned %d of %d checks; B owned them all %v after the cut (lease TTL %v); after healing, A's log mentions fencing: %v",
		len(mine), n, takeover.Round(10*time.Millisecond), ttl, strings.Contains(a.logs(), "fenced"))
}

// Network slowness: two replicas whose connections to the database go
// through proxies adding 50ms each way. Pings still succeed; group
// commits grow (the mean group size is logged beside the one of a run
// without the delay, with throughput and p99).
func TestSlowDatabaseLink(t *testing.T) {
	bin := vitalsBinary(t)
	t.Parallel()
	const n = 1000
	var lines []string
	var ps0logs string
	for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
		dsn := pgtest.Schema(t)
		file := writeConfig(t, 5*time.Second, n, time.Hour, time.Hour)
		var ps []*proc
		for range 2 {
			viaProxy, proxy := proxied(t, dsn)
			ps = append(ps, startReplica(t, bin, file, viaProxy))
			proxy.Delay(delay)
		}
		addrs := func() []string { return []string{ps[0].addr, ps[1].addr} }
		var c0, w0 float64
		for _, p := range ps {
			c, w, err := groupCommits(p.addr)
			if err != nil {
				t.Fatal(err)
			}
			c0, w0 = c0+c, w0+w
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l := pingLoad(ctx, addrs, slugs(n), 32, 0)
		cancel()
		var c1, w1 float64
		for _, p := range ps {
			c, w, err := groupCommits(p.addr)
			if err != nil {
				t.Fatal(err)
			}
			c1, w1 = c1+c, w1+w
		}
		ps0logs += ps[0].logs() + "\n" + ps[1].logs()
		if l.ok == 0 || l.other > 0 || l.errs > 0 {
			t.Errorf("delay %v: %d pings answered 200, %d 503, %d other, %d errors", delay, l.ok, l.busy, l.other, l.errs)
		}
		if lost, _, unchecked := l.lost(t, dsn); len(lost) > 0 || unchecked > 0 {
			t.Errorf("delay %v: %d pings answered 200 are not in the database (%d unchecked: past the retention)", delay, len(lost), unchecked)
		}
		group := 0.0
		if c1 > c0 {
			group = (w1 - w0) / (c1 - c0)
		}
		lines = append(lines, fmt.Sprintf("delay %v each way: %.0f pings/s, p50 %v, p99 %v, %d answered 503, mean group commit %.1f writes",
			delay, l.rate(), l.quantile(0.5).Round(time.Millisecond), l.quantile(0.99).Round(time.Millisecond), l.busy, group))
	}
	t.Logf("two replicas, 32 pingers, 5s each:\n%s", strings.Join(lines, "\n"))
	for _, l := range strings.Split(ps0logs, "\n") {
		if strings.Contains(l, "WARN") || strings.Contains(l, "ERROR") {
			t.Log(l)
		}
	}
}

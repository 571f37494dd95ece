package cluster_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
)

// chaosDuration is the length of the chaos run's kill phase, from
// VITALS_CHAOS (a Go duration, at most 1h); unset skips the test. .ci/run
// sets it to 45s; a run as CI makes it, and a longer one:
//
//	VITALS_CHAOS=45s go test -race -run TestChaos -v ./internal/cluster/
//
//	VITALS_CHAOS=10m go test -run TestChaos -v -timeout 30m ./internal/cluster/
func chaosDuration(t *testing.T) time.Duration {
	v := os.Getenv("VITALS_CHAOS")
	if v == "" {
		t.Skip("VITALS_CHAOS (a duration) is unset")
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("VITALS_CHAOS=%q: want a positive duration", v)
	}
	return min(d, time.Hour)
}

// receiver is the webhook endpoint of the chaos run: it answers within
// 100ms, while flaky about one request in five 503; it counts the 2xx
// answers per Idempotency-Key.
type receiver struct {
	flaky atomic.Bool
	mu    sync.Mutex
	ok    map[string]int
	fails int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	key := r.Header.Get("Idempotency-Key")
	// Up to 100ms per answer: a kill may catch deliveries in flight.
	time.Sleep(rand.N(100 * time.Millisecond))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.flaky.Load() && rand.IntN(5) == 0 {
		rc.fails++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	rc.ok[key]++
}

// replicaSet is the live replicas the pingers choose from.
type replicaSet struct {
	mu    sync.Mutex
	procs []*proc
}

func (s *replicaSet) random() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[rand.IntN(len(s.procs))].addr
}

// pingUntilAcked sends a ping with body to random replicas until one
// answers 200 (bounded: 100 tries); it returns the address of the one
// that did, "" if none did.
func pingUntilAcked(c *http.Client, rs *replicaSet, slug, body string) string {
	for range 100 {
		addr := rs.random()
		resp, err := c.Post("http://"+addr+"/ping/pk/"+slug, "text/plain", strings.NewReader(body))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ""
}

// TestChaos is the chaos run of issue 12: three `vitals watchdog`
// processes on one PostgreSQL schema (lease TTL 2s), 1,000 heartbeat
// checks and 200 pull checks against a local target, every down flip
// notifying a webhook receiver that answers one request in five 503
// (each answer within 100ms, so that kills catch deliveries in flight).
// Pingers send pings (each with a body of its own) to random replicas;
// every few seconds a random replica is killed (SIGKILL) and started
// again. 900 heartbeat checks (period 1h) are pinged throughout and must
// never go down; 100 are pinged once, at a time spread over the run, and
// must go down once, 3s later, whoever owns them then; 180 pull checks
// probe a target answering 200 (up once), 20 one answering 500 (down
// once). Afterwards, counted from the database and the receiver:
//   - every ping answered 200 is in the database (acknowledged pings lost: 0);
//   - each check's flips are exactly the expected ones: up for the pinged
//     heartbeats and the healthy pull checks, up then down for the
//     missed ones, down for the failing pull checks; no other flip;
//   - every outbox row is delivered, the receiver answered 2xx for each
//     down flip's key, and the keys it saw twice are no more than the rows
//     the killed replicas had claimed and not marked at their kills.
//
// The counts are logged for docs/ha.md.
func TestChaos(t *testing.T) {
	run := chaosDuration(t)
	bin := vitalsBinary(t)
	const (
		alive, late, pullOK, pullBad = 900, 100, 180, 20
		ttl                          = 2 * time.Second
		latePeriod, lateGrace        = 2 * time.Second, time.Second
	)
	dsn := pgtest.Schema(t)
	conn := connect(t, dsn)

	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer target.Close()
	rc := &receiver{ok: map[string]int{}}
	rc.flaky.Store(true)
	hook := httptest.NewServer(rc)
	defer hook.Close()

	var checks strings.Builder
	for i := range alive {
		fmt.Fprintf(&checks, "  - {name: alive-%d, slug: alive-%d, period: 1h, grace: 1h, actions: {down: [hook]}}\n", i, i)
	}
	for i := range late {
		fmt.Fprintf(&checks, "  - {name: late-%d, slug: late-%d, period: %s, grace: %s, actions: {down: [hook]}}\n", i, i, latePeriod, lateGrace)
	}
	for i := range pullOK + pullBad {
		path := "/ok"
		if i >= pullOK {
			path = "/bad"
		}
		fmt.Fprintf(&checks, "  - {name: pull-%d, interval: 5s, timeout: 2s, http: {url: %q}, actions: {down: [hook]}}\n", i, target.URL+path)
	}
	extra := fmt.Sprintf("notifiers:\n  hook: {webhook: {url: %q}}\n", hook.URL)
	file := writeConfigWith(t, ttl, extra, checks.String())

	rs := &replicaSet{}
	for range 3 {
		rs.procs = append(rs.procs, startReplica(t, bin, file, dsn))
	}
	poll(t, "every check owned", 60*time.Second, func() bool {
		var free int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM leases WHERE owner = ''`).Scan(&free); err != nil {
			t.Fatal(err)
		}
		return free == 0
	})

	ctx, stop := context.WithCancel(context.Background())
	client := &http.Client{Timeout: 5 * time.Second}
	var (
		mu       sync.Mutex
		acked    = map[string][]string{} // slug → bodies answered 200
		sent     atomic.Int64
		lateAck  = map[string]string{} // slug → "acked by <addr>, owned by <addr>"
		lastLate time.Time
		wg       sync.WaitGroup
	)
	record := func(slug, body string) {
		mu.Lock()
		acked[slug] = append(acked[slug], body)
		mu.Unlock()
	}
	// Pingers: every alive check once (in a random order), then random
	// ones, each pinger at most 50 pings a second.
	order := make(chan string, alive)
	for _, i := range rand.Perm(alive) {
		order <- fmt.Sprintf("alive-%d", i)
	}
	close(order)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				slug, ok := <-order
				if !ok {
					slug = fmt.Sprintf("alive-%d", rand.IntN(alive))
				}
				body := fmt.Sprintf("p%d-%d", w, n)
				sent.Add(1)
				resp, err := client.Post("http://"+rs.random()+"/ping/pk/"+slug, "text/plain", strings.NewReader(body))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						record(slug, body)
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	// The late checks: each pinged once, at a time spread over the run
	// but its last 5s, so that its deadline falls inside the run.
	start := time.Now()
	lateConn := connect(t, dsn)
	wg.Go(func() {
		span := max(run-5*time.Second, time.Second)
		for i, at := range lateSchedule(late, span) {
			time.Sleep(time.Until(start.Add(at)))
			slug := fmt.Sprintf("late-%d", i)
			by := pingUntilAcked(client, rs, slug, "late")
			var owner string
			lateConn.QueryRow(context.Background(), `SELECT r.address FROM leases l JOIN checks c ON c.id = l.check_id
				JOIN replicas r ON r.id = l.owner WHERE c.def::jsonb->>'name' = $1`, slug).Scan(&owner)
			mu.Lock()
			if by != "" {
				lateAck[slug] = fmt.Sprintf("acked by %s, owned by %s", by, owner)
			}
			lastLate = time.Now()
			mu.Unlock()
		}
	})

	// Kills: a random replica every 3-6s, started again at once.
	type kill struct {
		replica  string
		inFlight int // outbox rows it had claimed and not marked
	}
	var kills []kill
	claimers := map[string]bool{} // claimed_by names seen in the outbox
	for time.Since(start) < run {
		time.Sleep(3*time.Second + rand.N(3*time.Second))
		rs.mu.Lock()
		i := rand.IntN(len(rs.procs))
		victim := rs.procs[i]
		rs.procs = slices.Delete(rs.procs, i, i+1)
		rs.mu.Unlock()
		victim.cmd.Process.Kill()
		victim.cmd.Wait()
		var id string
		var inFlight int
		if err := conn.QueryRow(context.Background(), `SELECT r.id, (SELECT count(*) FROM outbox o
			WHERE o.claimed_by = r.id AND o.state = 'pending') FROM replicas r WHERE r.address = $1`, victim.addr).Scan(&id, &inFlight); err != nil {
			t.Fatalf("replica %s: %v", victim.addr, err)
		}
		kills = append(kills, kill{id, inFlight})
		names, err := conn.Query(context.Background(), `SELECT DISTINCT claimed_by FROM outbox WHERE claimed_by <> ''`)
		if err != nil {
			t.Fatal(err)
		}
		for names.Next() {
			var n string
			if err := names.Scan(&n); err != nil {
				t.Fatal(err)
			}
			claimers[n] = true
		}
		names.Close()
		p := startReplica(t, bin, file, dsn)
		rs.mu.Lock()
		rs.procs = append(rs.procs, p)
		rs.mu.Unlock()
	}
	stop()
	wg.Wait()
	rc.flaky.Store(false)
	t.Logf("chaos phase over after %v: %d kills, %d pings sent", time.Since(start).Round(time.Second), len(kills), sent.Load())

	// Settle: every late deadline passed, every check flipped, every
	// outbox row delivered (a killed replica's claims end after the
	// claim TTL, 40s).
	time.Sleep(time.Until(lastLate.Add(latePeriod + lateGrace + ttl)))
	const settleWithin = 2 * time.Minute
	settleBy := time.Now().Add(settleWithin)
	settled := func() bool {
		var downLate, pulled, pending int
		if err := conn.QueryRow(context.Background(), `SELECT
			(SELECT count(DISTINCT f.check_id) FROM flips f JOIN checks c ON c.id = f.check_id
				WHERE f.to_st = 'down' AND c.def::jsonb->>'name' LIKE 'late-%'),
			(SELECT count(DISTINCT f.check_id) FROM flips f JOIN checks c ON c.id = f.check_id
				WHERE c.def::jsonb->>'name' LIKE 'pull-%'),
			(SELECT count(*) FROM outbox WHERE state <> 'delivered')`).Scan(&downLate, &pulled, &pending); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(settleBy) {
			t.Errorf("not settled within %v: late checks down %d of %d, pull checks flipped %d of %d, outbox rows undelivered %d",
				settleWithin, downLate, late, pulled, pullOK+pullBad, pending)
			return true
		}
		return downLate == late && pulled == pullOK+pullBad && pending == 0
	}
	for !settled() {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * ttl) // a late or doubled flip would land by now

	// Flips, per check.
	got := map[string][]string{}
	rows, err := conn.Query(context.Background(), `SELECT c.def::jsonb->>'name', f.to_st FROM flips f
		JOIN checks c ON c.id = f.check_id ORDER BY f.check_id, f.time`)
	if err != nil {
		t.Fatal(err)
	}
	var flipCount int
	for rows.Next() {
		var name, to string
		if err := rows.Scan(&name, &to); err != nil {
			t.Fatal(err)
		}
		got[name] = append(got[name], to)
		flipCount++
	}
	rows.Close()
	var wantDown, wrong int
	var dumpOnce sync.Once
	expect := func(name string, want ...string) {
		if !slices.Equal(got[name], want) {
			wrong++
			if wrong <= 20 {
				t.Errorf("%s: flips %v, want %v", name, got[name], want)
			}
		}
	}
	for i := range alive {
		name := fmt.Sprintf("alive-%d", i)
		if len(acked[name]) > 0 || len(got[name]) > 0 { // an unanswered ping may have been committed
			expect(name, "up")
		}
	}
	for i := range late {
		name := fmt.Sprintf("late-%d", i)
		if lateAck[name] != "" || len(got[name]) > 0 {
			if !slices.Equal(got[name], []string{"up", "down"}) {
				t.Logf("%s: ping %s", name, lateAck[name])
				diagnose(t, conn, rs, name)
				dumpOnce.Do(func() { dumpReplicas(t, rs) })
			}
			expect(name, "up", "down")
			wantDown++
		}
	}
	for i := range pullOK + pullBad {
		if i < pullOK {
			expect(fmt.Sprintf("pull-%d", i), "up")
		} else {
			expect(fmt.Sprintf("pull-%d", i), "down")
			wantDown++
		}
	}

	// Acknowledged pings, against the database.
	stored := map[string]map[string]bool{}
	rows, err = conn.Query(context.Background(), `SELECT c.def::jsonb->>'name', p.body FROM pings p JOIN checks c ON c.id = p.check_id`)
	if err != nil {
		t.Fatal(err)
	}
	var storedCount int
	for rows.Next() {
		var name string
		var body []byte
		if err := rows.Scan(&name, &body); err != nil {
			t.Fatal(err)
		}
		if stored[name] == nil {
			stored[name] = map[string]bool{}
		}
		stored[name][string(body)] = true
		storedCount++
	}
	rows.Close()
	var ackCount, lost int
	for slug, bodies := range acked {
		if len(bodies) >= 100 {
			t.Fatalf("%s: %d pings, past the retention of 100: raise it", slug, len(bodies))
		}
		for _, b := range bodies {
			ackCount++
			if !stored[slug][b] {
				lost++
				if lost <= 20 {
					t.Errorf("%s: ping %q answered 200 is not in the database", slug, b)
				}
			}
		}
	}

	// Notifications, against the outbox and the receiver.
	var rowsOut, delivered int
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE state = 'delivered') FROM outbox`).Scan(&rowsOut, &delivered); err != nil {
		t.Fatal(err)
	}
	keys, err := conn.Query(context.Background(), `SELECT o.flip_id::text || '/' || o.channel FROM outbox o`)
	if err != nil {
		t.Fatal(err)
	}
	var missing int
	rc.mu.Lock()
	byFlip := map[string]int{} // a key is <check's unique key>/<flip>/<channel>
	for key, n := range rc.ok {
		_, flip, _ := strings.Cut(key, "/")
		byFlip[flip] += n
	}
	for keys.Next() {
		var key string
		if err := keys.Scan(&key); err != nil {
			t.Fatal(err)
		}
		if byFlip[key] == 0 {
			missing++
			t.Errorf("notification %s never answered 2xx by the receiver", key)
		}
	}
	keys.Close()
	var dups, unknown int
	for key, n := range rc.ok {
		dups += n - 1
		if strings.Count(key, "/") != 2 {
			unknown++
		}
	}
	received, fails := len(rc.ok), rc.fails
	rc.mu.Unlock()
	var inFlight int
	for _, k := range kills {
		inFlight += k.inFlight
	}
	if rowsOut != wantDown || delivered != rowsOut || received != rowsOut || unknown > 0 {
		t.Errorf("outbox rows %d (delivered %d), keys received %d (%d malformed); want %d down notifications, all delivered",
			rowsOut, delivered, received, unknown, wantDown)
	}
	if dups > inFlight {
		var twice []string
		for key, n := range rc.ok {
			if n > 1 {
				twice = append(twice, fmt.Sprintf("%s ×%d", key, n))
			}
		}
		t.Errorf("%d duplicate deliveries, more than the %d rows in flight at the kills: %v", dups, inFlight, twice)
	}
	// The bound above counts a killed replica's claims by its replica id:
	// every claim must be taken under one (a dispatcher named otherwise
	// made that bound 0 whatever was in flight).
	for n := range claimers {
		var known bool
		if err := conn.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM replicas WHERE id = $1)`, n).Scan(&known); err != nil {
			t.Fatal(err)
		}
		if !known {
			t.Errorf("outbox rows claimed by %q, which is not a replica id", n)
		}
	}
	t.Logf("chaos run %v, lease TTL %v: %d kills (-9) and restarts; pings sent %d, answered 200 %d, stored %d, acknowledged lost %d; "+
		"flips %d (expected down %d, wrong checks %d); notifications %d, delivered %d, receiver 503s %d, duplicates %d (bound: %d in flight at the kills), never received %d; "+
		"claims seen at the kills under %d replica ids",
		run, ttl, len(kills), sent.Load(), ackCount, storedCount, lost, flipCount, wantDown, wrong, rowsOut, delivered, fails, dups, inFlight, missing, len(claimers))
}

// lateSchedule spreads n ping times over span, sorted, the first after 1s.
func lateSchedule(n int, span time.Duration) []time.Duration {
	at := make([]time.Duration, n)
	for i := range at {
		at[i] = time.Second + rand.N(span)
	}
	slices.Sort(at)
	return at
}

// diagnose logs, for a check that did not flip as expected, its lease and
// stored state, and the lines of the live replicas' logs that name it or
// report a cluster event (bounded).
func diagnose(t *testing.T, conn *pgx.Conn, rs *replicaSet, name string) {
	t.Helper()
	var owner, state string
	var epoch, expires, rev int64
	var id [16]byte
	if err := conn.QueryRow(context.Background(), `SELECT c.id, l.owner, l.epoch, l.expires, s.state, s.rev FROM checks c
		JOIN leases l ON l.check_id = c.id JOIN states s ON s.id = c.id WHERE c.def::jsonb->>'name' = $1`, name).
		Scan(&id, &owner, &epoch, &expires, &state, &rev); err != nil {
		t.Logf("%s: %v", name, err)
		return
	}
	key := model.CheckID(id).UniqueKey()
	t.Logf("%s (%s): lease %s epoch %d expires %s; state rev %d %s", name, key, owner, epoch,
		time.Unix(0, expires).Format(time.RFC3339Nano), rev, state)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, p := range rs.procs {
		n := 0
		for l := range strings.SplitSeq(p.logs(), "\n") {
			if strings.Contains(l, key) || strings.Contains(l, name) {
				t.Logf("  %s: %s", p.addr, l)
				if n++; n >= 40 {
					break
				}
			}
		}
	}
}

// dumpReplicas logs the live replicas' warnings and errors (bounded), then
// has each print its goroutines (SIGQUIT ends it) and writes its whole
// log to $VITALS_ARTIFACTS (or the test's temp dir): where a check that
// should have gone down is stuck.
func dumpReplicas(t *testing.T, rs *replicaSet) {
	t.Helper()
	dir := os.Getenv("VITALS_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	rs.mu.Lock()
	procs := slices.Clone(rs.procs)
	rs.mu.Unlock()
	for _, p := range procs {
		n := 0
		for l := range strings.SplitSeq(p.logs(), "\n") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				t.Logf("  %s: %s", p.addr, l)
				if n++; n >= 30 {
					break
				}
			}
		}
		p.cmd.Process.Signal(syscall.SIGQUIT)
		p.cmd.Wait()
		time.Sleep(100 * time.Millisecond) // the reader drains the pipe
		file := filepath.Join(dir, "chaos-"+strings.ReplaceAll(p.addr, ":", "_")+".log")
		if err := os.WriteFile(file, []byte(p.logs()), 0o644); err != nil {
			t.Log(err)
			continue
		}
		t.Logf("%s: log and goroutines in %s", p.addr, file)
	}
}

package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
)

// The tests below run "vitals watchdog" as real processes, replicas on one
// PostgreSQL schema, and count what the database holds.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// vitalsBinary builds cmd/vitals once per test binary.
func vitalsBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds vitals and runs replicas as processes")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vitals-cluster-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vitals")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/vitals").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is one replica process.
type proc struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	log  []string
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// startReplica runs vitals watchdog on the config file and returns once
// it logged its start (with its address).
func startReplica(t *testing.T, bin, file, dsn string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "watchdog", "-config", file, "-log-level", "debug")
	cmd.Env = append(os.Environ(), "VITALS_TEST_PG_DSN="+dsn)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	started := make(chan string, 1)
	re := regexp.MustCompile(`msg="vitals watchdog started".* listen=(\S+)`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			l := sc.Text()
			p.mu.Lock()
			p.log = append(p.log, l)
			p.mu.Unlock()
			if m := re.FindStringSubmatch(l); m != nil {
				started <- m[1]
			}
		}
	}()
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case p.addr = <-started:
	case <-timer.C:
		t.Fatalf("replica did not start:\n%s", p.logs())
	}
	return p
}

// writeConfig writes the replicas' shared config: n push checks
// "job-<i>" (period, grace) on the PostgreSQL DSN in VITALS_TEST_PG_DSN.
func writeConfig(t *testing.T, ttl time.Duration, n int, period, grace time.Duration) string {
	t.Helper()
	var checks strings.Builder
	for i := range n {
		fmt.Fprintf(&checks, "  - {name: job-%d, slug: job-%d, period: %s, grace: %s}\n", i, i, period, grace)
	}
	return writeConfigWith(t, ttl, "", checks.String())
}

// writeConfigWith writes a replicas' config on the PostgreSQL DSN in
// VITALS_TEST_PG_DSN with lease TTL ttl: extra (top-level YAML: notifiers,
// pull, …) and the items of its checks list.
func writeConfigWith(t *testing.T, ttl time.Duration, extra, checks string) string {
	t.Helper()
	return writeConfigStore(t, fmt.Sprintf(`postgres: {dsn: "${VITALS_TEST_PG_DSN}", lease_ttl: %s}`, ttl), extra, checks)
}

// writeConfigStore writes a watchdog config with the given store section
// (one line of YAML), extra top-level YAML and the items of its checks.
func writeConfigStore(t *testing.T, storeYAML, extra, checks string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	cfg := fmt.Sprintf(`server:
  listen: ["127.0.0.1:0"]
  shutdown_timeout: 5s
store:
  %s
api_keys: []
pings:
  ping_key: pk
%s
checks:
%s`, storeYAML, extra, checks)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// ownerAddr returns the address of the replica holding the lease of the
// check named name, "" while none does.
func ownerAddr(t *testing.T, conn *pgx.Conn, name string) string {
	t.Helper()
	var addr string
	err := conn.QueryRow(context.Background(), `SELECT r.address FROM leases l JOIN checks c ON c.id = l.check_id
		JOIN replicas r ON r.id = l.owner WHERE c.def::jsonb->>'name' = $1`, name).Scan(&addr)
	if err == pgx.ErrNoRows {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// flips returns the to-statuses of the check's flips, oldest first, and
// the time of its last down flip (ns).
func flips(t *testing.T, conn *pgx.Conn, name string) ([]string, int64) {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT f.to_st, f.time FROM flips f JOIN checks c ON c.id = f.check_id
		WHERE c.def::jsonb->>'name' = $1 ORDER BY f.time`, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	var down int64
	for rows.Next() {
		var to string
		var at int64
		if err := rows.Scan(&to, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, to)
		if to == "down" {
			down = at
		}
	}
	return out, down
}

func ping(t *testing.T, addr, slug string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/ping/pk/"+slug, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("ping %s: %d", slug, resp.StatusCode)
	}
}

// poll waits (bounded) until cond holds.
func poll(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Split brain: two replica processes on one database; the owner of a set
// of checks is stopped (SIGSTOP) past its lease, right after their pings;
// the other takes them over and announces their missed deadlines; the
// stopped one is resumed (SIGCONT) with its timers due. The database
// holds exactly one flip per real transition (up on the ping, down at
// the deadline) for every check: nothing the resumed replica decided was
// accepted.
func TestSplitBrainProcesses(t *testing.T) {
	bin := vitalsBinary(t)
	t.Parallel()
	dsn := pgtest.Schema(t)
	const n, ttl = 10, 2 * time.Second
	file := writeConfig(t, ttl, n, 2*time.Second, time.Second)
	conn := connect(t, dsn)
	p1 := startReplica(t, bin, file, dsn)
	p2 := startReplica(t, bin, file, dsn)
	byAddr := map[string]*proc{p1.addr: p1, p2.addr: p2}
	// Wait until every check is owned, and pick the replica owning job-0.
	poll(t, "every check owned", 30*time.Second, func() bool {
		for i := range n {
			if ownerAddr(t, conn, fmt.Sprintf("job-%d", i)) == "" {
				return false
			}
		}
		return true
	})
	stopped := byAddr[ownerAddr(t, conn, "job-0")]
	var mine []string
	for i := range n {
		if name := fmt.Sprintf("job-%d", i); byAddr[ownerAddr(t, conn, name)] == stopped {
			mine = append(mine, name)
		}
	}
	for _, name := range mine {
		ping(t, stopped.addr, name) // its own timers armed for the deadlines
	}
	// Stop it now, before the deadlines (3s away), for longer than its
	// lease.
	if err := stopped.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	poll(t, "the other replica announces every missed deadline", 30*time.Second, func() bool {
		for _, name := range mine {
			if fl, _ := flips(t, conn, name); !slices.Contains(fl, "down") {
				return false
			}
		}
		return true
	})
	if err := stopped.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Let the resumed replica's timers and renewal run.
	poll(t, "the resumed replica learns it lost its leases", 30*time.Second, func() bool {
		return strings.Contains(stopped.logs(), "leases taken over by another replica") ||
			strings.Contains(stopped.logs(), "a write was fenced")
	})
	time.Sleep(2 * ttl) // any late write would land by now
	for i := range n {
		name := fmt.Sprintf("job-%d", i)
		fl, _ := flips(t, conn, name)
		want := []string{"up", "down"}
		if !slices.Contains(mine, name) {
			want = nil
			if len(fl) > 0 { // the other replica's own checks: never pinged
				want = fl
			}
		}
		if !slices.Equal(fl, want) {
			t.Errorf("%s: flips %v, want %v", name, fl, want)
		}
	}
	t.Logf("stopped replica owned %d checks; its log after SIGCONT mentions fencing: %v", len(mine),
		strings.Contains(stopped.logs(), "fenced"))
}

// Takeover: the owner of a check is killed (kill -9) a second before the
// check's deadline; the surviving replica takes the check over once the
// lease expires and announces the missed deadline, once. The lateness of
// the down flip against the deadline is logged (p50, p99, max) for
// BENCHMARKS.md, never asserted: the bound (lease TTL + 1s) is a figure of
// the machine. VITALS_TAKEOVER_RUNS sets the number of runs (default 3).
//
//	VITALS_TAKEOVER_RUNS=20 go test -run TestTakeoverProcesses -v ./internal/cluster/
func TestTakeoverProcesses(t *testing.T) {
	bin := vitalsBinary(t)
	t.Parallel()
	runs := 3
	if v := os.Getenv("VITALS_TAKEOVER_RUNS"); v != "" {
		fmt.Sscan(v, &runs)
		runs = min(max(runs, 1), 100)
	}
	dsn := pgtest.Schema(t)
	const ttl, period, grace = 3 * time.Second, time.Second, time.Second
	file := writeConfig(t, ttl, runs, period, grace)
	conn := connect(t, dsn)
	live := map[string]*proc{}
	for range 2 {
		p := startReplica(t, bin, file, dsn)
		live[p.addr] = p
	}
	var late []time.Duration
	for i := range runs {
		name := fmt.Sprintf("job-%d", i)
		var owner *proc
		poll(t, name+" owned by a live replica", 30*time.Second, func() bool {
			owner = live[ownerAddr(t, conn, name)]
			return owner != nil
		})
		ping(t, owner.addr, name)
		time.Sleep(period + grace - time.Second) // the deadline is a second away
		owner.cmd.Process.Kill()
		owner.cmd.Wait()
		delete(live, owner.addr)
		var down int64
		poll(t, name+" announced down", 30*time.Second, func() bool {
			var fl []string
			fl, down = flips(t, conn, name)
			return slices.Contains(fl, "down")
		})
		var pinged int64
		if err := conn.QueryRow(context.Background(), `SELECT max(p.time) FROM pings p JOIN checks c ON c.id = p.check_id
			WHERE c.def::jsonb->>'name' = $1`, name).Scan(&pinged); err != nil {
			t.Fatal(err)
		}
		deadline := time.Unix(0, pinged).Add(period + grace)
		late = append(late, time.Unix(0, down).Sub(deadline))
		if fl, _ := flips(t, conn, name); !slices.Equal(fl, []string{"up", "down"}) {
			t.Errorf("%s: flips %v, want [up down]", name, fl)
		}
		p := startReplica(t, bin, file, dsn) // back to two replicas
		live[p.addr] = p
	}
	slices.Sort(late)
	q := func(f float64) time.Duration { return late[min(int(f*float64(len(late))), len(late)-1)] }
	t.Logf("takeover after kill -9, lease TTL %v, %d runs: down flip after the deadline p50 %v, p99 %v, max %v (bound: TTL + 1s = %v)",
		ttl, len(late), q(0.5).Round(time.Millisecond), q(0.99).Round(time.Millisecond), late[len(late)-1].Round(time.Millisecond), ttl+time.Second)
}

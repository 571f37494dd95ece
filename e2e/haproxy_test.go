//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The HAProxy settings of the run, the ones docs/health.md recommends for a
// Vitals-based service (shortened for the test: inter 300 ms, not 2 s).
const (
	hapInter      = 300 * time.Millisecond
	hapFall       = 2
	hapRise       = 2
	hapCheckTO    = time.Second            // timeout check
	svcCheckEvery = 200 * time.Millisecond // the service's own check interval (-check-interval)
	svcDrain      = 2 * time.Second        // > svcCheckEvery + hapInter*hapFall
	loadWorkers   = 4
	// replaceDelay is how long a restarted instance takes to listen again
	// (the replacement's start: image pull, process start), longer than
	// HAProxy's retries (3, one second apart) can hide.
	replaceDelay = 4 * time.Second
)

// TestHAProxyTrafficShaping puts Debian's HAProxy (active checks on /readyz)
// in front of three examples/accountservice processes and measures, under a
// bounded client load, what the load balancer does when one instance's
// database goes away, during rolling restarts with and without the drain of
// Monitor.Serve, and when every instance is unready at once. It writes
// docs/fidelity-haproxy.md from the measurements.
func TestHAProxyTrafficShaping(t *testing.T) {
	hap, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("VITALS_INTEGRATION") == "1" {
			t.Fatal("haproxy is not installed (scripts/services.sh install puts it in)")
		}
		t.Skip("haproxy is not installed (apt-get install haproxy, or scripts/services.sh install)")
	}
	bin := buildAccountService(t)
	dir := t.TempDir()

	var insts [3]*instance
	for i := range insts {
		insts[i] = &instance{bin: bin, addr: freeAddr(t), data: filepath.Join(dir, fmt.Sprintf("data%d", i)), log: filepath.Join(dir, fmt.Sprintf("svc%d.log", i))}
		insts[i].start(t, svcDrain)
	}
	t.Cleanup(func() {
		for _, in := range insts {
			in.kill()
		}
	})
	for _, in := range insts {
		in.waitReady(t)
	}
	lb := startHAProxy(t, hap, dir, insts[:])
	lb.waitAll(t, "UP", 10*time.Second)

	rep := &report{}

	// (1) Database down in one instance.
	{
		l := startLoad(lb.front)
		time.Sleep(time.Second)
		inject := time.Now()
		insts[0].post(t, "/chaos/store/offline")
		down := lb.waitState(t, "s0", "DOWN", 10*time.Second)
		time.Sleep(2 * time.Second)
		res := l.stop()
		// The bound: interval × threshold + timeout, the service's
		// check interval before /readyz changes included.
		bound := svcCheckEvery + time.Duration(hapFall)*hapInter + hapCheckTO
		before, after := res.errorsSplit(inject.Add(bound))
		afterDown := res.errorsAfter(down)
		rep.add("database down in 1 of 3", res, fmt.Sprintf("DOWN after %v (bound: check interval %v + inter %v × fall %d + timeout check %v = %v); errors before the bound %d, after it %d, after DOWN %d",
			down.Sub(inject).Round(10*time.Millisecond), svcCheckEvery, hapInter, hapFall, hapCheckTO, bound, before, after, afterDown))
		if afterDown != 0 {
			t.Errorf("database down: %d client errors after HAProxy marked the instance DOWN", afterDown)
		}
		if after != 0 {
			t.Errorf("database down: %d client errors after the bound %v (DOWN took %v)", after, bound, down.Sub(inject))
		}
		insts[0].post(t, "/chaos/store/online")
		lb.waitAll(t, "UP", 10*time.Second)
	}

	// (2) Rolling restarts: with the drain; without it; without it and
	// without HAProxy's retries (a load balancer that does not retry a
	// refused connection on another server).
	for _, run := range []struct {
		name  string
		drain time.Duration
		front string
	}{
		{fmt.Sprintf("rolling restart, -drain %v", svcDrain), svcDrain, lb.front},
		{"rolling restart, no drain (-drain -1s)", -1, lb.front},
		{"rolling restart, no drain, HAProxy retries 0", -1, lb.frontNoRetry},
		{fmt.Sprintf("rolling restart, -drain %v, HAProxy retries 0", svcDrain), svcDrain, lb.frontNoRetry},
	} {
		// The drain that counts is the one of the process stopped: give
		// every instance this run's drain first, outside the measure.
		for i, in := range insts {
			if in.drain != run.drain {
				in.stop(t)
				in.start(t, run.drain)
				lb.waitState(t, fmt.Sprintf("s%d", i), "UP", 20*time.Second)
			}
		}
		l := startLoad(run.front)
		time.Sleep(time.Second)
		t0 := time.Now()
		for i, in := range insts {
			in.stop(t)
			time.Sleep(replaceDelay)
			in.start(t, run.drain)
			lb.waitState(t, fmt.Sprintf("s%d", i), "UP", 20*time.Second)
		}
		took := time.Since(t0)
		time.Sleep(time.Second)
		res := l.stop()
		rep.add(run.name, res, fmt.Sprintf("3 instances restarted in turn (each %v before it listens again) in %v; max latency %v",
			replaceDelay, took.Round(100*time.Millisecond), res.quantile(1).Round(time.Millisecond)))
		t.Logf("%s: failures %v", run.name, res.kinds())
		if run.drain > 0 && run.front == lb.front && res.failed() != 0 {
			t.Errorf("%s: %d failed requests, want 0", run.name, res.failed())
		}
		if run.drain < 0 && res.failed() == 0 && run.front == lb.frontNoRetry {
			t.Errorf("%s: no failed request without the drain or the retries", run.name)
		}
	}

	// (3) Every instance unready at once; the plain backend against the
	// fail-open one (a fallback backend checked on /livez, used when the
	// readiness backend has no server left: nbsrv(ready) eq 0).
	{
		la, lb2 := startLoad(lb.front), startLoad(lb.frontOpen)
		for _, in := range insts {
			in.post(t, "/chaos/store/offline")
		}
		var allDown time.Time
		for i := range insts {
			allDown = lb.waitState(t, fmt.Sprintf("s%d", i), "DOWN", 10*time.Second)
		}
		time.Sleep(2 * time.Second)
		ra, ro := la.stop().since(allDown), lb2.stop().since(allDown)
		rep.add("all 3 unready, readiness backend only", ra, fmt.Sprintf("after all DOWN: %d answered by HAProxy (503, no server), %d reached an instance", ra.byLB, ra.total()-ra.byLB))
		rep.add("all 3 unready, with the /livez fallback backend", ro, fmt.Sprintf("after all DOWN: %d answered by HAProxy, %d reached an instance", ro.byLB, ro.total()-ro.byLB))
		if ro.total()-ro.byLB == 0 {
			t.Errorf("fail-open: no request reached an instance while every instance was unready but alive")
		}
		for _, in := range insts {
			in.post(t, "/chaos/store/online")
		}
	}
	rep.write(t, lb.version)
}

// ---------------------------------------------------------------- processes

func buildAccountService(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "accountservice")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/accountservice")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/accountservice: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type instance struct {
	bin, addr, data, log string
	drain                time.Duration // of the running process
	cmd                  *exec.Cmd
	done                 chan struct{}
}

func (in *instance) start(t *testing.T, drain time.Duration) {
	t.Helper()
	f, err := os.OpenFile(in.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	in.drain = drain
	in.cmd = exec.Command(in.bin, "-addr", in.addr, "-data", in.data, "-chaos",
		"-drain", drain.String(), "-check-interval", svcCheckEvery.String())
	in.cmd.Stdout, in.cmd.Stderr = f, f
	if err := in.cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	in.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); f.Close(); close(done) }(in.cmd, in.done)
}

func (in *instance) stop(t *testing.T) {
	t.Helper()
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30 s of SIGTERM", in.addr)
	}
}

func (in *instance) kill() {
	if in.cmd != nil && in.cmd.Process != nil {
		in.cmd.Process.Kill()
		<-in.done
	}
}

func (in *instance) waitReady(t *testing.T) {
	t.Helper()
	for range 200 {
		if r, err := http.Get("http://" + in.addr + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(in.log)
	t.Fatalf("%s never ready:\n%s", in.addr, b)
}

func (in *instance) post(t *testing.T, path string) {
	t.Helper()
	r, err := http.Post("http://"+in.addr+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("POST %s: %s", path, r.Status)
	}
}

// ---------------------------------------------------------------- haproxy

type haproxy struct {
	front, frontOpen, frontNoRetry, sock, version string
}

const haproxyConfig = `global
	stats socket {{SOCK}} mode 600 level admin
	pidfile {{DIR}}/haproxy.pid

defaults
	mode http
	timeout connect 1s
	timeout client 10s
	timeout server 10s
	timeout check {{CHECK_TO}}
	retries 3

# Readiness only: an instance whose /readyz fails gets no traffic.
frontend plain
	bind {{FRONT}}
	default_backend ready

# The recommended one: readiness, and when no instance is ready, fail open to
# every instance that is alive rather than answer 503 to everyone.
frontend open
	bind {{FRONT_OPEN}}
	use_backend live if { nbsrv(ready) eq 0 }
	default_backend ready

# Readiness, and no retry of a refused connection.
frontend noretry
	bind {{FRONT_NORETRY}}
	default_backend ready-noretry

backend ready
	option httpchk GET /readyz
	http-check expect status 200
	default-server inter {{INTER}} fall {{FALL}} rise {{RISE}}
{{SERVERS}}
backend live
	option httpchk GET /livez
	http-check expect status 200
	default-server inter {{INTER}} fall {{FALL}} rise {{RISE}}
{{SERVERS}}
backend ready-noretry
	option httpchk GET /readyz
	http-check expect status 200
	retries 0
	default-server inter {{INTER}} fall {{FALL}} rise {{RISE}}
{{SERVERS}}`

func startHAProxy(t *testing.T, bin, dir string, insts []*instance) *haproxy {
	t.Helper()
	h := &haproxy{front: freeAddr(t), frontOpen: freeAddr(t), frontNoRetry: freeAddr(t), sock: filepath.Join(dir, "haproxy.sock")}
	var servers strings.Builder
	for i, in := range insts {
		fmt.Fprintf(&servers, "\tserver s%d %s check\n", i, in.addr)
	}
	cfg := strings.NewReplacer("{{SOCK}}", h.sock, "{{DIR}}", dir, "{{FRONT}}", h.front, "{{FRONT_OPEN}}", h.frontOpen, "{{FRONT_NORETRY}}", h.frontNoRetry,
		"{{INTER}}", fmt.Sprint(hapInter.Milliseconds()), "{{FALL}}", fmt.Sprint(hapFall), "{{RISE}}", fmt.Sprint(hapRise), "{{CHECK_TO}}", fmt.Sprintf("%dms", hapCheckTO.Milliseconds()),
		"{{SERVERS}}", servers.String()).Replace(haproxyConfig)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-v").Output(); err == nil {
		h.version = strings.SplitN(string(out), "\n", 2)[0]
	}
	// -db: foreground, no daemon; the test owns the process.
	cmd := exec.Command(bin, "-db", "-f", path)
	logf, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	for range 100 {
		if _, err := os.Stat(h.sock); err == nil {
			return h
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "haproxy.log"))
	t.Fatalf("haproxy did not start:\n%s", b)
	return nil
}

// states reads `show stat` on the stats socket: server name → status of
// the readiness backend.
func (h *haproxy) states() (map[string]string, error) {
	c, err := net.DialTimeout("unix", h.sock, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "show stat\n"); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(bufio.NewReader(c))
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, rec := range recs[1:] {
		if len(rec) > 17 && rec[0] == "ready" {
			out[rec[1]] = strings.Fields(rec[17] + " ")[0]
		}
	}
	return out, nil
}

// waitState polls the stats socket every 20 ms until server s of the
// readiness backend has state want, and returns when it was first seen.
func (h *haproxy) waitState(t *testing.T, s, want string, limit time.Duration) time.Time {
	t.Helper()
	var last map[string]string
	for range int(limit / (20 * time.Millisecond)) {
		st, err := h.states()
		if err == nil && st[s] == want {
			return time.Now()
		}
		last = st
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("HAProxy: %s not %s within %v (states %v)", s, want, limit, last)
	return time.Time{}
}

func (h *haproxy) waitAll(t *testing.T, want string, limit time.Duration) {
	t.Helper()
	for _, s := range []string{"s0", "s1", "s2"} {
		h.waitState(t, s, want, limit)
	}
}

// ---------------------------------------------------------------- the load

type outcome struct {
	start time.Time
	dur   time.Duration
	ok    bool
	what  string // the status or the error, when not ok
	byLB  bool   // an answer of HAProxy itself (503 "No server is available")
}

type load struct {
	cancel    context.CancelFunc
	closeIdle func()
	wg        sync.WaitGroup
	mu        sync.Mutex
	out       []outcome
}

// startLoad runs loadWorkers clients, each sending GET /accounts in a loop
// through addr until stop (and at most 5 minutes).
func startLoad(addr string) *load {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: loadWorkers}}
	l := &load{cancel: cancel}
	l.closeIdle = client.CloseIdleConnections
	for range loadWorkers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				o := outcome{start: time.Now()}
				req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/accounts", nil)
				r, err := client.Do(req)
				if err == nil {
					b, _ := io.ReadAll(r.Body)
					r.Body.Close()
					o.ok = r.StatusCode == 200
					o.what = r.Status
					o.byLB = r.StatusCode == 503 && strings.Contains(string(b), "No server is available")
				}
				if err != nil {
					o.what = err.Error()
				}
				o.dur = time.Since(o.start)
				if ctx.Err() != nil {
					return
				}
				l.mu.Lock()
				l.out = append(l.out, o)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

type result struct {
	out  []outcome
	byLB int
}

func (l *load) stop() *result {
	l.cancel()
	l.wg.Wait()
	l.closeIdle()
	r := &result{out: l.out}
	for _, o := range l.out {
		if o.byLB {
			r.byLB++
		}
	}
	return r
}

// since keeps the outcomes of the requests sent at or after t.
func (r *result) since(t time.Time) *result {
	s := &result{}
	for _, o := range r.out {
		if !o.start.Before(t) {
			s.out = append(s.out, o)
			if o.byLB {
				s.byLB++
			}
		}
	}
	return s
}

// kinds counts the failures by status or error.
func (r *result) kinds() map[string]int {
	k := map[string]int{}
	for _, o := range r.out {
		switch {
		case o.byLB:
			k[o.what+" from HAProxy"]++
		case !o.ok:
			k[o.what]++
		}
	}
	return k
}

func (r *result) total() int { return len(r.out) }

func (r *result) failed() int {
	n := 0
	for _, o := range r.out {
		if !o.ok {
			n++
		}
	}
	return n
}

func (r *result) errorsSplit(at time.Time) (before, after int) {
	for _, o := range r.out {
		if !o.ok {
			if o.start.Before(at) {
				before++
			} else {
				after++
			}
		}
	}
	return
}

func (r *result) errorsAfter(at time.Time) int {
	_, n := r.errorsSplit(at)
	return n
}

func (r *result) quantile(q float64) time.Duration {
	if len(r.out) == 0 {
		return 0
	}
	d := make([]time.Duration, len(r.out))
	for i, o := range r.out {
		d[i] = o.dur
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))] // q = 1: the maximum
}

// ---------------------------------------------------------------- the report

type report struct{ rows []string }

func (rep *report) add(name string, r *result, note string) {
	rep.rows = append(rep.rows, fmt.Sprintf("| %s | %d | %d | %v | %v | %s |", name, r.total(), r.failed(),
		r.quantile(0.50).Round(10*time.Microsecond), r.quantile(0.99).Round(10*time.Microsecond), note))
}

func (rep *report) write(t *testing.T, version string) {
	t.Helper()
	host, _ := os.Hostname()
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- Generated by TestHAProxyTrafficShaping (e2e/haproxy_test.go); do not edit. -->\n")
	fmt.Fprintf(&b, "# Traffic shaping through HAProxy: measured\n\n")
	fmt.Fprintf(&b, "Generated by `go test -tags e2e -count=1 -run TestHAProxyTrafficShaping ./e2e/` on %s (%s/%s, %d CPUs), %s, with %s.\n\n",
		host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), version)
	fmt.Fprintf(&b, "Three `examples/accountservice -chaos` processes (check interval %v, drain %v) behind HAProxy "+
		"(`option httpchk GET /readyz`, `http-check expect status 200`, `inter %v fall %d rise %d`); %d client workers send `GET /accounts` through HAProxy throughout each scenario. "+
		"See docs/health.md, \"Behind HAProxy\".\n\n", svcCheckEvery, svcDrain, hapInter, hapFall, hapRise, loadWorkers)
	b.WriteString("| scenario | requests | failed | p50 | p99 | measured |\n|---|---|---|---|---|---|\n")
	for _, r := range rep.rows {
		b.WriteString(r + "\n")
	}
	// CI keeps its table as an artifact (VITALS_HAPROXY_OUT) rather than
	// rewriting the committed one.
	path := filepath.Join(repoRoot(t), "docs", "fidelity-haproxy.md")
	if p := os.Getenv("VITALS_HAPROXY_OUT"); p != "" {
		path = p
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s:\n%s", path, b.String())
}

//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/testenv"
)

// TestFidelity is issue 13's proof that the probes tell the truth: each
// failure is injected for real into the account service running in the
// Docker engine (its TEST-ONLY fault switches, FAULTS=1, on the admin port
// 8087), and the test measures the time from the injection to the probe's
// change (polled every 50 ms), to Docker's health status change (the image's
// HEALTHCHECK, 2s × 3 + 2s), for the rows liveness covers to a real `vitals
// watchdog` restarting the container through its Docker action, then the
// recovery once the fault is removed. The heavy-load and slow-database rows
// run for VITALS_FIDELITY_SOAK (default 2m) and count false flips. It
// writes docs/fidelity.md (or VITALS_FIDELITY_OUT) from its measurements.
// Run with `make fidelity` (VITALS_FIDELITY=1).
func TestFidelity(t *testing.T) {
	if os.Getenv("VITALS_FIDELITY") == "" {
		t.Skip("VITALS_FIDELITY=1 runs the fidelity table (make fidelity)")
	}
	soak := 2 * time.Minute
	if s := os.Getenv("VITALS_FIDELITY_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 5*time.Second || d > 30*time.Minute {
			t.Fatalf("VITALS_FIDELITY_SOAK=%q: want a duration from 5s to 30m", s)
		}
		soak = d
	}
	requireDocker(t)
	buildImage(t)
	load := loadAverage()

	rows := fidelityRows(soak)
	for i := range rows {
		r := &rows[i]
		t.Run(r.failure, func(t *testing.T) {
			switch {
			case r.custom != nil:
				r.custom(t, r)
			default:
				measureRow(t, r)
			}
		})
	}
	out := filepath.Join(repoRoot(t), "docs", "fidelity.md")
	if p := os.Getenv("VITALS_FIDELITY_OUT"); p != "" {
		out = p
	}
	if err := os.WriteFile(out, []byte(renderFidelity(rows, soak, load, loadAverage())), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}

// fidelityRow is one failure of the table and what was measured of it.
type fidelityRow struct {
	failure, how, expected string
	// inject and remove are the fault switches (admin listener).
	inject, remove string
	// flips is the probe that must answer 503; stays the one that must
	// keep answering 200 ("" for none).
	flips, stays string
	// bound is the service's detection bound: interval × threshold +
	// timeout (+ the stall period, the pool's window, the passive window).
	bound time.Duration
	// runArgs are extra `docker run` options (before the image), cmdArgs
	// the service's own flags (after it).
	runArgs, cmdArgs []string
	// traffic, when set, is an API path the row keeps requesting (about
	// 50 per second) from the injection to the end of its recovery: the
	// passive check judges real traffic.
	traffic string
	// watchdog: measure a real watchdog's restart (rows liveness covers).
	watchdog bool
	// custom measures the row its own way instead of measureRow.
	custom func(t *testing.T, r *fidelityRow)

	measured                 bool
	probe, docker            time.Duration // injection → probe 503, → Docker unhealthy
	probeRecover, dockerBack time.Duration // removal → probe 200, → Docker healthy
	restart                  time.Duration // injection → the watchdog's restart (new StartedAt)
	restartBound             time.Duration
	falseFlips               int    // the probe that must stay 200 seen otherwise
	down                     string // the checks DOWN in /readyz?verbose after the flip
	note                     string // said next to the bound
	// text overrides a column of a custom row.
	probeText, dockerText, restartText, recoveryText, flipsText string
}

// The service's checks (main.go): every check runs each second with a 2s
// timeout and a failure threshold of 1; the worker is stalled after 3s
// without a beat; the pool-saturation check's window is 2s; the passive
// check's window 5s with 5s of ejection.
const (
	svcCheckTimeout = 2 * time.Second
	poolWindow      = 2 * time.Second
	passiveWindow   = 5 * time.Second
	// The watchdog: interval 1s, timeout 1s, 2 failures; then docker
	// restart, whose SIGTERM waits for the service's 5s drain.
	wdInterval, wdTimeout, wdFailures, fidDrain = time.Second, time.Second, 2, 5 * time.Second
	// engineRestart is the allowance for the engine to stop the exited
	// process and start the container again.
	engineRestart = time.Second
	// fidToken may see the checks' details (HEALTH_TOKEN).
	fidToken = "fidelity-token-0123456789abcdef"
	// heavyLimit and heavyWorkers: the in-flight limit of the heavy-load
	// row, and the concurrent clients of its generator.
	// The limit is low so that a generator on the same 2 cores keeps the
	// count above it: requests are fast.
	heavyLimit, heavyWorkers = 1, 48
	heavyGrace               = 500 * time.Millisecond
	slowLatency              = 500 * time.Millisecond
)

var svcBound = checkInterval*1 + svcCheckTimeout

func fidelityRows(soak time.Duration) []fidelityRow {
	return []fidelityRow{
		{failure: "stalled worker / deadlock", how: "the worker loop blocks on a lock",
			expected: "/livez 503, /readyz 503", inject: "/chaos/worker/stall", remove: "/chaos/worker/resume",
			flips: "/livez", bound: stallAfter + svcBound, watchdog: true},
		{failure: "database down", how: "the store's pool closed",
			expected: "/readyz 503, /livez 200", inject: "/chaos/store/offline", remove: "/chaos/store/online",
			flips: "/readyz", stays: "/livez", bound: svcBound},
		{failure: "memory leak", how: "heap grown 20 MiB/s up to 236 MiB in a container started with --memory=256m",
			expected: "the memory check (90% of the cgroup limit) fails before the OOM kill: /livez 503",
			inject:   "/chaos/memory/leak?mib=236", remove: "/chaos/leaks/remove", flips: "/livez", watchdog: true,
			// The leak needs about 11 s to reach 90% of 256 MiB from the
			// service's own ~15 MiB; then one check.
			bound: 12*time.Second + svcBound, runArgs: []string{"--memory=256m", "--memory-swap=256m"},
			note: "the bound includes the leak's growth to 90% of the limit"},
		{failure: "goroutine leak", how: "20,000 goroutines that never end (limit 10,000)", expected: "the goroutine check fails: /livez 503",
			inject: "/chaos/goroutines/leak?n=20000", remove: "/chaos/leaks/remove", flips: "/livez", bound: svcBound, watchdog: true},
		{failure: "connection pool exhausted", how: "every connection of the store's pool (4) held", expected: "/readyz 503 (pool saturation), /livez 200",
			inject: "/chaos/pool/exhaust", remove: "/chaos/pool/release", flips: "/readyz", stays: "/livez",
			bound: checkInterval + poolWindow + svcCheckTimeout, note: "interval + the pool check's 2s window + timeout"},
		{failure: "disk full", how: "the data directory a 16 MiB tmpfs, filled until ENOSPC", expected: "/readyz 503, /livez 200",
			inject: "/chaos/disk/fill", remove: "/chaos/disk/free", flips: "/readyz", stays: "/livez", bound: svcBound,
			runArgs: []string{"--tmpfs", "/data:size=16m"}},
		{failure: "bad configuration at start", how: "`-memory-fraction=1.5` (must be in (0, 1])", expected: "never healthy; a clear log line",
			cmdArgs: []string{"-memory-fraction=1.5"}, custom: measureBadConfig},
		{failure: "a bug: handlers answer 500", how: "GET /accounts/{id} answers 500, under ~50 requests/s of it",
			expected: "passive check ejects: /readyz 503 within its window", inject: "/chaos/route/fail?route=get", remove: "/chaos/route/fix?route=get",
			flips: "/readyz", stays: "/livez", traffic: "/accounts/1", bound: passiveWindow + svcBound,
			note: "the passive check's 5s window + interval + timeout; recovery includes the 5s ejection"},
		{failure: "broken route behind a healthy dependency", how: "GET /accounts answers 500 (no traffic); the store answers its ping",
			expected: "the probing check catches it: /readyz 503 while the store's check stays UP", inject: "/chaos/route/fail?route=list", remove: "/chaos/route/fix?route=list",
			flips: "/readyz", stays: "/livez", bound: svcBound},
		{failure: "heavy load", how: fmt.Sprintf("%d concurrent clients on GET /accounts for %v, in-flight limit %d (grace %v)", heavyWorkers, soak, heavyLimit, heavyGrace),
			expected: "/readyz 503 (shedding), /livez 200, no restart", flips: "/readyz", stays: "/livez",
			// Whichever of the in-flight check (grace + interval +
			// timeout) and the pool check (interval + its 2s window +
			// timeout) sees the load first.
			bound:   max(heavyGrace, poolWindow) + svcBound,
			note:    fmt.Sprintf("the first of the in-flight check: grace + interval + timeout = %v, and the pool check: interval + 2s window + timeout = %v", heavyGrace+svcBound, poolWindow+svcBound),
			cmdArgs: []string{fmt.Sprintf("-max-in-flight=%d", heavyLimit), "-in-flight-grace=" + heavyGrace.String()},
			custom:  func(t *testing.T, r *fidelityRow) { measureHeavyLoad(t, r, soak) }},
		{failure: "slow database, under its timeout", how: fmt.Sprintf("every database round trip delayed %v (check timeout %v) for %v", slowLatency, svcCheckTimeout, soak),
			expected: "nothing flips; the store's Baseline reports DEGRADED (200)",
			custom:   func(t *testing.T, r *fidelityRow) { measureSlowDB(t, r, soak) }},
	}
}

// svc is one account service container of the table.
type svc struct {
	name, base, admin string
}

// startSvc runs the service with its fault switches and a health token,
// its API on a fixed host port (a watchdog's restart keeps it), and waits
// until Docker says healthy unless wait is false.
func startSvc(t *testing.T, r *fidelityRow, wait bool) *svc {
	t.Helper()
	s := &svc{name: fmt.Sprintf("vitals-fid-%d", time.Now().UnixNano())}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "30", s.name).CombinedOutput()
			t.Logf("%s logs:\n%s", s.name, out)
		}
		exec.Command("docker", "rm", "-f", s.name).Run()
	})
	// An ephemeral port the kernel just handed out, not the suite's fixed
	// range that other tests share; another process may still take it
	// before the engine binds it, hence the retries.
	for attempt := 1; ; attempt++ {
		port := testenv.FreePort(t)
		args := append([]string{"run", "-d", "--name", s.name, "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "-p", "127.0.0.1::8087",
			"-e", "FAULTS=1", "-e", "HEALTH_TOKEN=" + fidToken}, r.runArgs...)
		out, err := exec.Command("docker", append(append(args, image), r.cmdArgs...)...).CombinedOutput()
		if err == nil {
			s.base = fmt.Sprintf("http://127.0.0.1:%d", port)
			break
		}
		exec.Command("docker", "rm", "-f", s.name).Run()
		if attempt == 3 || !strings.Contains(string(out), "address already in use") {
			t.Fatalf("docker run: %v: %s", err, out)
		}
	}
	if wait {
		s.admin = "http://" + strings.TrimSpace(docker(t, "port", s.name, "8087/tcp"))
		waitHealth(t, s.name, "healthy", time.Minute)
	}
	return s
}

func measureRow(t *testing.T, r *fidelityRow) {
	s := startSvc(t, r, true)
	// Docker's unhealthy comes at most hcInterval × retries + hcTimeout
	// after the probe flips; 30 s of slack for a loaded CI machine.
	within := r.bound + hcInterval*hcRetries + hcTimeout + 30*time.Second
	var served, failed atomic.Int64
	if r.traffic != "" {
		createAccount(t, s.base, "fidelity")
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { paced(ctx, s.base+r.traffic, 20*time.Millisecond, 10000, &served, &failed) })
		defer func() { cancel(); wg.Wait() }()
	}
	post(t, s.admin+r.inject)
	r.probe, r.docker, r.falseFlips = watchFlip(t, s.name, s.base+r.flips, 503, "unhealthy", s.base, r.stays, within)
	r.down = downChecks(s.base)
	post(t, s.admin+r.remove)
	r.probeRecover, r.dockerBack, _ = watchFlip(t, s.name, s.base+r.flips, 200, "healthy", "", "", within)
	r.measured = true
	if oom := strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.OOMKilled}} {{.RestartCount}}", s.name)); oom != "false 0" {
		t.Errorf("%s: container OOM-killed or restarted (OOMKilled, restarts: %s)", r.failure, oom)
		r.note += "; OOMKilled/restarts: " + oom
	}
	t.Logf("%s: %s 503 after %v (bound %v; %s), Docker unhealthy after %v; recovery: %s 200 after %v, Docker healthy after %v; %s flipped %d times; traffic %d served, %d failed",
		r.failure, r.flips, r.probe, r.bound, r.down, r.docker, r.flips, r.probeRecover, r.dockerBack, r.stays, r.falseFlips, served.Load(), failed.Load())
	if r.probe > r.bound+time.Second {
		t.Errorf("%s: probe flipped after %v, over its bound %v", r.failure, r.probe, r.bound)
	}
	if r.falseFlips != 0 {
		t.Errorf("%s: %s left 200 %d times", r.failure, r.stays, r.falseFlips)
	}
	if r.watchdog {
		measureWatchdog(t, r, s)
	}
}

// measureWatchdog runs a real `vitals watchdog` on the container's /livez
// with its Docker action, injects the fault again and measures the time to
// the restart (the container's new StartedAt); the restart clears the
// fault and the watchdog sees the check up again.
func measureWatchdog(t *testing.T, r *fidelityRow, s *svc) {
	vitals := buildVitals(t)
	const checkName = "accountservice-livez"
	w := startWatchdog(t, vitals, restartConfig(s.name, checkName, s.base, wdInterval, wdTimeout, wdFailures))
	key := w.uniqueKey(t, checkName)
	w.waitStatus(t, key, "up", time.Minute)
	before := containerState(t, s.name)
	injected := time.Now()
	post(t, s.admin+r.inject)
	r.restartBound = r.bound + wdInterval*wdFailures + wdTimeout + fidDrain + engineRestart
	after := waitRestarted(t, s.name, before, r.restartBound+time.Minute)
	r.restart = after.StartedAt.Sub(injected)
	w.waitStatus(t, key, "up", time.Minute)
	t.Logf("%s: watchdog restart %v after the injection (bound %v)", r.failure, r.restart, r.restartBound)
	if r.restart > r.restartBound+2*time.Second {
		t.Errorf("%s: watchdog restart after %v, over its bound %v", r.failure, r.restart, r.restartBound)
	}
}

// measureBadConfig starts the service with an invalid setting and watches
// it for the Docker bound: the process must exit, never be healthy, and
// log one clear line.
func measureBadConfig(t *testing.T, r *fidelityRow) {
	s := startSvc(t, r, false)
	start := time.Now()
	watch := hcInterval*hcRetries + hcTimeout + 2*time.Second
	var exited time.Duration = -1
	var exitCode, health string
	everHealthy := false
	for time.Since(start) < watch {
		out := strings.Fields(docker(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", s.name))
		if len(out) == 3 {
			if out[0] == "exited" && exited < 0 {
				exited, exitCode = time.Since(start), out[1]
			}
			health = out[2]
			everHealthy = everHealthy || health == "healthy"
		}
		if st, _ := status(s.base + "/startupz"); st == 200 {
			everHealthy = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	logs, _ := exec.Command("docker", "logs", s.name).CombinedOutput()
	line := ""
	for l := range strings.Lines(string(logs)) {
		if strings.Contains(l, "invalid configuration") {
			line = strings.TrimSpace(l)
		}
	}
	r.measured = true
	r.probeText = fmt.Sprintf("never healthy: /startupz never answered; the process exited with code %s after %v", exitCode, exited.Round(10*time.Millisecond))
	r.dockerText = fmt.Sprintf("never healthy (health %q, container exited, watched %v)", health, watch)
	r.restartText, r.recoveryText, r.flipsText = "n/a (never started)", "n/a", "0"
	r.note = line
	t.Logf("bad configuration: exited %v code %s, health %q, ever healthy %v; log: %s", exited, exitCode, health, everHealthy, line)
	if exited < 0 || exitCode != "2" || everHealthy || line == "" || !strings.Contains(line, "-memory-fraction 1.5") {
		t.Errorf("bad configuration: exited after %v with code %q (want 2), ever healthy %v, log line %q (want the setting named)", exited, exitCode, everHealthy, line)
	}
}

// measureHeavyLoad runs a bounded load past the in-flight limit for soak,
// with a real watchdog on /livez: readiness must shed (503), liveness stay
// 200 throughout, and nothing restart the container.
func measureHeavyLoad(t *testing.T, r *fidelityRow, soak time.Duration) {
	s := startSvc(t, r, true)
	for i := range 100 { // a list worth serving
		createAccount(t, s.base, fmt.Sprintf("load-%d", i))
	}
	vitals := buildVitals(t)
	w := startWatchdog(t, vitals, fmt.Sprintf(`
store: {sqlite: {path: vitals.db}}
api_keys: [{name: e2e, key: %s}]
notifiers:
  restart-accountservice:
    docker: {container: %s, stop_timeout: 10s}
checks:
  - name: accountservice-livez
    http: {url: "%s/livez"}
    interval: %v
    timeout: %v
    thresholds: {failures: %d}
    actions: {down: [restart-accountservice]}
`, watchdogKey, s.name, s.base, wdInterval, wdTimeout, wdFailures))
	key := w.uniqueKey(t, "accountservice-livez")
	w.waitStatus(t, key, "up", time.Minute)
	before := containerState(t, s.name)

	// The load goes to the container's address on Docker's own network,
	// not through the engine's userland proxy on the published port: the
	// proxy, on the same 2 cores, would be the bottleneck, not the service.
	target := s.base
	if ip := strings.TrimSpace(docker(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", s.name)); ip != "" {
		if st, _ := status("http://" + ip + ":8080/livez"); st == 200 {
			target = "http://" + ip + ":8080"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), soak)
	defer cancel()
	var served, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range heavyWorkers {
		wg.Go(func() { paced(ctx, target+"/accounts", 0, 1_000_000, &served, &failed) })
	}
	// The soak: /readyz must go 503 (shedding), /livez stay 200, the
	// watchdog see no down and restart nothing.
	probe, dock := time.Duration(-1), time.Duration(-1)
	livezBad, polls, readyBad, first := 0, 0, 0, ""
	seen := map[string]int{} // the checks DOWN, sampled in /readyz 503s
	var pw sync.WaitGroup
	pw.Go(func() {
		for ctx.Err() == nil {
			out, err := exec.Command("docker", "inspect", "-f", "{{.State.Health.Status}}", s.name).Output()
			if err == nil && strings.TrimSpace(string(out)) == "unhealthy" && dock < 0 {
				dock = time.Since(start)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	for ctx.Err() == nil {
		polls++
		if st, _ := status(s.base + "/readyz"); st == 503 {
			if probe < 0 {
				probe = time.Since(start)
				first = downChecks(s.base)
			}
			if readyBad%5 == 0 {
				for name, st := range readyChecks(s.base) {
					if st == "DOWN" {
						seen[name]++
					}
				}
			}
			readyBad++
		}
		if st, _ := status(s.base + "/livez"); st != 200 {
			livezBad++
		}
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	pw.Wait()
	stopped := time.Now()
	within := r.bound + hcInterval*hcRetries + hcTimeout + 30*time.Second
	r.probeRecover, r.dockerBack, _ = watchFlip(t, s.name, s.base+"/readyz", 200, "healthy", "", "", within)
	_ = stopped
	after := containerState(t, s.name)
	var c checkJSON
	w.get(t, "/checks/"+key, &c)
	flips := 0
	for _, f := range w.flips(t, key) {
		if f.Timestamp.After(start) {
			flips++
		}
	}
	restarted := !after.StartedAt.Equal(before.StartedAt) || after.RestartCount != before.RestartCount
	var names []string
	for name, n := range seen {
		names = append(names, fmt.Sprintf("%s ×%d", name, n))
	}
	slices.Sort(names)
	r.down = fmt.Sprintf("first 503: %s; 503 in %d of %d polls; DOWN in sampled 503s: %s", first, readyBad, polls, strings.Join(names, ", "))
	r.measured, r.probe, r.docker, r.falseFlips = true, probe, dock, livezBad+flips
	r.restartText = fmt.Sprintf("none: the watchdog on /livez saw %d flips in %v, the container was not restarted", flips, soak)
	if restarted {
		r.restartText = "RESTARTED"
	}
	r.flipsText = fmt.Sprintf("%d of %d /livez polls + %d watchdog flips over %v (%d requests served, %d failed)", livezBad, polls, flips, soak, served.Load(), failed.Load())
	if dock < 0 {
		r.dockerText = "stayed healthy"
	}
	t.Logf("heavy load: /readyz 503 after %v (DOWN: %s), Docker unhealthy after %v; %s; recovery %v / %v; restarted %v",
		probe, r.down, dock, r.flipsText, r.probeRecover, r.dockerBack, restarted)
	if probe < 0 || probe > r.bound+time.Second {
		t.Errorf("heavy load: /readyz 503 after %v, bound %v (the load never exceeded the limit long enough?)", probe, r.bound)
	}
	if livezBad != 0 || flips != 0 || restarted {
		t.Errorf("heavy load: /livez left 200 %d times, watchdog flips %d, restarted %v: want none", livezBad, flips, restarted)
	}
}

// measureSlowDB injects database latency under the check's timeout for
// soak: no probe may leave 200, Docker must stay healthy, and the store's
// check (with a Baseline) must report DEGRADED.
func measureSlowDB(t *testing.T, r *fidelityRow, soak time.Duration) {
	s := startSvc(t, r, true)
	// The store's Baseline learns from its first 10 runs (1 per second).
	time.Sleep(12 * time.Second)
	if st := checkStatus(s.base, "store"); st != "UP" {
		t.Fatalf("store %q before the latency, want UP", st)
	}
	post(t, s.admin+fmt.Sprintf("/chaos/db/latency?ms=%d", slowLatency.Milliseconds()))
	start := time.Now()
	degraded := time.Duration(-1)
	bad, polls, dockBad := 0, 0, 0
	for time.Since(start) < soak {
		polls++
		for _, p := range []string{"/livez", "/readyz"} {
			if st, _ := status(s.base + p); st != 200 {
				bad++
			}
		}
		if polls%10 == 0 {
			if h := strings.TrimSpace(docker(t, "inspect", "-f", "{{.State.Health.Status}}", s.name)); h != "healthy" {
				dockBad++
			}
		}
		if degraded < 0 && polls%2 == 0 && checkStatus(s.base, "store") == "DEGRADED" {
			degraded = time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	post(t, s.admin+"/chaos/db/latency?ms=0")
	removed := time.Now()
	back := time.Duration(-1)
	for time.Since(removed) < time.Minute {
		if checkStatus(s.base, "store") == "UP" {
			back = time.Since(removed)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.measured, r.falseFlips = true, bad+dockBad
	// Baseline: 3 slow runs in a row, one per interval, each of which
	// may take up to the timeout.
	r.bound = 3*checkInterval + svcCheckTimeout
	r.probe = degraded
	r.probeText = fmt.Sprintf("nothing flipped; store DEGRADED (200) after %v", degraded.Round(10*time.Millisecond))
	r.dockerText = "stayed healthy"
	r.restartText = "n/a (nothing to restart)"
	r.recoveryText = fmt.Sprintf("store UP %v after the latency's removal", back.Round(10*time.Millisecond))
	r.flipsText = fmt.Sprintf("%d of %d /livez + /readyz polls, %d of %d Docker polls, over %v", bad, 2*polls, dockBad, polls/10, soak)
	r.note = "DEGRADED: 3 slow runs in a row (Baseline), one per interval, + timeout"
	t.Logf("slow database: DEGRADED after %v, back UP %v after removal; %s", degraded, back, r.flipsText)
	if degraded < 0 || degraded > r.bound+time.Second || bad != 0 || dockBad != 0 || back < 0 {
		t.Errorf("slow database: DEGRADED after %v, %d probe and %d Docker false flips, UP again after %v", degraded, bad, dockBad, back)
	}
}

// paced requests url until ctx ends or after max requests, sleeping pace
// between them, counting the answers: 2xx served, anything else failed.
func paced(ctx context.Context, url string, pace time.Duration, max int, served, failed *atomic.Int64) {
	// A transport of its own: one kept-alive connection per client, not
	// DefaultTransport's 2 idle connections per host shared by all.
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	for range max {
		if ctx.Err() != nil {
			return
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			failed.Add(1)
		default:
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				served.Add(1)
			} else {
				failed.Add(1)
			}
		}
		if pace > 0 {
			time.Sleep(pace)
		}
	}
}

// createAccount creates an account through the API.
func createAccount(t *testing.T, base, owner string) {
	t.Helper()
	resp, err := http.Post(base+"/accounts", "application/json", strings.NewReader(`{"owner":"`+owner+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /accounts: %s", resp.Status)
	}
}

var probeClient = &http.Client{Timeout: time.Second}

// status GETs url and returns its status code, 0 when it does not answer.
func status(url string) (int, []byte) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+fidToken)
	resp, err := probeClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b
}

// checks returns the status of every readiness check by name.
func readyChecks(base string) map[string]string {
	_, b := status(base + "/readyz?verbose")
	var body struct {
		Checks map[string]struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	json.Unmarshal(b, &body)
	out := map[string]string{}
	for name, c := range body.Checks {
		out[name] = c.Status
	}
	return out
}

func checkStatus(base, name string) string { return readyChecks(base)[name] }

// downChecks lists the readiness checks DOWN, and says whether the store's
// check is UP.
func downChecks(base string) string {
	var down []string
	all := readyChecks(base)
	for name, st := range all {
		if st == "DOWN" {
			down = append(down, name)
		}
	}
	slices.Sort(down)
	out := "DOWN: " + strings.Join(down, ", ")
	if len(down) == 0 {
		out = "none DOWN"
	}
	if all["store"] == "UP" {
		out += "; store UP"
	}
	return out
}

// watchFlip polls url every 50 ms until it answers code, and the container's
// health every 50 ms (each docker inspect takes its own time) until it is
// health, in two goroutines it waits for; meanwhile it counts the polls of
// base+stays that did not answer 200. Both must happen within.
func watchFlip(t *testing.T, name, url string, code int, health, base, stays string, within time.Duration) (probe, dock time.Duration, falseFlips int) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	var wg sync.WaitGroup
	probe, dock = -1, -1
	wg.Go(func() {
		for time.Now().Before(deadline) {
			if st, _ := status(url); st == code {
				probe = time.Since(start)
				return
			}
			if stays != "" {
				if st, _ := status(base + stays); st != 200 {
					falseFlips++
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for time.Now().Before(deadline) {
			out, err := exec.Command("docker", "inspect", "-f", "{{.State.Health.Status}}", name).Output()
			if err == nil && strings.TrimSpace(string(out)) == health {
				dock = time.Since(start)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	wg.Wait()
	if probe < 0 || dock < 0 {
		t.Fatalf("%s: %s %d after %v, Docker %s after %v (within %v)", name, url, code, probe, health, dock, within)
	}
	return probe, dock, falseFlips
}

// loadAverage is the machine's 1, 5 and 15 minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Defaults users would otherwise have: Docker's HEALTHCHECK (30s interval,
// 3 retries, 30s timeout) and Kubernetes' probes (10s period, failure
// threshold 3, 1s timeout), on top of the service's own detection.
const (
	dockerDefault = 30*time.Second*3 + 30*time.Second
	k8sDefault    = 10*time.Second*3 + time.Second
)

func renderFidelity(rows []fidelityRow, soak time.Duration, loadBefore, loadAfter string) string {
	var b strings.Builder
	host, _ := os.Hostname()
	kernel, _ := exec.Command("uname", "-srm").Output()
	engine, _ := exec.Command("docker", "version", "-f", "{{.Server.Version}}").Output()
	fmt.Fprintf(&b, "<!-- GENERATED by e2e/fidelity_test.go (TestFidelity) from its measurements; do not edit by hand. -->\n")
	fmt.Fprintf(&b, "# Fidelity: every failure injected for real, timed\n\n")
	fmt.Fprintf(&b, "Generated by `make fidelity` (`VITALS_FIDELITY=1 VITALS_FIDELITY_SOAK=%v go test -tags e2e -run TestFidelity ./e2e/`) on %s UTC.\n\n", soak, time.Now().UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(&b, "Machine: %s, %s, %d CPUs shared with other jobs (load average %s before the run, %s after), Docker Engine %s, Go %s.\n\n",
		host, strings.TrimSpace(string(kernel)), runtime.NumCPU(), loadBefore, loadAfter, strings.TrimSpace(string(engine)), runtime.Version())
	fmt.Fprintf(&b, "The account service runs in a `FROM scratch` container with its TEST-ONLY fault switches on (`FAULTS=1`, admin port 8087). ")
	fmt.Fprintf(&b, "Its checks run every %v with a %v timeout and a failure threshold of 1; the worker is stalled after %v without a beat. ", checkInterval, svcCheckTimeout, stallAfter)
	fmt.Fprintf(&b, "The image's HEALTHCHECK (`/healthz`, every check) runs every %v, timeout %v, %d retries. The probes are polled every 50 ms, `docker inspect` in a loop of its own. ", hcInterval, hcTimeout, hcRetries)
	fmt.Fprintf(&b, "The watchdog is a real `vitals watchdog` on the host probing `/livez` every %v (timeout %v, %d failures) whose Docker action restarts the container (the service drains for %v on SIGTERM).\n\n", wdInterval, wdTimeout, wdFailures, fidDrain)
	fmt.Fprintf(&b, "**Bound** is the service's detection bound (interval × threshold + timeout, + what the row adds); **Docker bound** adds the HEALTHCHECK's interval × retries + timeout; the next two columns are the Docker bound with Docker's defaults (30 s × 3 + 30 s) and Kubernetes' (10 s × 3 + 1 s) instead. The watchdog's bound is the detection bound + its interval × failures + timeout + the drain + 1 s for the engine to stop and start the container. Recovery is from the fault's removal. False flips count the polls of the probe that must stay 200 that did not, while the fault was on. The heavy-load and slow-database rows are the false-flip runs: %v each (`VITALS_FIDELITY_SOAK`; 2m by default).\n\n", soak)
	fmt.Fprintf(&b, "| failure | injected by | expected | probe flipped | probe time | bound | Docker unhealthy | Docker bound | with Docker defaults | with Kubernetes defaults | watchdog restart | recovery (probe / Docker) | false flips |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	d := func(x time.Duration) string {
		if x < 0 {
			return "never"
		}
		return x.Round(10 * time.Millisecond).String()
	}
	or := func(text, def string) string {
		if text != "" {
			return text
		}
		return def
	}
	var notes []string
	for _, r := range rows {
		if !r.measured {
			fmt.Fprintf(&b, "| %s | %s | %s | FAILED: see the test log | | | | | | | | | |\n", r.failure, r.how, r.expected)
			continue
		}
		dockBound := r.bound + hcInterval*hcRetries + hcTimeout
		flips := r.flips + " 503"
		if r.stays != "" {
			flips += ", " + r.stays + " stays 200"
		}
		if r.down != "" {
			flips += " (" + r.down + ")"
		}
		bound := d(r.bound)
		if r.note != "" && r.custom == nil || r.failure == "heavy load" {
			bound += " (" + r.note + ")"
		}
		restart := "n/a (readiness only)"
		if r.watchdog {
			restart = fmt.Sprintf("%s (bound %s)", d(r.restart), d(r.restartBound))
		}
		switch r.failure {
		case "bad configuration at start":
			notes = append(notes, "Bad configuration: the service's log line, from `docker logs`:\n\n```\n"+r.note+"\n```\n")
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | n/a | %s | n/a | n/a | n/a | %s | %s | %s |\n",
				r.failure, r.how, r.expected, r.probeText, "n/a", r.dockerText, r.restartText, r.recoveryText, r.flipsText)
			continue
		case "slow database, under its timeout":
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s (%s) | %s | n/a | n/a | n/a | %s | %s | %s |\n",
				r.failure, r.how, r.expected, r.probeText, d(r.probe), d(r.bound), r.note, r.dockerText, r.restartText, r.recoveryText, r.flipsText)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s |\n",
			r.failure, r.how, r.expected, flips, d(r.probe), bound, or(r.dockerText, d(r.docker)), d(dockBound),
			d(r.bound+dockerDefault), d(r.bound+k8sDefault), or(r.restartText, restart), d(r.probeRecover), d(r.dockerBack),
			or(r.flipsText, fmt.Sprint(r.falseFlips)))
	}
	for _, n := range notes {
		fmt.Fprintf(&b, "\n%s", n)
	}
	return b.String()
}

// Command scaleload runs issue 14's workload against the real `vitals
// watchdog` on SQLite and measures it (docs/scale.md): 90,000 heartbeat
// checks (periods 1 to 60 min, a few percent pinged once and then left
// silent, so that they go down during the run) and 10,000 pull checks
// probing a local target every 10 s, with pings at a fixed rate
// (default 20,000/s) over keep-alive connections. Checks come from the
// config file, the JSON API and auto-provisioning pings.
//
//	go run ./internal/cmd/scaleload -checks 100000 -duration 10m
//
// It reports, as a table (and as JSON with -json FILE): durable ping ingest per
// second and ping latency, pull lateness, the watchdog's CPU and RSS,
// how long after a missed deadline the down flip was durable, the store's
// size over the run, ping latency while retention prunes, the API,
// /metrics and status page as a client sees them, and the restart time
// (SIGTERM, then start again until /readyz answers 200 with every
// deadline armed). Loopback only; bounded by -duration (at most 60m).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	checks, pullChecks, apiChecks, autoChecks int
	latePct                                   float64
	rate, conns, retention                    int
	duration                                  time.Duration
	vitals, keep                              string
	json                                      string
}

func main() {
	var o options
	serve := flag.Bool("serve", false, "run the pull target (internal)")
	flag.IntVar(&o.checks, "checks", 100_000, "checks in all (heartbeat + pull)")
	flag.IntVar(&o.pullChecks, "pull", -1, "of them, pull checks (default a tenth)")
	flag.IntVar(&o.apiChecks, "api", -1, "of the heartbeat checks, made through the API (default 1 %)")
	flag.IntVar(&o.autoChecks, "auto", -1, "of the heartbeat checks, made by auto-provisioning pings (default 1 %)")
	flag.Float64Var(&o.latePct, "late", 3, "percent of the file's heartbeat checks pinged once, then left silent")
	flag.IntVar(&o.rate, "rate", 20_000, "pings per second")
	flag.IntVar(&o.conns, "conns", 256, "keep-alive ping connections")
	flag.IntVar(&o.retention, "retention", 20, "retention.pings: pings kept per check (low, so that pruning runs within the run)")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "ping load time (at most 60m)")
	flag.StringVar(&o.vitals, "vitals", "", "the vitals binary (default: go build ./cmd/vitals)")
	flag.StringVar(&o.keep, "keep", "", "keep the run's directory (config, database, log) here instead of a temporary one")
	flag.StringVar(&o.json, "json", "", "also write the report as JSON to this file (- for stdout, instead of the table)")
	flag.Parse()
	if *serve {
		runTarget()
		return
	}
	if o.pullChecks < 0 {
		o.pullChecks = o.checks / 10
	}
	hb := o.checks - o.pullChecks
	if o.apiChecks < 0 {
		o.apiChecks = hb / 100
	}
	if o.autoChecks < 0 {
		o.autoChecks = hb / 100
	}
	if o.checks < 1 || o.checks > 200_000 || hb < o.apiChecks+o.autoChecks || o.duration <= 0 || o.duration > time.Hour ||
		o.rate < 1 || o.rate > 100_000 || o.conns < 1 || o.conns > 4096 || o.latePct < 0 || o.latePct > 50 {
		fmt.Fprintln(os.Stderr, "scaleload: checks 1-200000 (pull, api and auto within them), duration up to 60m, rate 1-100000, conns 1-4096, late 0-50")
		os.Exit(2)
	}
	r, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaleload:", err)
		os.Exit(1)
	}
	if o.json != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if o.json == "-" {
			os.Stdout.Write(append(b, '\n'))
			return
		}
		if err := os.WriteFile(o.json, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "scaleload:", err)
			os.Exit(1)
		}
	}
	r.print(os.Stdout)
}

func secret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func run(o options) (*report, error) {
	dir := o.keep
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "scaleload"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	bin := o.vitals
	if bin == "" {
		var err error
		if bin, err = buildVitals(dir); err != nil {
			return nil, err
		}
	}
	target, stopTarget, err := startTarget()
	if err != nil {
		return nil, err
	}
	defer stopTarget()
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	hb := o.checks - o.pullChecks
	w := &workload{dir: dir, config: filepath.Join(dir, "vitals.yaml"), db: filepath.Join(dir, "vitals.db"),
		pingKey: secret(12), apiKey: secret(20), addr: addr, target: target,
		heartbeat: hb, fileHB: hb - o.apiChecks - o.autoChecks, api: o.apiChecks, auto: o.autoChecks,
		pulls: o.pullChecks, retention: o.retention}
	w.late = int(float64(w.fileHB) * o.latePct / 100)
	if err := w.writeConfig(); err != nil {
		return nil, err
	}
	r := &report{Checks: o.checks, FileChecks: w.fileHB + w.pulls, APIChecks: w.api, AutoChecks: w.auto, Pull: w.pulls,
		Heartbeat: hb, Late: w.late, Rate: o.rate, Conns: o.conns, Duration: o.duration.String(), Retention: o.retention,
		Go: runtime.Version(), Cores: runtime.NumCPU(), LoadStart: loadavg()}
	base := "http://" + addr
	hc := &http.Client{Timeout: 3 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	logPath := filepath.Join(dir, "vitals.log")
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}

	progress("config: %d checks in the file (%d heartbeat, %d of them silent; %d pull), then %d through the API and %d auto-provisioned; %s",
		w.fileHB+w.pulls, w.fileHB, w.late, w.pulls, w.api, w.auto, dir)
	t0 := time.Now()
	d, err := startDaemon(bin, w.config, logPath)
	if err != nil {
		return nil, err
	}
	defer func() { d.stop(30 * time.Second) }()
	if err := waitReady(hc, base, d, 5*time.Minute); err != nil {
		return nil, err
	}
	r.FirstStartS = time.Since(t0).Seconds()
	if s, err := readProc(d.cmd.Process.Pid, w.db); err == nil {
		r.FirstStartCPUS = s.cpu.Seconds()
	}
	progress("ready in %.2fs (empty store)", r.FirstStartS)

	ctx := context.Background()
	paths, err := w.createAPIChecks(ctx, hc, base)
	if err != nil {
		return nil, err
	}
	var prime, steady [][]byte
	for i := range w.fileHB {
		p := request("/ping/" + w.pingKey + "/" + slug(i))
		prime = append(prime, p)
		if !w.isLate(i) {
			steady = append(steady, p)
		}
	}
	for _, p := range paths {
		prime, steady = append(prime, request(p)), append(steady, request(p))
	}
	for i := range w.auto {
		p := request("/ping/" + w.pingKey + "/" + slug(w.fileHB+w.api+i) + "?create=1")
		prime, steady = append(prime, p), append(steady, p)
	}

	// A scrape that fails leaves its figures out (NaN), not the run.
	before, _, _, err := scrape(ctx, hc, base, w.apiKey)
	if err != nil {
		progress("scrape before the load: %v", err)
	}
	const window = 10 * time.Second
	p := newPinger(addr, o.rate, o.conns, o.duration, window, prime, steady)
	loadCtx, stopLoad := context.WithTimeout(ctx, o.duration)
	defer stopLoad()
	var wg sync.WaitGroup
	self0 := selfCPU()
	wg.Go(func() { p.run(loadCtx) })
	progress("load: %d pings/s over %d connections for %v (the first %d prime every heartbeat check)", o.rate, o.conns, o.duration, len(prime))

	pid := d.cmd.Process.Pid
	first, _ := readProc(pid, w.db)
	samples := []procSample{first}
	tick := time.NewTicker(time.Second)
	measured := false
	for done := false; !done; {
		select {
		case <-loadCtx.Done():
			done = true
		case <-tick.C:
			s, err := readProc(pid, w.db)
			if err != nil {
				return nil, fmt.Errorf("watchdog gone: %v (see %s)", err, logPath)
			}
			samples = append(samples, s)
			el := s.at.Sub(p.start)
			if n := len(samples); n%10 == 1 && n > 10 {
				prev := samples[n-11]
				wi := int(el/window) - 1
				h := p.total(wi, wi+1)
				progress("t=%3.0fs pings %6.0f/s p99 %6.1fms  cpu %.2f cores  rss %4d MiB  db %5.1f MiB + wal %5.1f MiB  dropped %d",
					el.Seconds(), float64(h.count())/window.Seconds(), ms(h.quantile(0.99)), (s.cpu-prev.cpu).Seconds()/s.at.Sub(prev.at).Seconds(),
					s.rss>>20, float64(s.db)/(1<<20), float64(s.wal)/(1<<20), p.dropped.Load())
				r.Store = append(r.Store, storeSample{T: el.Seconds(), DBMiB: float64(s.db) / (1 << 20), WALMiB: float64(s.wal) / (1 << 20)})
			}
			// The client's view of the API, /metrics and the status page,
			// under load, 20 s before its end.
			if !measured && o.duration-el < 20*time.Second && el > o.duration/2 {
				measured = true
				r.Endpoints = w.measureEndpoints(ctx, hc, base)
			}
		}
	}
	tick.Stop()
	wg.Wait()
	r.LoadToolCores = (selfCPU() - self0).Seconds() / time.Since(p.start).Seconds()
	last, _ := readProc(pid, w.db)
	samples = append(samples, last)
	after, took, size, err := scrape(ctx, hc, base, w.apiKey)
	if err != nil {
		progress("scrape after the load: %v", err)
		r.ScrapeError = err.Error()
	}
	r.fill(p, samples, before, after, w)
	r.FinalScrapeMS, r.FinalScrapeBytes = float64(took.Microseconds())/1000, size
	if !measured {
		r.Endpoints = w.measureEndpoints(ctx, hc, base)
	}

	// Restart: SIGTERM, then the same file and database again.
	r.ShutdownS = d.stop(2 * time.Minute).Seconds()
	t0 = time.Now()
	if d, err = startDaemon(bin, w.config, logPath); err != nil {
		return nil, err
	}
	if err := waitReady(hc, base, d, 3*time.Minute); err != nil {
		r.RestartError = err.Error() // the report of the load stands
		r.LoadEnd = loadavg()
		return r, nil
	}
	r.RestartS = time.Since(t0).Seconds()
	if s, err := readProc(d.cmd.Process.Pid, w.db); err == nil {
		r.RestartRSSMiB, r.RestartCPUS = float64(s.rss)/(1<<20), s.cpu.Seconds()
	}
	if fams, _, _, err := scrape(ctx, hc, base, w.apiKey); err == nil {
		r.ArmedAfterRestart = int(fams.gauge("vitals_deadlines_pending"))
		r.ArmedBefore = int(after.gauge("vitals_deadlines_pending"))
	}
	progress("restart: ready in %.2fs, %d deadlines armed (%d before the restart)", r.RestartS, r.ArmedAfterRestart, r.ArmedBefore)
	r.LoadEnd = loadavg()
	return r, nil
}

// selfCPU is the CPU time this process (the load) used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

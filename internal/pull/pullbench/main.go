// Command pullbench measures the pull scheduler (BENCHMARKS.md, "Pull
// scheduler"): N pull checks probing a local HTTP target every interval,
// through the real engine and the SQLite store, for a bounded time. It
// reports the lateness of each probe against its schedule (p50, p99,
// max), the CPU the process used (the target runs in a child process, so
// its CPU is not counted) and the heap held per check.
//
//	go run ./internal/pull/pullbench -checks 10000 -interval 10s -duration 60s
//
// -mode both (the default) runs the scheduler and then, as the baseline,
// the naive design: one goroutine with a time.Ticker per check.
//
// -conns (reused, fresh or both) and -coalesce (on, off or both) choose
// how the scheduler's runs probe and write: connections kept alive per
// target or a fresh one per probe (fresh_connection), routine results
// coalesced (written every -flush) or each written durably. "both" runs
// each way in turn, in the same process against the same target, so one
// run gives the before and the after:
//
//	go run ./internal/pull/pullbench -mode scheduler -conns both -coalesce both
//
// The ticker baseline always probes fresh and writes every result.
// Loopback only.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/pull"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

func main() {
	serve := flag.Bool("serve", false, "run the target server (internal)")
	checks := flag.Int("checks", 10000, "pull checks")
	interval := flag.Duration("interval", 10*time.Second, "probe interval")
	duration := flag.Duration("duration", 60*time.Second, "measured time, after one interval of warm-up")
	mode := flag.String("mode", "both", "scheduler, ticker (baseline) or both")
	storeKind := flag.String("store", "sqlite", "sqlite or mem")
	slow := flag.Int("slow", 0, "of the checks, how many probe a path that answers after 6s (past the 5s timeout); their lateness is not counted")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured time of the last mode to this file")
	connsFlag := flag.String("conns", "reused", "scheduler runs: reused (keep-alive per target), fresh (a connection per probe) or both")
	coalesceFlag := flag.String("coalesce", "on", "scheduler runs: on (routine results written every -flush), off (every result durable) or both")
	flush := flag.Duration("flush", 0, "with -coalesce on: the engine's ResultFlush (0: watchdog.DefaultResultFlush)")
	flag.Parse()
	profilePath = *cpuProfile
	slowChecks = *slow
	if *serve {
		runTarget()
		return
	}
	if *checks < 1 || *checks > 100_000 || *duration > 10*time.Minute || *interval < time.Second {
		fmt.Fprintln(os.Stderr, "pullbench: checks 1-100000, duration at most 10m, interval at least 1s")
		os.Exit(2)
	}
	target, stop := startTarget()
	defer stop()
	fmt.Printf("pullbench: %d checks every %v, %v measured, store %s, target %s, %s, GOMAXPROCS %d\n",
		*checks, *interval, *duration, *storeKind, target, runtime.Version(), runtime.GOMAXPROCS(0))
	conns, err := choices("conns", *connsFlag, "fresh", "reused")
	if err == nil {
		coalesce, err2 := choices("coalesce", *coalesceFlag, "off", "on")
		for _, cs := range conns {
			for _, co := range coalesce {
				variants = append(variants, variant{fresh: cs == "fresh", coalesce: co == "on", flush: *flush})
			}
		}
		err = err2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pullbench:", err)
		os.Exit(2)
	}
	for _, m := range []string{"scheduler", "ticker"} {
		if *mode != "both" && *mode != m {
			continue
		}
		vs := variants
		if m == "ticker" {
			vs = []variant{{fresh: true}}
		}
		for _, v := range vs {
			if err := bench(m, v, *storeKind, target, *checks, *interval, *duration); err != nil {
				fmt.Fprintln(os.Stderr, "pullbench:", err)
				os.Exit(1)
			}
		}
	}
}

// variant is how a run probes and writes.
type variant struct {
	fresh, coalesce bool
	flush           time.Duration
}

func (v variant) String() string {
	s := "reused"
	if v.fresh {
		s = "fresh"
	}
	if v.coalesce {
		return s + "+coalesced"
	}
	return s + "+durable"
}

var variants []variant

// choices parses a flag of two values or "both" (off first: the baseline).
func choices(name, v, off, on string) ([]string, error) {
	switch v {
	case off, on:
		return []string{v}, nil
	case "both":
		return []string{off, on}, nil
	}
	return nil, fmt.Errorf("-%s %q: want %s, %s or both", name, v, off, on)
}

// runTarget serves /readyz on 127.0.0.1:0 and prints its address.
func runTarget() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	body := []byte(`{"status":"UP"}`)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			t := time.NewTimer(6 * time.Second)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { io.Copy(io.Discard, os.Stdin); os.Exit(0) }() // exit with the parent
	srv.Serve(ln)
}

func startTarget() (string, func()) {
	cmd := exec.Command(os.Args[0], "-serve")
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var addr string
	fmt.Fscanln(out, &addr)
	return addr, func() { in.Close(); cmd.Wait() }
}

type sample struct {
	at        time.Time
	late, dur time.Duration
	ok        bool
}

type recorder struct {
	mu      sync.Mutex
	on      bool
	samples []sample
}

// slowIDs are the checks probing the slow path (set before the run).
var slowIDs = map[model.CheckID]bool{}

func (r *recorder) observe(id model.CheckID, scheduled, started time.Time, res model.Result) {
	if slowIDs[id] {
		return
	}
	r.mu.Lock()
	if r.on {
		r.samples = append(r.samples, sample{scheduled, started.Sub(scheduled), res.Duration, res.OK})
	}
	r.mu.Unlock()
}

func bench(mode string, v variant, storeKind, target string, n int, interval, duration time.Duration) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "pullbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var st store.Store
	if storeKind == "mem" {
		st = memstore.New(memstore.Options{})
	} else {
		s, err := sqlite.Open(filepath.Join(dir, "v.db"), sqlite.Options{})
		if err != nil {
			return err
		}
		st = s
	}
	defer st.Close()

	heap0 := heapInUse()
	rec := &recorder{samples: make([]sample, 0, int(float64(n)*duration.Seconds()/interval.Seconds()*1.1)+16)}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	flush := time.Duration(-1) // every result durable
	if v.coalesce {
		flush = v.flush
	}
	eng := watchdog.New(st, watchdog.Options{Logger: log, ResultFlush: flush})
	label := mode + " " + v.String()
	if mode == "scheduler" {
		sched := pull.New(eng, pull.Options{Logger: log, Observe: func(id model.CheckID, s, st time.Time, r model.Result) { rec.observe(id, s, st, r) }})
		if err := eng.AddListener(sched); err != nil {
			return err
		}
		return run(ctx, eng, sched, nil, rec, heap0, label, v.fresh, target, n, interval, duration)
	}
	return run(ctx, eng, nil, &tickers{rec: rec, eng: eng}, rec, heap0, label, v.fresh, target, n, interval, duration)
}

func run(ctx context.Context, eng *watchdog.Engine, sched *pull.Scheduler, tk *tickers, rec *recorder, heap0 uint64,
	mode string, fresh bool, target string, n int, interval, duration time.Duration) error {
	if err := eng.Start(ctx); err != nil {
		return err
	}
	defer eng.Close()
	spec := pull.Spec{URL: "http://" + target + "/readyz", JSON: []string{`$.status == "UP"`}, Timeout: pull.Duration(5 * time.Second),
		FreshConnection: fresh}
	slowSpec := spec
	slowSpec.URL = "http://" + target + "/slow"
	checks := make([]model.Check, n)
	for i := range checks {
		sp := spec
		if i < slowChecks {
			sp = slowSpec
		}
		checks[i] = model.Check{ID: model.NewCheckID(), Name: fmt.Sprintf("c%05d", i), Kind: model.KindPull,
			Schedule: model.Schedule{Period: interval, Grace: 5 * time.Second}, Probe: sp.Encode()}
		if i < slowChecks {
			slowIDs[checks[i].ID] = true
		}
	}
	if _, err := eng.Sync(ctx, model.SourceConfig, checks); err != nil {
		return err
	}
	if sched != nil {
		if err := sched.Start(); err != nil {
			return err
		}
		defer sched.Close()
	} else {
		if err := tk.start(checks); err != nil {
			return err
		}
		defer tk.stop()
	}
	time.Sleep(interval) // warm-up: every check has had its first (jittered) run
	heap1 := heapInUse()
	rec.mu.Lock()
	rec.on = true
	rec.mu.Unlock()
	if profilePath != "" {
		f, err := os.Create(profilePath)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
	}
	ru0, t0 := rusage(), time.Now()
	time.Sleep(duration)
	ru1, wall := rusage(), time.Since(t0)
	if profilePath != "" {
		pprof.StopCPUProfile()
	}
	rec.mu.Lock()
	rec.on = false
	samples := slices.Clone(rec.samples)
	rec.mu.Unlock()

	lat := make([]time.Duration, len(samples))
	durs := make([]time.Duration, len(samples))
	failed := 0
	for i, s := range samples {
		lat[i], durs[i] = s.late, s.dur
		if !s.ok {
			failed++
		}
	}
	slices.Sort(lat)
	slices.Sort(durs)
	pctOf := func(xs []time.Duration, p float64) time.Duration {
		if len(xs) == 0 {
			return 0
		}
		return xs[min(len(xs)-1, int(p*float64(len(xs))))].Round(10 * time.Microsecond)
	}
	pct := func(p float64) time.Duration { return pctOf(lat, p) }
	if os.Getenv("PULLBENCH_TRACE") != "" { // when were the late ones scheduled?
		perSec := map[int]int{}
		for _, s := range samples {
			if s.late > 100*time.Millisecond {
				perSec[int(s.at.Sub(t0).Seconds())]++
			}
		}
		fmt.Printf("%-26s probes over 100ms late, by second of the run: %v\n", mode, perSec)
	}
	cpu := (ru1 - ru0).Seconds() / wall.Seconds()
	expected := float64(n-slowChecks) * wall.Seconds() / interval.Seconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	la, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("%-26s probe duration p50 %v p99 %v\n", mode, pctOf(durs, .5), pctOf(durs, .99))
	fmt.Printf("%-26s load average %s\n", mode, strings.Join(strings.Fields(string(la))[:min(3, len(strings.Fields(string(la))))], " "))
	fmt.Printf("%-26s probes %d (%.0f%% of schedule, %d failed)  lateness p50 %v p99 %v max %v  CPU %.2f cores  heap/check %.1f KiB  goroutines %d\n",
		mode, len(samples), 100*float64(len(samples))/expected, failed, pct(.5).Round(10*time.Microsecond), pct(.99).Round(10*time.Microsecond),
		pct(1).Round(10*time.Microsecond), cpu, float64(heap1-heap0)/float64(n)/1024, runtime.NumGoroutine())
	return nil
}

// tickers is the baseline: one goroutine and one time.Ticker per check.
type tickers struct {
	rec    *recorder
	eng    *watchdog.Engine
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (t *tickers) start(checks []model.Check) error {
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	for _, c := range checks {
		spec, err := pull.Decode(c.Probe)
		if err != nil {
			return err
		}
		p, err := pull.Compile(spec)
		if err != nil {
			return err
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			first := time.NewTimer(rand.N(c.Schedule.Period))
			select {
			case <-ctx.Done():
				first.Stop()
				return
			case <-first.C:
			}
			tick := time.NewTicker(c.Schedule.Period)
			defer tick.Stop()
			scheduled := time.Now()
			for {
				started := time.Now()
				r := p.Probe(ctx)
				if ctx.Err() != nil {
					return
				}
				t.rec.observe(c.ID, scheduled, started, r)
				t.eng.Report(ctx, c.ID, r)
				select {
				case <-ctx.Done():
					return
				case scheduled = <-tick.C:
				}
			}
		}()
	}
	return nil
}

func (t *tickers) stop() { t.cancel(); t.wg.Wait() }

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func rusage() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	profilePath string
	slowChecks  int
)

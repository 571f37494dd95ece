// Command accountservice is a small but real HTTP service — an accounts API
// over an embedded SQLite store — with the health library wired in the way a
// production service would: a database check on the service's own pool
// (with a Baseline: DEGRADED when far slower than its normal), the pool's
// saturation (checks.SQLPool), a synthetic GET /accounts through the whole
// handler stack (checks.Probe), passive health over the API's outcomes
// (checks.Passive), a background worker watched for stalls, disk space and
// writability of the data directory, goroutine and cgroup memory leaks,
// load shedding, and a graceful drain on SIGTERM. An invalid setting stops
// it at once with exit code 2 and one log line naming the flag.
//
//	go run ./examples/accountservice -data /tmp/accounts
//	curl -i http://127.0.0.1:8080/readyz
//
// With -chaos (never in production) it also serves switches that break it for
// real, for demonstrations and the end-to-end test:
//
//	POST /chaos/store/offline   close the database pool    POST /chaos/store/online
//	POST /chaos/worker/stall    block the worker loop      POST /chaos/worker/resume
//	POST /chaos/memory/leak     grow the heap (?mib=)      POST /chaos/leaks/remove
//	POST /chaos/goroutines/leak start goroutines (?n=)     POST /chaos/leaks/remove
//	POST /chaos/disk/fill       fill the data directory    POST /chaos/disk/free
//	POST /chaos/pool/exhaust    hold every pool connection POST /chaos/pool/release
//	POST /chaos/db/latency?ms=  delay every database round trip (ms=0: none; at most 60000)
//	POST /chaos/route/fail?route=  a route answers 500     POST /chaos/route/fix?route=
//	                            (route: list, create, get or deposit)
//
// The fault switches are TEST-ONLY. The fidelity test (e2e, `make fidelity`)
// enables them with FAULTS=1, which serves the same /chaos switches on an
// admin listener of their own (FAULTS_ADDR, default 127.0.0.1:8087; the
// container image sets :8087) so that the API port carries none of them.
// Off by default: without FAULTS=1 (or -chaos) no switch exists.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
)

func main() { os.Exit(run(os.Args[1:])) }

type config struct {
	addr, healthAddr, dataDir, token string
	chaos                            bool
	faults                           bool
	faultsAddr                       string
	drain, checkInterval, stallAfter time.Duration
	inFlightGrace, poolWindow        time.Duration
	passiveWindow, ejection          time.Duration
	maxInFlight, maxGoroutines       int
	memoryFraction                   float64
}

// validate reports every invalid setting, each naming its flag.
func (c config) validate() error {
	var errs []error
	positive := func(flag string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("-%s %v: must be above 0", flag, d))
		}
	}
	positive("check-interval", c.checkInterval)
	positive("stall-after", c.stallAfter)
	positive("pool-window", c.poolWindow)
	positive("passive-window", c.passiveWindow)
	positive("ejection", c.ejection)
	if c.inFlightGrace < 0 {
		errs = append(errs, fmt.Errorf("-in-flight-grace %v: must not be negative", c.inFlightGrace))
	}
	if c.maxInFlight <= 0 {
		errs = append(errs, fmt.Errorf("-max-in-flight %d: must be above 0", c.maxInFlight))
	}
	if c.maxGoroutines <= 0 {
		errs = append(errs, fmt.Errorf("-max-goroutines %d: must be above 0", c.maxGoroutines))
	}
	if !(c.memoryFraction > 0 && c.memoryFraction <= 1) {
		errs = append(errs, fmt.Errorf("-memory-fraction %g: must be in (0, 1]", c.memoryFraction))
	}
	return errors.Join(errs...)
}

func run(args []string) int {
	var cfg config
	fs := flag.NewFlagSet("accountservice", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", envOr("ADDR", "127.0.0.1:8080"), "listen address of the API and the probes (env ADDR)")
	fs.StringVar(&cfg.healthAddr, "health-addr", os.Getenv("HEALTH_ADDR"), "optional separate listener for the probes only, e.g. :8086 (env HEALTH_ADDR)")
	fs.StringVar(&cfg.dataDir, "data", envOr("DATA_DIR", "data"), "directory of the SQLite database (env DATA_DIR)")
	fs.StringVar(&cfg.token, "token", os.Getenv("HEALTH_TOKEN"), "bearer token that may see health details (env HEALTH_TOKEN)")
	fs.BoolVar(&cfg.chaos, "chaos", os.Getenv("CHAOS") == "1", "serve /chaos switches that break the service for real (env CHAOS=1); demonstrations only")
	fs.BoolVar(&cfg.faults, "faults", os.Getenv("FAULTS") == "1", "TEST-ONLY: serve the fault switches on an admin listener of their own (env FAULTS=1)")
	fs.StringVar(&cfg.faultsAddr, "faults-addr", envOr("FAULTS_ADDR", "127.0.0.1:8087"), "listen address of the fault switches' admin listener (env FAULTS_ADDR)")
	fs.DurationVar(&cfg.drain, "drain", 5*time.Second, "how long to keep serving with readiness DOWN after SIGTERM")
	fs.DurationVar(&cfg.checkInterval, "check-interval", time.Second, "interval of the health checks")
	fs.DurationVar(&cfg.stallAfter, "stall-after", 3*time.Second, "a worker that has not beaten for this long is stalled")
	fs.IntVar(&cfg.maxInFlight, "max-in-flight", 256, "in-flight API requests above which readiness sheds load")
	fs.DurationVar(&cfg.inFlightGrace, "in-flight-grace", checks.DefaultInFlightGrace, "how long in-flight requests may stay above -max-in-flight before readiness sheds load")
	fs.DurationVar(&cfg.poolWindow, "pool-window", 2*time.Second, "how long the store's pool may stay exhausted (every connection in use, requests waiting) before readiness fails")
	fs.DurationVar(&cfg.passiveWindow, "passive-window", 5*time.Second, "window of the passive check: at least half of the API requests failing in it ejects the instance")
	fs.DurationVar(&cfg.ejection, "ejection", 5*time.Second, "how long readiness fails after the passive check ejects the instance")
	fs.IntVar(&cfg.maxGoroutines, "max-goroutines", 10000, "goroutines above which liveness fails (a leak)")
	fs.Float64Var(&cfg.memoryFraction, "memory-fraction", 0.9, "part of the cgroup's memory limit above which liveness fails (a leak), before the kernel's OOM kill")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := cfg.validate(); err != nil {
		// Exit at once: a service that cannot be configured never
		// becomes healthy, and says why in one line.
		log.Error("invalid configuration: not starting", "error", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("accountservice stopped", "error", err)
		return 1
	}
	log.Info("accountservice stopped")
	return 0
}

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.dataDir, 0o755); err != nil {
		return err
	}
	store, err := OpenStore(ctx, filepath.Join(cfg.dataDir, "accounts.db"), cfg.poolWindow)
	if err != nil {
		return err
	}
	defer store.Close()

	m := health.New(health.Options{
		Logger:    log,
		Authorize: health.BearerToken(cfg.token),
		Aliases:   map[string]health.Kind{"/health": health.All},
	})

	// The worker: a background loop that must keep beating.
	stall := checks.NewStall("worker", cfg.stallAfter)
	w := newWorker(store, stall, log)

	inflight := checks.NewInFlight(cfg.maxInFlight, checks.InFlightOptions{Grace: cfg.inFlightGrace})
	// Passive health: at least half of the API's requests failing (5xx)
	// over the window ejects the instance from readiness.
	passive := checks.NewPassive(checks.PassiveOptions{Window: cfg.passiveWindow, EjectionTime: cfg.ejection})
	mux := http.NewServeMux()
	m.Mount(mux)
	a := &api{store: store}
	a.routes(mux, func(h http.Handler) http.Handler { return inflight.Middleware(passive.Middleware(h)) })

	for _, c := range []health.Check{
		// The startup check the Kubernetes manifests' startupProbe waits
		// for (deploy/kubernetes): it passes once the store is open with
		// its schema in place, and holds liveness and readiness DOWN until
		// then. Once it has passed it stops running (health.Startup only).
		{Name: "store-open", ComponentType: "datastore", Kinds: health.Startup, Checker: health.CheckerFunc(store.Ready)},
		{Name: "worker", Checker: stall, Kinds: health.Liveness | health.Readiness},
		// Baseline: a store that answers, but far slower than its normal,
		// is DEGRADED (200), never DOWN on latency alone.
		{Name: "store", ComponentType: "datastore", Baseline: &health.Baseline{WarmUp: 10}, Checker: health.CheckerFunc(func(ctx context.Context) error {
			// The store's pool changes when the chaos switch closes it.
			return checks.NewSQL(store.DB(), checks.SQLOptions{}).Check(ctx)
		})},
		{Name: "store-pool", ComponentType: "datastore", Checker: health.CheckerFunc(func(ctx context.Context) error {
			return store.Pool().Check(ctx)
		})},
		// The deep check: a synthetic GET /accounts through the whole
		// handler stack catches a broken route that the store's ping
		// (the shallow check) cannot see.
		{Name: "probe-list-accounts", Checker: checks.NewProbe(mux, checks.ProbeOptions{Target: "/accounts"})},
		{Name: "passive", Checker: passive},
		{Name: "data-disk-space", ComponentType: "system", Checker: checks.NewDiskSpace(cfg.dataDir, checks.DiskSpaceOptions{})},
		{Name: "data-disk-write", ComponentType: "system", Checker: checks.NewDiskWrite(cfg.dataDir, checks.DiskWriteOptions{})},
		{Name: "load", Checker: inflight},
		// Leaks do not heal: a restart is the cure, hence liveness.
		{Name: "goroutines", ComponentType: "system", Kinds: health.Liveness | health.Readiness, Checker: checks.NewGoroutines(cfg.maxGoroutines)},
		{Name: "memory", ComponentType: "system", Kinds: health.Liveness | health.Readiness, Checker: checks.NewCgroupMemory(checks.CgroupMemoryOptions{MaxFraction: cfg.memoryFraction})},
	} {
		c.Interval = cfg.checkInterval
		c.Timeout = 2 * time.Second
		if err := m.Register(c); err != nil {
			return err
		}
	}
	if err := m.Start(); err != nil {
		return err
	}
	defer m.Stop(context.Background())

	wctx, wcancel := context.WithCancel(context.Background())
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); w.run(wctx) }()
	defer func() { wcancel(); w.resume(); <-workerDone }()

	var lk leaks
	defer lk.remove()
	if cfg.chaos {
		log.Warn("chaos switches enabled: /chaos/... can break this service")
		chaosRoutes(mux, store, a, w, &lk, cfg.dataDir, log)
	}

	if cfg.faults {
		fln, err := net.Listen("tcp", cfg.faultsAddr)
		if err != nil {
			return err
		}
		log.Warn("TEST-ONLY fault switches enabled on their own listener: /chaos/... can break this service", "addr", fln.Addr().String())
		fmux := http.NewServeMux()
		chaosRoutes(fmux, store, a, w, &lk, cfg.dataDir, log)
		fsrv := &http.Server{Handler: fmux, ReadHeaderTimeout: 5 * time.Second}
		fdone := make(chan struct{})
		go func() { defer close(fdone); fsrv.Serve(fln) }()
		defer func() { fsrv.Close(); <-fdone }()
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	log.Info("accountservice serving", "addr", ln.Addr().String(), "try", fmt.Sprintf("curl -i http://%s/readyz", ln.Addr()))

	errc := make(chan error, 1)
	if cfg.healthAddr != "" {
		hln, err := net.Listen("tcp", cfg.healthAddr)
		if err != nil {
			ln.Close()
			return err
		}
		log.Info("health probes on their own listener", "addr", hln.Addr().String())
		// A server of their own, so that probes are answered even when
		// the application's server is saturated.
		hmux := http.NewServeMux()
		m.Mount(hmux)
		hsrv := &http.Server{Handler: hmux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
		go func() {
			errc <- m.Serve(ctx, hsrv, health.ServeOptions{Listeners: []net.Listener{hln}, DrainPeriod: cfg.drain})
		}()
	} else {
		errc <- nil
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	err = m.Serve(ctx, srv, health.ServeOptions{Listeners: []net.Listener{ln}, DrainPeriod: cfg.drain})
	if herr := <-errc; err == nil {
		err = herr
	}
	return err
}

func chaosRoutes(mux *http.ServeMux, store *Store, a *api, w *worker, lk *leaks, dataDir string, log *slog.Logger) {
	act := func(name string, fn func() error) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			if err := fn(); err != nil {
				writeErr(rw, http.StatusInternalServerError, err)
				return
			}
			log.Warn("chaos", "action", name)
			writeJSON(rw, http.StatusOK, map[string]string{"done": name})
		}
	}
	mux.HandleFunc("POST /chaos/store/offline", act("store offline", store.Offline))
	mux.HandleFunc("POST /chaos/store/online", act("store online", func() error { return store.Online(context.Background()) }))
	mux.HandleFunc("POST /chaos/worker/stall", act("worker stalled", func() error { w.stall(); return nil }))
	mux.HandleFunc("POST /chaos/worker/resume", act("worker resumed", func() error { w.resume(); return nil }))
	// ?mib= (default 256, at most 4096) and ?n= (default 20000, at most 100000).
	mux.HandleFunc("POST /chaos/memory/leak", func(rw http.ResponseWriter, r *http.Request) {
		act("memory leaking", func() error { lk.leakMemory(intParam(r, "mib", 256, maxLeakMiB)); return nil })(rw, r)
	})
	mux.HandleFunc("POST /chaos/goroutines/leak", func(rw http.ResponseWriter, r *http.Request) {
		act("goroutines leaked", func() error { lk.leakGoroutines(intParam(r, "n", 20000, maxLeakGoroutines)); return nil })(rw, r)
	})
	// At most 64 GiB: a data volume is expected to be a small tmpfs.
	mux.HandleFunc("POST /chaos/disk/fill", act("disk filled", func() error { return fillDisk(dataDir, 64<<30) }))
	mux.HandleFunc("POST /chaos/disk/free", act("disk freed", func() error { return removeFill(dataDir) }))
	mux.HandleFunc("POST /chaos/leaks/remove", act("leaks removed", func() error { lk.remove(); return nil }))
	mux.HandleFunc("POST /chaos/pool/exhaust", act("pool exhausted", store.Exhaust))
	mux.HandleFunc("POST /chaos/pool/release", act("pool released", store.Release))
	mux.HandleFunc("POST /chaos/db/latency", func(rw http.ResponseWriter, r *http.Request) {
		ms := 0
		if r.URL.Query().Get("ms") != "0" {
			ms = intParam(r, "ms", 500, 60000)
		}
		act(fmt.Sprintf("database latency %dms", ms), func() error { store.SetLatency(time.Duration(ms) * time.Millisecond); return nil })(rw, r)
	})
	mux.HandleFunc("POST /chaos/route/fail", func(rw http.ResponseWriter, r *http.Request) {
		route := r.URL.Query().Get("route")
		act("route "+route+" failing", func() error { return a.setFailing(route, true) })(rw, r)
	})
	mux.HandleFunc("POST /chaos/route/fix", func(rw http.ResponseWriter, r *http.Request) {
		route := r.URL.Query().Get("route")
		act("route "+route+" fixed", func() error { return a.setFailing(route, false) })(rw, r)
	})
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

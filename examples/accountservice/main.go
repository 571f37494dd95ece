// Command accountservice is a small but real HTTP service — an accounts API
// over an embedded SQLite store — with the health library wired in the way a
// production service would: a database check on the service's own pool, a
// background worker watched for stalls, disk space and writability of the
// data directory, load shedding, and a graceful drain on SIGTERM.
//
//	go run ./examples/accountservice -data /tmp/accounts
//	curl -i http://127.0.0.1:8080/readyz
//
// With -chaos (never in production) it also serves switches that break it for
// real, for demonstrations and the end-to-end test:
//
//	POST /chaos/store/offline   close the database pool    POST /chaos/store/online
//	POST /chaos/worker/stall    block the worker loop      POST /chaos/worker/resume
package main

import (
	"context"
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
	drain, checkInterval, stallAfter time.Duration
	maxInFlight                      int
}

func run(args []string) int {
	var cfg config
	fs := flag.NewFlagSet("accountservice", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", envOr("ADDR", "127.0.0.1:8080"), "listen address of the API and the probes (env ADDR)")
	fs.StringVar(&cfg.healthAddr, "health-addr", os.Getenv("HEALTH_ADDR"), "optional separate listener for the probes only, e.g. :8086 (env HEALTH_ADDR)")
	fs.StringVar(&cfg.dataDir, "data", envOr("DATA_DIR", "data"), "directory of the SQLite database (env DATA_DIR)")
	fs.StringVar(&cfg.token, "token", os.Getenv("HEALTH_TOKEN"), "bearer token that may see health details (env HEALTH_TOKEN)")
	fs.BoolVar(&cfg.chaos, "chaos", os.Getenv("CHAOS") == "1", "serve /chaos switches that break the service for real (env CHAOS=1); demonstrations only")
	fs.DurationVar(&cfg.drain, "drain", 5*time.Second, "how long to keep serving with readiness DOWN after SIGTERM")
	fs.DurationVar(&cfg.checkInterval, "check-interval", time.Second, "interval of the health checks")
	fs.DurationVar(&cfg.stallAfter, "stall-after", 3*time.Second, "a worker that has not beaten for this long is stalled")
	fs.IntVar(&cfg.maxInFlight, "max-in-flight", 256, "in-flight API requests above which readiness sheds load")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
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
	store, err := OpenStore(ctx, filepath.Join(cfg.dataDir, "accounts.db"))
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

	inflight := checks.NewInFlight(cfg.maxInFlight, checks.InFlightOptions{})
	for _, c := range []health.Check{
		// The startup check the Kubernetes manifests' startupProbe waits
		// for (deploy/kubernetes): it passes once the store is open with
		// its schema in place, and holds liveness and readiness DOWN until
		// then. Once it has passed it stops running (health.Startup only).
		{Name: "store-open", ComponentType: "datastore", Kinds: health.Startup, Checker: health.CheckerFunc(store.Ready)},
		{Name: "worker", Checker: stall, Kinds: health.Liveness | health.Readiness},
		{Name: "store", ComponentType: "datastore", Checker: health.CheckerFunc(func(ctx context.Context) error {
			// The store's pool changes when the chaos switch closes it.
			return checks.NewSQL(store.DB(), checks.SQLOptions{}).Check(ctx)
		})},
		{Name: "data-disk-space", ComponentType: "system", Checker: checks.NewDiskSpace(cfg.dataDir, checks.DiskSpaceOptions{})},
		{Name: "data-disk-write", ComponentType: "system", Checker: checks.NewDiskWrite(cfg.dataDir, checks.DiskWriteOptions{})},
		{Name: "load", Checker: inflight},
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

	mux := http.NewServeMux()
	m.Mount(mux)
	(&api{store: store}).routes(mux, inflight.Middleware)
	if cfg.chaos {
		log.Warn("chaos switches enabled: /chaos/... can break this service")
		chaosRoutes(mux, store, w, log)
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

func chaosRoutes(mux *http.ServeMux, store *Store, w *worker, log *slog.Logger) {
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
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

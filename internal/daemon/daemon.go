package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/systemd"
	"github.com/vitals-go/vitals/internal/actions"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/badge"
	"github.com/vitals-go/vitals/internal/cluster"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/metrics"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/netlimit"
	"github.com/vitals-go/vitals/internal/pull"
	"github.com/vitals-go/vitals/internal/statuspage"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// Options configure a Daemon. The zero value is usable.
type Options struct {
	// ConfigPath is the file Reload reads again. Default "": the daemon
	// runs on the config given to New, and Reload re-applies it.
	ConfigPath string
	// Logger. Default slog.Default().
	Logger *slog.Logger
	// Version is shown in the startup log and /readyz's IETF answer.
	Version string
	// Now is the engine's clock (tests inject one to reach the purge of
	// retired checks). Default time.Now.
	Now func() time.Time
	// Notifiers is the notifier registry: the actions build their
	// channels with it and Reload decodes the notifiers section with it,
	// so pass the one the config given to New was loaded with
	// (config.LoadOptions). Default notify.NewRegistry(): the built-in
	// kinds.
	Notifiers *notify.Registry
}

// Daemon is a running watchdog. Its methods are safe for concurrent use.
type Daemon struct {
	opts  Options
	log   *slog.Logger
	st    daemonStore
	eng   *watchdog.Engine
	sched *pull.Scheduler
	// cl is this replica's membership and leases (cluster.go); nil with
	// SQLite.
	cl *cluster.Cluster
	// replica is this replica's id (cluster.NewID) when the store is
	// shared: its leases' owner and its outbox claims' claimed_by.
	replica string
	// stopFollow stops the engine following the other replicas' writes
	// (cluster.go); nil with SQLite.
	stopFollow func()
	sys        *actions.System
	// silences are the API's silences, kept in the store.
	silences *policy.Silences
	page     *statuspage.Page
	mon      *health.Monitor
	rec      *metrics.Recorder
	srv      *http.Server
	// lnsMu guards lns while New appends to it: the notifiers' links
	// (checkURL) read it from the moment the actions start, before.
	lnsMu sync.Mutex
	lns   []net.Listener
	mux   *http.ServeMux
	// lim bounds the connections of every listener (limits.go).
	lim          *netlimit.Limiter
	bodyTimeouts atomic.Uint64 // requests answered 408 by guard

	// idSecret is the store's installation secret, from which the ids of
	// config checks that set none are derived (checkIDs).
	idSecret []byte
	// boot is every live check of the store, read once while New runs
	// (nil after): what checkIDs and presyncRoutes look up at start, so
	// that a restart reads 100,000 checks once rather than three times.
	boot    []model.CheckState
	bootIdx map[model.CheckID]int // d.boot's index by id, once a write needs it

	// badges serves the status badges (/badge/, /b/); its keys give the
	// API's badge URLs.
	badges *badge.Handler

	cfg   atomic.Pointer[config.Config]
	chans atomic.Pointer[[]model.Channel] // the running config's channels (the status page reads them)
	pings atomic.Pointer[http.Handler]
	api   atomic.Pointer[http.Handler]

	reloadMu sync.Mutex // serialises Reload

	runMu   sync.Mutex
	running bool
	bg      sync.WaitGroup // background goroutines (dead man's switch, sd_notify)

	// ticker paces the background beats (dead man's switch, WATCHDOG=1):
	// it returns a channel ticking every period and a stop function. New
	// sets realTicker; tests replace it before Run to beat by hand.
	ticker func(every time.Duration) (<-chan time.Time, func())
}

// timedReports is the engine as the pull scheduler sees it: the checks
// from the engine, each result reported through the metrics recorder,
// which times it.
type timedReports struct {
	*watchdog.Engine
	rep metrics.Reporter
}

// Report reports res through the recorder.
func (t timedReports) Report(ctx context.Context, id model.CheckID, res model.Result) (model.State, error) {
	return t.rep.Report(ctx, id, res)
}

// New opens the store of cfg, starts the engine with cfg's checks and the
// pull scheduler, and listens on cfg.Server.Listen; Run serves. On error,
// everything opened so far is closed again.
func New(ctx context.Context, cfg *config.Config, opts Options) (_ *Daemon, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Daemon{opts: opts, log: opts.Logger, ticker: realTicker}
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	var stateDir string
	if d.st, stateDir, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { d.st.Close() })
	if d.idSecret, err = d.st.InstallationSecret(ctx); err != nil {
		return nil, fmt.Errorf("store %s: %w", storeName(cfg), err)
	}
	if len(cfg.Checks) > manyLookups {
		if d.boot, err = d.st.ListChecks(ctx); err != nil {
			return nil, fmt.Errorf("store %s: %w", storeName(cfg), err)
		}
	}
	ids, err := d.checkIDs(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d.warnLegacyIDs(ids)

	// The engine first; the parts it calls (the pull scheduler, the
	// actions, the status page) are built over it and registered as its
	// hooks before it starts.
	d.rec = metrics.NewRecorder(metrics.RecorderOptions{})
	deadlineLag := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "vitals_deadline_lag_seconds",
		Help:    "How long after a missed deadline the check's down flip was durable.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	d.eng = watchdog.New(d.rec.Store(d.st), watchdog.Options{
		Logger: d.log, // the engine logs flips itself
		Now:    opts.Now,

		RetiredRetention: cfg.Retention.RetiredChecks.D(),
		Leased:           leased(cfg),
		// The recorder's wrapper times the writes but is no store.Feed:
		// the feed is the store's own.
		Feed: feedOf(d.st),
		ObserveDeadline: func(deadline, committed time.Time, to model.Status) {
			if to == model.StatusDown {
				deadlineLag.Observe(committed.Sub(deadline).Seconds())
			}
		},
	})
	// Badges read the engine's state with the engine's clock; their keys
	// come from the installation secret, so their URLs survive restarts.
	// The label of the all-checks badge is the status page's title, which
	// takes effect at the next restart like the rest of status_page.
	d.badges = badge.New(badge.Options{Engine: d.eng, Secret: d.idSecret, Label: cfg.StatusPage.Title, Now: opts.Now})
	lateness := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "vitals_pull_lateness_seconds",
		Help:    "How late pull probes started against their schedule (waiting for a free slot included).",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	var owns func(model.CheckID) bool
	if leased(cfg) {
		owns = d.eng.Owns
	}
	d.sched = pull.New(timedReports{d.eng, d.rec.Reporter(d.eng)}, pull.Options{MaxConcurrent: cfg.Pull.MaxConcurrent, Logger: d.log, Owns: owns,
		Observe: func(id model.CheckID, scheduled, started time.Time, r model.Result) {
			lateness.Observe(started.Sub(scheduled).Seconds())
			if r.CertExpiring != nil { // the certificate notice, once per certificate
				if cs, ok := d.eng.Get(id); ok {
					d.sys.CertNotice(cs.Check, *r.CertExpiring)
				}
			}
		}})
	// Actions: notifiers, supervised processes, dependencies, maintenance.
	if leased(cfg) {
		d.replica = cluster.NewID()
	}
	d.sys = actions.NewSystem(d.st, actions.SystemOptions{Logger: d.log, Registry: opts.Notifiers,
		Dispatcher: outbox.DispatcherOptions{Name: d.replica},                                     // "": the dispatcher's default (one process)
		Deps:       notify.Deps{CheckURL: d.checkURL, StatusURL: d.statusURL}, Checks: d.eng.List, // Checks: what an alertmanager channel re-sends
		Status: func(id model.CheckID) (string, model.Status, bool) {
			cs, ok := d.eng.Get(id)
			return cs.Check.Name, cs.State.Status, ok
		}})
	d.page = statuspage.New(statuspage.Options{Engine: d.eng, Store: d.st, Public: cfg.StatusPage.Public, PublicTag: cfg.StatusPage.PublicTag,
		Title: cfg.StatusPage.Title, Authorize: d.authorized(config.ReadOnly), Logger: d.log, Channels: d.channels})
	cleanup = append(cleanup, func() { d.page.Close() })
	if err := d.hook(); err != nil {
		return nil, err
	}
	// The actions (channels, policy) must be in place before the engine
	// starts: Start fires the deadlines that passed while the watchdog was
	// down, and their flips are planned then.
	if err := d.sys.Apply(cfg.Actions(ids)); err != nil {
		return nil, fmt.Errorf("actions: %w", err)
	}
	cleanup = append(cleanup, d.sys.Stop) // supervised processes started by Apply
	// So is the policy's memory (alerts absorbed by a parent, or held).
	if err := d.sys.Restore(ctx); err != nil {
		return nil, fmt.Errorf("actions: %w", err)
	}
	// And so are the channels of the config's checks, which the planner
	// reads from their stored definitions.
	checks, err := d.presyncRoutes(ctx, cfg, ids)
	if err != nil {
		return nil, err
	}
	// Silences created through the API live in the store, so that they
	// hold alerts across restarts and on every replica; the file of
	// earlier versions is imported once.
	if err := d.openSilences(ctx, cfg, stateDir); err != nil {
		return nil, err
	}
	cleanup = append(cleanup, d.silences.Stop)
	startEngine := d.eng.Start
	if d.boot != nil && !leased(cfg) { // boot is what the store holds now (presyncRoutes keeps it so)
		startEngine = func(ctx context.Context) error { return d.eng.StartWith(ctx, d.boot) }
	}
	if err := startEngine(ctx); err != nil {
		return nil, fmt.Errorf("start engine: %w", err)
	}
	cleanup = append(cleanup, func() { d.eng.Close() })
	if reasons := d.guard(nil, cfg); len(reasons) > 0 {
		return nil, fmt.Errorf("refusing to start (the store keeps every check): %s", strings.Join(reasons, "; "))
	}
	_, err = d.applyChecks(ctx, cfg, checks)
	d.boot, d.bootIdx = nil, nil
	if err != nil {
		return nil, err
	}
	if err := d.sys.Start(ctx); err != nil { // stopped by the cleanup added after Apply
		return nil, fmt.Errorf("start actions: %w", err)
	}
	refs, _ := d.eng.Refs()
	d.sys.Late().Seed(refs) // checks late across the restart
	if err := d.sched.Start(); err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { d.sched.Close() })

	d.mon = health.New(health.Options{Logger: d.log, ServiceID: "vitals", Version: opts.Version, Authorize: d.authorized(config.ReadOnly)})
	if err := d.mon.Register(health.Check{Name: "store", Kinds: health.Readiness, Timeout: 2 * time.Second, Interval: 5 * time.Second, NoStagger: true,
		Checker: health.CheckerFunc(d.checkStore)}); err != nil {
		return nil, err
	}
	if err := d.mon.Register(health.Check{Name: "pull-scheduler", Kinds: health.Liveness, Interval: 5 * time.Second, NoStagger: true,
		Checker: health.CheckerFunc(d.sched.Check)}); err != nil {
		return nil, err
	}
	if err := d.mon.Start(); err != nil {
		return nil, err
	}
	cleanup = append(cleanup, func() { d.mon.Stop(context.Background()) })

	// The per-check series are written by metrics.Handler, straight in
	// the text format, not gathered through the registry.
	checkMetrics := metrics.New(d.eng, metrics.Options{Recorder: d.rec, OmitPerCheck: true, MaxTags: cfg.Metrics.MaxTags})
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		checkMetrics,
		metrics.SQLite(d.st, ""), // the group-commit writer's counters, read on each scrape
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		lateness,
		deadlineLag,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vitals_pull_probes_total", Help: "Probes run by the pull scheduler."},
			func() float64 { return float64(d.sched.Stats().Probes) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "vitals_pull_skipped_total", Help: "Probe turns skipped because the previous probe of the check was still running."},
			func() float64 { return float64(d.sched.Stats().Skipped) }),
	)
	reg.MustRegister(d.serverMetrics()...)
	d.mux = http.NewServeMux()
	d.mux.Handle("/ping/", swapped(&d.pings))
	d.mux.Handle("/api/", swapped(&d.api))
	if cfg.Metrics.PerCheckSeries() {
		d.mux.Handle("GET /metrics", metrics.Handler(reg, checkMetrics))
	} else {
		d.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	d.mux.HandleFunc("/-/reload", d.serveReload)
	d.mux.Handle("/status/", http.StripPrefix("/status", d.page))
	// Badges need no API key: they are embedded in READMEs, and their
	// URLs are their secret.
	d.mux.Handle("/badge/", d.badges)
	d.mux.Handle("/b/", d.badges)
	d.mux.Handle("GET /{$}", http.RedirectHandler("/status/", http.StatusFound))
	d.mon.Mount(d.mux)
	// What a client can hold is bounded: connections at accept time (lim),
	// the headers by ReadHeaderTimeout, the body and the answer by guard's
	// deadlines (limits.go).
	d.lim = d.newLimiter()
	d.srv = &http.Server{
		Handler:           d.bounded(d.mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	// The status page's live streams never end on their own: close them
	// when Shutdown starts, or it would wait for them until its timeout.
	d.srv.RegisterOnShutdown(func() { d.page.Close() })
	for _, addr := range cfg.Server.Listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		d.lnsMu.Lock()
		d.lns = append(d.lns, d.lim.Listen(ln))
		d.lnsMu.Unlock()
		cleanup = append(cleanup, func() { ln.Close() })
	}
	// Last, once the address other replicas may forward to is known: the
	// leases, and with them the checks' timers and probes.
	if d.cl = d.newCluster(cfg); d.cl != nil {
		if err := d.cl.Start(); err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() { d.closeCluster(context.Background()) })
		d.follow()
	}
	d.logStart(cfg)
	return d, nil
}

// hook registers the engine's hooks, in the order they are called: the
// actions' planner; then the listeners, the pull scheduler, the actions'
// dispatcher and the status page.
func (d *Daemon) hook() error {
	if err := d.eng.AddPlanner(d.sys.Planner()); err != nil {
		return err
	}
	for _, l := range []model.Listener{d.sched, d.sys.Dispatcher(), d.page, d.sys.Late()} {
		if err := d.eng.AddListener(l); err != nil {
			return err
		}
	}
	return nil
}

// channels returns the running config's channels (none before the
// first apply).
func (d *Daemon) channels() []model.Channel {
	if p := d.chans.Load(); p != nil {
		return *p
	}
	return nil
}

// Addrs returns the addresses the daemon listens on (with the ports chosen
// for ":0").
func (d *Daemon) Addrs() []net.Addr {
	out := make([]net.Addr, len(d.lns))
	for i, ln := range d.lns {
		out[i] = ln.Addr()
	}
	return out
}

// Engine returns the daemon's engine (for tests and embedding).
func (d *Daemon) Engine() *watchdog.Engine { return d.eng }

// Store returns the daemon's store (SQLite or PostgreSQL).
func (d *Daemon) Store() store.Store { return d.st }

// Config returns the config in effect. When it was loaded from a file
// (Options.ConfigPath) it is kept without its checks
// (config.Config.WithoutChecks): the engine holds them.
func (d *Daemon) Config() *config.Config { return d.cfg.Load() }

// Handler returns the daemon's HTTP handler (what its listeners serve).
func (d *Daemon) Handler() http.Handler { return d.srv.Handler }

// Run serves until ctx is done, then shuts down: readiness turns DOWN and
// the server keeps serving for server.drain_period, then it stops
// accepting and waits for in-flight requests (at most
// server.shutdown_timeout), then the scheduler, the engine, the health
// monitor and the store are closed, in that order. It returns when all of
// them have stopped. Run may be called once. The drain period and the
// shutdown timeout are those of the config in effect when the shutdown
// begins (a reload changes them).
func (d *Daemon) Run(ctx context.Context) error {
	d.runMu.Lock()
	if d.running {
		d.runMu.Unlock()
		return errors.New("daemon: Run called twice")
	}
	d.running = true
	d.runMu.Unlock()

	bgctx, stopBG := context.WithCancel(ctx)
	d.startBackground(bgctx)
	systemd.Notify("READY=1") //nolint:errcheck // best effort, like sd_notify
	err := d.mon.Serve(ctx, d.srv, health.ServeOptions{
		Listeners: d.lns,
		Periods: func() (drain, shutdown time.Duration) {
			srv := d.cfg.Load().Server // a reload may have changed them
			drain = srv.DrainPeriod.D()
			if drain <= 0 {
				drain = -1 // no drain: readiness is left UP
			}
			return drain, srv.ShutdownTimeout.D()
		},
		OnShutdown: func() {
			systemd.Notify("STOPPING=1") //nolint:errcheck // best effort
			// The beats stop with ctx; when a listener failed, here.
			stopBG()
		},
		AfterShutdown: func(ctx context.Context) error {
			d.bg.Wait()
			d.sys.Stop() // the dispatcher and the supervised processes
			d.silences.Stop()
			return errors.Join(d.sched.Close(), d.closeCluster(ctx), d.page.Close(), d.eng.Close(), d.mon.Stop(ctx), d.st.Close())
		},
	})
	d.log.Info("stopped")
	return err
}

// checkStore is the readiness check: the store answers a read, and makes
// a write durable (ProbeWrite), so that a full disk or a read-only file
// system, which refuse every ping with 503, also turn /readyz DOWN and a
// load balancer sends pings elsewhere.
func (d *Daemon) checkStore(ctx context.Context) error {
	if err := d.readStore(ctx); err != nil {
		return err
	}
	if err := d.st.ProbeWrite(ctx); err != nil {
		return fmt.Errorf("store write: %w", err)
	}
	return nil
}

// storeStatus answers the API's unauthenticated GET /api/vN/status/
// (healthchecks.io's "SELECT 1") from the readiness check's latest result,
// refreshed every 5 s in the background, so that a flood of anonymous
// requests never reaches the database; before that check has first run, it
// reads the store once per request.
func (d *Daemon) storeStatus(ctx context.Context) error {
	res, ok := d.mon.Result("store")
	if !ok || res.LastChecked.IsZero() {
		return d.readStore(ctx)
	}
	if res.Status != health.StatusUp {
		return fmt.Errorf("store: %s", res.Error)
	}
	return nil
}

// readStore reports whether the store answers a read, without a write.
func (d *Daemon) readStore(ctx context.Context) error {
	if _, _, err := d.st.GetCheck(ctx, model.CheckID{}); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("store read: %w", err)
	}
	return nil
}

// swapped serves whatever handler p holds now.
func swapped(p *atomic.Pointer[http.Handler]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*p.Load()).ServeHTTP(w, r) })
}

package health_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vitals-go/vitals/health"
)

// A service registers its checks, starts the Monitor and mounts the probes
// next to its own routes.
func Example() {
	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	m.Register(health.Check{
		Name:     "db",
		Checker:  health.CheckerFunc(func(ctx context.Context) error { return nil }), // db.PingContext
		OnDemand: true,                                                               // so this example runs it at once
	})
	m.Register(health.Check{
		Name:        "cache",
		Checker:     health.CheckerFunc(func(ctx context.Context) error { return errors.New("connection refused") }),
		NonCritical: true,
		OnDemand:    true,
	})
	if err := m.Start(); err != nil {
		panic(err)
	}
	defer m.Stop(context.Background())

	mux := http.NewServeMux()
	m.Mount(mux)

	for _, path := range []string{"/livez", "/readyz", "/readyz/cache"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Print(path, " ", w.Code, " ", w.Body)
	}
	// Output:
	// /livez 200 {"status":"UP"}
	// /readyz 200 {"status":"DEGRADED"}
	// /readyz/cache 503 {"status":"DOWN"}
}

// Callers that the authoriser allows see every check with ?verbose.
func ExampleBearerToken() {
	m := health.New(health.Options{
		Logger:    slog.New(slog.DiscardHandler),
		Authorize: health.BearerToken("s3cret"),
	})
	m.Register(health.Check{
		Name:     "db",
		Checker:  health.CheckerFunc(func(ctx context.Context) error { return errors.New("dial postgres://app:hunter2@db:5432: refused") }),
		OnDemand: true,
	})

	r := httptest.NewRequest("GET", "/readyz?verbose", nil)
	w := httptest.NewRecorder()
	m.ServeHTTP(w, r)
	fmt.Print("anonymous: ", w.Body)

	r.Header.Set("Authorization", "Bearer s3cret")
	w = httptest.NewRecorder()
	m.ServeHTTP(w, r)
	res, _ := m.Result("db")
	fmt.Println("authorised sees the checks:", w.Code, res.Error)
	// Output:
	// anonymous: {"status":"DOWN"}
	// authorised sees the checks: 503 dial postgres://app:xxxxx@db:5432: refused
}

// A *sql.DB's PingContext plugs in as it is.
func ExampleCheckerFunc() {
	var db *sql.DB // the service's own pool
	m := health.New(health.Options{})
	m.Register(health.Check{
		Name:             "postgres",
		Checker:          health.CheckerFunc(db.PingContext),
		Kinds:            health.Readiness,
		Timeout:          2 * time.Second,
		Interval:         5 * time.Second,
		FailureThreshold: 3,
	})
}

// Observe attaches a measured value to a check's result.
func ExampleObserve() {
	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	m.Register(health.Check{
		Name: "pool",
		Checker: health.CheckerFunc(func(ctx context.Context) error {
			health.Observe(ctx, 42, "percent")
			return nil
		}),
		OnDemand: true,
	})
	m.Report(context.Background(), health.Readiness)
	res, _ := m.Result("pool")
	fmt.Println(res.Status, res.Observation.Value, res.Observation.Unit)
	// Output: UP 42 percent
}

// A subscriber hears every change of a probe's status until it cancels.
func ExampleMonitor_Subscribe() {
	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	cancel := m.Subscribe(health.Subscriber{
		OnStatus: func(e health.StatusEvent) {
			fmt.Printf("%v: %v -> %v (%s)\n", e.Kinds, e.From, e.To, e.Reason)
		},
	})
	m.Drain()
	cancel()
	m.Undrain() // not heard
	// Output:
	// readiness: UP -> DOWN (draining)
	// liveness+readiness+startup: UP -> DOWN (draining)
}

// Serve runs the application's server and drains it on SIGTERM: readiness
// turns DOWN at once, requests are served for the drain period, then the
// server shuts down.
func ExampleMonitor_Serve() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	m := health.New(health.Options{})
	// m.Register(...)
	m.Start()
	defer m.Stop(context.Background())

	mux := http.NewServeMux()
	m.Mount(mux)
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := m.Serve(ctx, srv, health.ServeOptions{DrainPeriod: 5 * time.Second}); err != nil {
		slog.Error("server", "error", err)
	}
}

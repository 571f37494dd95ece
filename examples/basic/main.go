// Command basic is the smallest real service with health endpoints: a worker
// loop watched for stalls (liveness), a scratch directory that must be
// writable (readiness) and a graceful drain on SIGTERM.
//
//	go run ./examples/basic
//	curl -i http://127.0.0.1:8080/readyz
//	curl -H 'Authorization: Bearer demo' 'http://127.0.0.1:8080/healthz?verbose'
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
	"sync"
	"syscall"
	"time"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
)

func main() { os.Exit(run()) }

func run() int {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	token := flag.String("token", "demo", "bearer token that may see details")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	m := health.New(health.Options{
		Logger:        log,
		Authorize:     health.BearerToken(*token),
		AdminOverride: true,
		Aliases:       map[string]health.Kind{"/health": health.All},
	})

	// A background worker that beats every second; a stall fails liveness.
	stall := checks.NewStall("worker", 5*time.Second)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				stall.Beat()
			}
		}
	})
	defer wg.Wait()
	m.Register(health.Check{Name: "worker", Checker: stall, Kinds: health.Liveness | health.Readiness, Interval: 2 * time.Second})

	// The scratch directory must take a real write (create, write, fsync, remove).
	m.Register(health.Check{Name: "scratch", Checker: checks.NewDiskWrite(os.TempDir(), checks.DiskWriteOptions{}),
		ComponentType: "system", Interval: 5 * time.Second})

	if err := m.Start(); err != nil {
		log.Error("start", "error", err)
		return 1
	}
	defer m.Stop(context.Background())

	mux := http.NewServeMux()
	m.Mount(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "error", err)
		return 1
	}
	fmt.Printf("serving; try:\n  curl -i http://%[1]s/readyz\n  curl -H 'Authorization: Bearer %[2]s' 'http://%[1]s/healthz?verbose'\n", ln.Addr(), *token)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := m.Serve(ctx, srv, health.ServeOptions{Listeners: []net.Listener{ln}, DrainPeriod: 3 * time.Second}); err != nil {
		log.Error("serve", "error", err)
		return 1
	}
	return 0
}

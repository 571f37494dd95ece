// Command healthbench serves a health.Monitor with ten checks next to a
// handler that writes the same fixed bytes, so that a load tool can compare
// the two on one server in one run (see scripts/bench-http.sh).
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
	"syscall"
	"time"

	"github.com/vitals-go/vitals/health"
)

func main() { os.Exit(run()) }

func run() int {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	for i := range 10 {
		m.Register(health.Check{
			Name:      fmt.Sprintf("dep%d", i),
			Checker:   health.CheckerFunc(func(context.Context) error { return nil }),
			Interval:  time.Second,
			NoStagger: true,
		})
	}
	if err := m.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer m.Stop(context.Background())

	fixed := []byte(`{"status":"UP"}` + "\n")
	mux := http.NewServeMux()
	m.Mount(mux)
	mux.HandleFunc("/fixed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(fixed)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(ln.Addr().String())
	if err := m.Serve(ctx, &http.Server{Handler: mux}, health.ServeOptions{Listeners: []net.Listener{ln}, DrainPeriod: time.Millisecond}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

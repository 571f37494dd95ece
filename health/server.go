package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve serves srv on ln until ctx is done, then shuts down gracefully:
// readiness turns DOWN at once (see [Monitor.Drain]) while srv keeps serving
// for Options.DrainPeriod, so that load balancers and orchestrators stop
// sending traffic; then srv.Shutdown waits up to Options.ShutdownTimeout for
// in-flight requests. Liveness stays UP throughout.
//
// Serve returns nil after a clean shutdown, the error of srv.Shutdown when
// requests outlived the timeout, or the error that stopped srv from serving.
// It returns only when srv has stopped serving.
func (m *Monitor) Serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.Drain()
	log := m.opts.Logger.With("addr", ln.Addr().String())
	log.Info("health: shutting down: serving while draining", "drain_period", m.opts.DrainPeriod.String())
	t := time.NewTimer(m.opts.DrainPeriod)
	defer t.Stop()
	select {
	case <-t.C:
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), m.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	log.Info("health: server stopped", "error", err)
	return err
}

// ListenAndServe listens on srv.Addr (":http" when empty) and calls
// [Monitor.Serve].
func (m *Monitor) ListenAndServe(ctx context.Context, srv *http.Server) error {
	addr := srv.Addr
	if addr == "" {
		addr = ":http"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return m.Serve(ctx, srv, ln)
}

// ServeHealth serves only the health endpoints on ln, apart from the
// application's own server, so that probes are answered even when the main
// server is saturated. It drains like [Monitor.Serve]: when ctx is done it
// keeps answering (readiness DOWN) for the drain period, then stops.
func (m *Monitor) ServeHealth(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	m.Mount(mux)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	return m.Serve(ctx, srv, ln)
}

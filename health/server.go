package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// ServeOptions configure one call of [Monitor.Serve]. The zero value listens
// on srv.Addr and drains for 5 seconds.
type ServeOptions struct {
	// Listeners are the listeners srv serves, all with the same handler.
	// Default: one listener on srv.Addr (":http" when empty), as
	// http.Server.ListenAndServe opens.
	Listeners []net.Listener

	// DrainPeriod is how long Serve keeps serving after readiness has
	// turned DOWN on shutdown, so that load balancers notice before the
	// listeners close. Negative: no drain; readiness is left as it is and
	// the shutdown starts at once. Default: 5 seconds.
	DrainPeriod time.Duration

	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// after the drain period (srv.Shutdown). Default: 10 seconds.
	ShutdownTimeout time.Duration

	// Periods, if set, is called once when the shutdown begins, and its
	// answers replace DrainPeriod and ShutdownTimeout (same meaning, same
	// defaults): for a server whose settings can change while it runs,
	// such as on a config reload. Default: nil.
	Periods func() (drain, shutdown time.Duration)

	// OnShutdown, if set, is called once when the shutdown begins (ctx is
	// done, or a listener failed), after readiness has turned DOWN and
	// before the drain period: the moment to tell a supervisor that the
	// service is stopping. Default: nil.
	OnShutdown func()

	// AfterShutdown, if set, is called once every listener has stopped
	// serving and srv.Shutdown has returned, with a context that ends when
	// what is left of ShutdownTimeout runs out: the place to close what the
	// handlers used, in order. Its error is returned with Serve's. Default:
	// nil.
	AfterShutdown func(ctx context.Context) error
}

func (o ServeOptions) withDefaults() ServeOptions {
	if o.DrainPeriod == 0 {
		o.DrainPeriod = 5 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	return o
}

// Serve serves srv on opts.Listeners (or on srv.Addr) until ctx is done,
// then shuts down gracefully: readiness turns DOWN at once (see
// [Monitor.Drain]) while srv keeps serving for opts.DrainPeriod, so that
// load balancers and orchestrators stop sending traffic; then srv.Shutdown
// waits up to opts.ShutdownTimeout for in-flight requests; then
// opts.AfterShutdown runs. Liveness stays UP throughout. When a listener
// fails, Serve shuts down the same way without the drain.
//
// Serve returns nil after a clean shutdown, or the errors that stopped a
// listener from serving, that srv.Shutdown returned (requests outlived the
// timeout) and that AfterShutdown returned. It returns only when srv has
// stopped serving on every listener. Serve neither starts nor stops the
// Monitor's checks.
func (m *Monitor) Serve(ctx context.Context, srv *http.Server, opts ServeOptions) error {
	opts = opts.withDefaults()
	lns := opts.Listeners
	if len(lns) == 0 {
		addr := srv.Addr
		if addr == "" {
			addr = ":http"
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		lns = []net.Listener{ln}
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- srv.Serve(ln) }()
	}
	log := m.opts.Logger.With("addr", lns[0].Addr().String())

	pending := len(lns) // srv.Serve calls that have not returned
	var serveErr error
	select {
	case serveErr = <-errc: // a listener failed: no drain
		pending--
	case <-ctx.Done():
	}
	if opts.Periods != nil {
		d, s := opts.Periods()
		p := ServeOptions{DrainPeriod: d, ShutdownTimeout: s}.withDefaults()
		opts.DrainPeriod, opts.ShutdownTimeout = p.DrainPeriod, p.ShutdownTimeout
	}
	drain := opts.DrainPeriod > 0 && serveErr == nil
	if drain {
		m.Drain()
	}
	if opts.OnShutdown != nil {
		opts.OnShutdown()
	}
	if drain {
		log.Info("health: shutting down: serving while draining", "drain_period", opts.DrainPeriod.String())
		t := time.NewTimer(opts.DrainPeriod)
		select {
		case <-t.C:
		case serveErr = <-errc:
			pending--
			t.Stop()
		}
	} else {
		log.Info("health: shutting down")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.ShutdownTimeout)
	defer cancel()
	errs := []error{serveErr, srv.Shutdown(sctx)}
	for range pending {
		errs = append(errs, <-errc)
	}
	for i, err := range errs {
		if errors.Is(err, http.ErrServerClosed) {
			errs[i] = nil
		}
	}
	log.Info("health: server stopped", "error", errors.Join(errs...))
	if opts.AfterShutdown != nil {
		errs = append(errs, opts.AfterShutdown(sctx))
	}
	return joinErrors(errs)
}

// joinErrors is errors.Join, except that a single error is returned as it
// is.
func joinErrors(errs []error) error {
	var only error
	n := 0
	for _, err := range errs {
		if err != nil {
			only = err
			n++
		}
	}
	if n == 1 {
		return only
	}
	return errors.Join(errs...)
}

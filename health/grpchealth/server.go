package grpchealth

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpchealthsrv "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vitals-go/vitals/health"
)

// The serving statuses, for brevity.
const (
	serving    = healthpb.HealthCheckResponse_SERVING
	notServing = healthpb.HealthCheckResponse_NOT_SERVING
)

// Options configure a [Server]. The zero value serves the service "" as the
// Monitor's readiness and nothing else.
type Options struct {
	// Probes maps gRPC service names to the Monitor's probes. The service
	// is SERVING when its probe is UP or DEGRADED and NOT_SERVING when it is
	// DOWN, exactly as the probe's HTTP endpoint answers 200 or 503. The
	// service "" (the whole server, what grpc-health-probe and the kubelet
	// ask by default) is health.Readiness unless Probes names it. For the
	// kubelet's gRPC probes with a service name per probe, use for example
	//
	//	Probes: map[string]health.Kind{"liveness": health.Liveness, "readiness": health.Readiness, "startup": health.Startup}
	//
	// Default: {"": health.Readiness}.
	Probes map[string]health.Kind

	// Services maps gRPC service names to the checks they depend on, such as
	// {"accounts.v1.Accounts": {"db", "cache"}}. A service is NOT_SERVING
	// when one of its critical checks is DOWN, when one of its checks is not
	// registered, while the Monitor drains and while startup has not
	// completed; otherwise it is SERVING (a DOWN non-critical check degrades
	// it, and DEGRADED counts as SERVING). Default: none.
	Services map[string][]string

	// PerCheck serves every registered check as a service of its own name as
	// well: SERVING while the check is UP (whatever its criticality, like
	// /readyz/<check>), NOT_SERVING while it is DOWN, draining or starting.
	// Names taken by Probes or Services keep their meaning. Note that List
	// answers ResourceExhausted past 100 services (grpc-go's limit).
	// Default: false.
	PerCheck bool
}

// Server serves the standard grpc.health.v1.Health service (Check, Watch
// and List) from a [health.Monitor]. Its answers come from grpc-go's own
// health server, driven by a subscription to the Monitor: a check result, a check
// transition or a probe's status change (drain included) recomputes the
// serving statuses at once, and Watch streams receive the change without
// polling. An RPC never runs a check, not even an on-demand one: statuses
// are computed with [health.Monitor.Peek].
//
// Unknown services get codes.NotFound from Check and SERVICE_UNKNOWN from
// Watch (whose stream stays open in case the service appears), as
// grpc-go's health server does, so grpc-health-probe, the kubelet's gRPC
// probe and gRPC's client-side health checking work unchanged.
//
// Lifecycle: [New], [Server.Register] on a grpc.Server, [Server.Start];
// [Server.Stop] before the grpc.Server's GracefulStop, because GracefulStop
// waits for Watch streams and Stop is what ends them. Until Start every
// configured service is NOT_SERVING; after Stop every service is
// NOT_SERVING for good. All methods are safe for concurrent use.
type Server struct {
	healthpb.UnimplementedHealthServer

	m        *health.Monitor
	probes   map[string]health.Kind
	services map[string][]string
	perCheck bool
	inner    *grpchealthsrv.Server

	kick   chan struct{} // capacity 1: latest wins
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// last is what the update loop has set on inner; owned by Start and
	// then by the loop goroutine.
	last map[string]healthpb.HealthCheckResponse_ServingStatus

	mu          sync.Mutex
	started     bool
	stopped     bool
	unsubscribe func() // ends the Monitor subscription; set by Start
	watches     map[*watchStream]struct{}
}

var _ healthpb.HealthServer = (*Server)(nil)

// ErrStarted is returned by [Server.Start] when the Server was started
// before, or stopped.
var ErrStarted = errors.New("grpchealth: server already started or stopped")

// New returns a Server serving m as opts say. It starts nothing; call
// [Server.Start]. It returns an error when a service name is configured both
// in Probes and in Services, when a probe kind is not a valid
// [health.Kind], or when a service of Services names no check.
func New(m *health.Monitor, opts Options) (*Server, error) {
	if m == nil {
		return nil, errors.New("grpchealth: nil Monitor")
	}
	s := &Server{
		m:        m,
		probes:   map[string]health.Kind{"": health.Readiness},
		services: make(map[string][]string, len(opts.Services)),
		perCheck: opts.PerCheck,
		inner:    grpchealthsrv.NewServer(),
		kick:     make(chan struct{}, 1),
		last:     make(map[string]healthpb.HealthCheckResponse_ServingStatus),
		watches:  make(map[*watchStream]struct{}),
	}
	var errs []error
	for name, k := range opts.Probes {
		if k == 0 || k&^health.All != 0 {
			errs = append(errs, fmt.Errorf("grpchealth: service %q: invalid probe kind %v", name, k))
			continue
		}
		s.probes[name] = k
	}
	for name, checks := range opts.Services {
		if _, ok := opts.Probes[name]; ok || name == "" {
			errs = append(errs, fmt.Errorf("grpchealth: service %q is configured as a probe and as a set of checks", name))
			continue
		}
		if len(checks) == 0 {
			errs = append(errs, fmt.Errorf("grpchealth: service %q names no check", name))
			continue
		}
		s.services[name] = append([]string(nil), checks...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// grpc-go's server starts with "" SERVING: nothing is known yet.
	for name := range s.probes {
		s.inner.SetServingStatus(name, notServing)
	}
	for name := range s.services {
		s.inner.SetServingStatus(name, notServing)
	}
	return s, nil
}

// Register registers s as the grpc.health.v1.Health service of r, such as
// a *grpc.Server.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	healthpb.RegisterHealthServer(r, s)
}

// Start computes the serving statuses from the Monitor's current results
// and follows them (a [health.Monitor.Subscribe] subscription and a
// goroutine) until [Server.Stop]. It returns [ErrStarted] when called twice
// or after Stop.
func (s *Server) Start() error {
	s.mu.Lock()
	if s.started || s.stopped {
		s.mu.Unlock()
		return ErrStarted
	}
	s.started = true
	s.wg.Add(1) // before unlocking: a concurrent Stop waits for the loop
	// Results cover what transitions miss (a check registered while the
	// Monitor runs changes a probe without a transition event); status
	// events cover the drain. Subscribed before unlocking, so that a
	// concurrent Stop cancels it.
	s.unsubscribe = s.m.Subscribe(health.Subscriber{
		OnResult: func(health.Result) { s.poke() },
		OnCheck:  func(health.CheckEvent) { s.poke() },
		OnStatus: func(health.StatusEvent) { s.poke() },
	})
	s.mu.Unlock()

	s.update()
	go s.loop()
	return nil
}

// poke asks the loop for an update.
func (s *Server) poke() {
	select {
	case s.kick <- struct{}{}:
	default: // an update is already due; it will read the latest state
	}
}

func (s *Server) loop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
			s.update()
		}
	}
}

// update recomputes every service's status and sets those that changed.
func (s *Server) update() {
	for name, st := range s.statuses() {
		if old, ok := s.last[name]; ok && old == st {
			continue
		}
		s.last[name] = st
		s.inner.SetServingStatus(name, st)
	}
}

// statuses computes the serving status of every service from the results
// recorded so far.
func (s *Server) statuses() map[string]healthpb.HealthCheckResponse_ServingStatus {
	out := make(map[string]healthpb.HealthCheckResponse_ServingStatus, len(s.probes)+len(s.services))
	for name, k := range s.probes {
		out[name] = servingIf(s.m.Peek(k).Status != health.StatusDown)
	}
	if len(s.services) == 0 && !s.perCheck {
		return out
	}
	all := s.m.Peek(health.All)
	results := make(map[string]*health.Result, len(all.Checks))
	for i := range all.Checks {
		results[all.Checks[i].Name] = &all.Checks[i]
	}
	blocked := all.Reason != "" // draining or starting
	for name, checks := range s.services {
		ok := !blocked
		for _, c := range checks {
			r := results[c]
			if r == nil || (r.Status == health.StatusDown && r.Critical) {
				ok = false
			}
		}
		out[name] = servingIf(ok)
	}
	if s.perCheck {
		for i := range all.Checks {
			r := &all.Checks[i]
			if _, taken := out[r.Name]; taken {
				continue
			}
			out[r.Name] = servingIf(!blocked && r.Status == health.StatusUp)
		}
	}
	return out
}

func servingIf(ok bool) healthpb.HealthCheckResponse_ServingStatus {
	if ok {
		return serving
	}
	return notServing
}

// Stop stops following the Monitor (its subscription is cancelled), sets
// every service NOT_SERVING for good, and ends every Watch stream once it has sent NOT_SERVING (with
// codes.Unavailable), so that a grpc.Server's GracefulStop can complete.
// It waits for the goroutine Start started. Stop is idempotent; it does
// not stop the Monitor.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	unsubscribe := s.unsubscribe
	s.mu.Unlock()
	if unsubscribe != nil { // nil when never started
		unsubscribe()
	}
	s.cancel()
	s.wg.Wait()
	s.inner.Shutdown() // queues NOT_SERVING to every watcher
	s.mu.Lock()
	for w := range s.watches {
		if w.last != serving {
			w.cancel() // nothing more to tell it
		}
		// Otherwise its NOT_SERVING is queued; Send ends it.
	}
	s.mu.Unlock()
}

// Check answers the status of req's service: SERVING or NOT_SERVING, or
// codes.NotFound for a service that is not served.
func (s *Server) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return s.inner.Check(ctx, req)
}

// List answers the status of every service served (grpc-go answers
// codes.ResourceExhausted past 100 services).
func (s *Server) List(ctx context.Context, req *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	return s.inner.List(ctx, req)
}

// Watch sends the status of req's service at once (SERVICE_UNKNOWN for a
// service that is not served) and then each change, until the client goes
// away or [Server.Stop] is called.
func (s *Server) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	w := &watchStream{ServerStreamingServer: stream, srv: s, ctx: ctx, cancel: cancel, last: -1}
	s.mu.Lock()
	s.watches[w] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watches, w)
		s.mu.Unlock()
	}()
	err := s.inner.Watch(req, w)
	if stream.Context().Err() == nil {
		s.mu.Lock()
		stopped := s.stopped
		s.mu.Unlock()
		if stopped {
			return status.Error(codes.Unavailable, "grpchealth: health service stopped")
		}
	}
	return err
}

// watchStream is one Watch call's stream as grpc-go's health server sees
// it: its context also ends when the Server stops and the stream has been
// told NOT_SERVING.
type watchStream struct {
	grpc.ServerStreamingServer[healthpb.HealthCheckResponse]
	srv    *Server
	ctx    context.Context
	cancel context.CancelFunc
	last   healthpb.HealthCheckResponse_ServingStatus // guarded by srv.mu
}

func (w *watchStream) Context() context.Context { return w.ctx }

func (w *watchStream) Send(r *healthpb.HealthCheckResponse) error {
	err := w.ServerStreamingServer.Send(r)
	w.srv.mu.Lock()
	w.last = r.GetStatus()
	end := w.srv.stopped && w.last != serving
	w.srv.mu.Unlock()
	if end {
		w.cancel()
	}
	return err
}

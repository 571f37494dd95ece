package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// All is every kind: the /healthz probe.
const All = allKinds

// Options configure a [Monitor]. The zero value is useful.
type Options struct {
	// Logger receives transitions (a check or a probe changing status).
	// Default: slog.Default().
	Logger *slog.Logger

	// MaxConcurrency bounds how many checks run at the same time.
	// Default: 8.
	MaxConcurrency int

	// Authorize decides whether a request may see details: the checks in
	// ?verbose and application/health+json answers, and (with AdminOverride)
	// the drain override. Default: nil, nobody sees details. See
	// [BearerToken] and [AllowAll].
	Authorize func(r *http.Request) bool

	// Aliases maps extra paths to the kinds they serve, for deployments
	// that already probe /health, /alive or /ready:
	//
	//	Aliases: map[string]health.Kind{"/alive": health.Liveness, "/ready": health.Readiness, "/health": health.All}
	//
	// Default: none. The paths /livez, /readyz, /startupz and /healthz are
	// always served.
	Aliases map[string]Kind

	// AdminOverride enables POST /-/drain and POST /-/undrain for callers
	// that Authorize allows. Default: false.
	AdminOverride bool

	// MaxErrorLength caps the error text kept for a check, in bytes.
	// Default: 512.
	MaxErrorLength int

	// ServiceID, Version, ReleaseID and Description fill the fields of the
	// same names in application/health+json answers. Optional.
	ServiceID, Version, ReleaseID, Description string
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxConcurrency <= 0 {
		o.MaxConcurrency = 8
	}
	if o.MaxErrorLength <= 0 {
		o.MaxErrorLength = 512
	}
	return o
}

// Result is the latest state of one check.
type Result struct {
	Name     string
	Kinds    Kind
	Critical bool
	// Status is UP or DOWN after thresholds, or DEGRADED for a check with a
	// [Baseline] that succeeds far slower than its normal; a check that has
	// never succeeded is DOWN.
	Status Status
	// Pending is true until the check has run once.
	Pending bool
	// Error is the redacted, capped error text of the latest run, empty when
	// it succeeded.
	Error string
	// Duration of the latest run.
	Duration time.Duration
	// LastChecked is when the latest run finished; zero while Pending.
	LastChecked time.Time
	// LastSuccess is when the latest successful run finished; zero if none.
	LastSuccess time.Time
	// ConsecutiveFailures counts failed runs since the last success.
	ConsecutiveFailures int
	// Observation is what the latest run reported through [Observe], if any.
	Observation *Observation
	// ComponentType is the Check's ComponentType.
	ComponentType string
	// Baseline is the normal duration learned by the check's [Baseline]:
	// zero without one and during its warm-up.
	Baseline time.Duration
}

// Report is the state of one probe: its aggregate status and its checks.
type Report struct {
	Kinds  Kind
	Status Status
	// Reason explains a DOWN that is not a check's failure: "draining" or
	// "starting". Empty otherwise.
	Reason string
	// Checks taking part in the probe, sorted by name.
	Checks []Result
}

// CheckEvent is a check changing status.
type CheckEvent struct {
	From, To Status
	Result   Result
}

// StatusEvent is a probe's aggregate status changing. Kinds is Liveness,
// Readiness, Startup or All (the /healthz probe).
type StatusEvent struct {
	Kinds    Kind
	From, To Status
	Reason   string
}

// Monitor runs checks and serves their results. Create it with [New],
// register checks, then [Monitor.Start] it and [Monitor.Stop] it when done.
// It serves its probes as an http.Handler ([Monitor.ServeHTTP],
// [Monitor.Mount]) and runs a server with a graceful drain
// ([Monitor.Serve]). All methods are safe for concurrent use.
type Monitor struct {
	opts    Options
	created time.Time
	sem     chan struct{}
	routes  map[string]Kind

	ctx    context.Context // cancelled by Stop; parent of every run
	cancel context.CancelFunc

	loops sync.WaitGroup // one per background check loop
	runs  sync.WaitGroup // one per check invocation goroutine

	snap        atomic.Pointer[snapshot]
	hasOnDemand atomic.Bool // any on-demand check registered: requests must refresh

	// notifyMu serialises recording and the delivery of the events it
	// causes, so subscribers see transitions in order. Taken before mu.
	notifyMu sync.Mutex

	mu          sync.Mutex
	checks      map[string]*checkState
	order       []*checkState // sorted by name
	started     bool          // Start was called
	stopped     bool          // Stop was called
	startupUp   bool          // every critical startup check is UP now
	startupDone bool          // latch: startup has completed, for good
	draining    bool
	subs        []*subscription // in the order of Subscribe; replaced, never changed in place
}

type checkState struct {
	cfg Check
	// Guarded by Monitor.mu:
	base        *baseline // nil without Check.Baseline
	res         Result
	everUp      bool
	consecSucc  int
	inflight    bool          // an invocation is running (possibly abandoned)
	demand      chan struct{} // closed when the on-demand run in progress ends
	loopStarted bool
}

// New returns a Monitor with no checks. It does not start anything.
func New(opts Options) *Monitor {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	m := &Monitor{
		opts:    opts,
		created: time.Now(),
		sem:     make(chan struct{}, opts.MaxConcurrency),
		ctx:     ctx,
		cancel:  cancel,
		checks:  make(map[string]*checkState),
		routes: map[string]Kind{
			"/livez":    Liveness,
			"/readyz":   Readiness,
			"/startupz": Startup,
			"/healthz":  All,
		},
	}
	for p, k := range opts.Aliases {
		if k == 0 || k&^All != 0 {
			k = All
		}
		m.routes[p] = k
	}
	m.mu.Lock()
	m.rebuildLocked()
	m.mu.Unlock()
	return m
}

// ErrDuplicate is returned by [Monitor.Register] for a name already taken.
var ErrDuplicate = errors.New("health: duplicate check name")

// ErrStopped is returned when registering with or starting a stopped Monitor.
var ErrStopped = errors.New("health: monitor stopped")

// Register adds a check. Defaults fill its zero fields (see [Check]). A check
// registered after Start begins running at once (after its initial delay and
// stagger). Registering a critical startup check before startup has completed
// holds liveness and readiness DOWN until it passes. Before Start,
// registering is configuration, not a transition: subscribers are not called.
// After Start, a probe that a new (pending) check takes DOWN is reported to
// the subscribers' OnStatus.
func (m *Monitor) Register(c Check) error {
	if err := c.validate(); err != nil {
		return err
	}
	c = c.withDefaults()
	m.notifyMu.Lock()
	defer m.notifyMu.Unlock()
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return ErrStopped
	}
	if _, ok := m.checks[c.Name]; ok {
		m.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrDuplicate, c.Name)
	}
	cs := &checkState{cfg: c}
	if c.Baseline != nil {
		cs.base = newBaseline(*c.Baseline)
	}
	cs.res = Result{
		Name:     c.Name,
		Kinds:    c.Kinds,
		Critical: !c.NonCritical,
		Status:   StatusDown,
		Pending:  true,
		Error:    "pending: not checked yet",

		ComponentType: c.ComponentType,
	}
	m.checks[c.Name] = cs
	m.order = append(m.order, cs)
	sort.Slice(m.order, func(i, j int) bool { return m.order[i].cfg.Name < m.order[j].cfg.Name })
	if c.OnDemand {
		m.hasOnDemand.Store(true)
	}
	if m.started && !c.OnDemand {
		m.startLoopLocked(cs)
	}
	events := m.rebuildLocked()
	m.mu.Unlock()
	if m.startedNow() {
		// Once running, a new pending check changes what the probes
		// answer, and subscribers must hear it.
		m.deliver(nil, events, nil)
	}
	return nil
}

// Critical reports whether the check's failure takes its probes DOWN.
func (c Check) Critical() bool { return !c.NonCritical }

// Start begins running background checks. It returns ErrStopped after Stop
// and an error if already started.
func (m *Monitor) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return ErrStopped
	}
	if m.started {
		return errors.New("health: monitor already started")
	}
	m.started = true
	if m.startupUp {
		m.startupDone = true
	}
	for _, cs := range m.order {
		if !cs.cfg.OnDemand {
			m.startLoopLocked(cs)
		}
	}
	return nil
}

// Stop stops running checks and waits for every goroutine the Monitor
// started, or until ctx is done: a check that ignores its context may keep
// its invocation goroutine alive, and Stop then returns an error naming it.
// Stop on a Monitor that never started returns nil. The endpoints keep
// serving the last results after Stop.
func (m *Monitor) Stop(ctx context.Context) error {
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.cancel()
	m.loops.Wait() // loops return promptly once cancelled
	done := make(chan struct{})
	go func() { m.runs.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		m.mu.Lock()
		var stuck []string
		for _, cs := range m.order {
			if cs.inflight {
				stuck = append(stuck, cs.cfg.Name)
			}
		}
		m.mu.Unlock()
		return fmt.Errorf("health: stop: check runs still in progress, ignoring their context: %v: %w", stuck, ctx.Err())
	}
}

// Drain turns readiness DOWN (reason "draining") without touching liveness.
// Use it before shutting down, so that load balancers stop sending traffic
// while in-flight requests finish. [Monitor.Serve] calls it for you.
func (m *Monitor) Drain() { m.setDraining(true) }

// Undrain reverses [Monitor.Drain].
func (m *Monitor) Undrain() { m.setDraining(false) }

// Draining reports whether the Monitor is draining.
func (m *Monitor) Draining() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.draining
}

func (m *Monitor) setDraining(v bool) {
	m.notifyMu.Lock()
	defer m.notifyMu.Unlock()
	m.mu.Lock()
	if m.draining == v {
		m.mu.Unlock()
		return
	}
	m.draining = v
	events := m.rebuildLocked()
	m.mu.Unlock()
	if v {
		m.opts.Logger.Info("health: draining: readiness is DOWN")
	} else {
		m.opts.Logger.Info("health: drain cancelled")
	}
	m.deliver(nil, events, nil)
}

// Subscriber is what [Monitor.Subscribe] calls. Nil fields are ignored.
type Subscriber struct {
	// OnCheck is called whenever a check changes status.
	OnCheck func(CheckEvent)
	// OnStatus is called whenever a probe's aggregate status changes (see
	// [StatusEvent]), a drain included.
	OnStatus func(StatusEvent)
	// OnResult is called after every check run, changed or not, for
	// metrics.
	OnResult func(Result)
}

// Subscribe registers s to hear the Monitor's results and transitions until
// cancel is called.
//
// Callbacks are called one at a time, in the order of transitions, from the
// goroutine that recorded the result: for one run, OnResult first, then
// OnCheck, then the OnStatus of every probe the run changed; subscribers in
// the order they subscribed. They must not block for long and must not call
// Register, Drain, Undrain, Stop or Report (use Peek, which never runs a
// check).
//
// cancel ends the subscription: after it returns, no further call to s is
// started (one already running in another goroutine may still be
// finishing). It is idempotent and may be called from inside a callback.
func (m *Monitor) Subscribe(s Subscriber) (cancel func()) {
	sub := &subscription{Subscriber: s}
	m.mu.Lock()
	m.subs = append(m.subs, sub)
	m.mu.Unlock()
	return func() {
		if sub.cancelled.Swap(true) {
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		// A copy: deliver may be walking the old slice.
		m.subs = slices.DeleteFunc(slices.Clone(m.subs), func(x *subscription) bool { return x == sub })
	}
}

// subscription is one Subscribe call. Once cancelled, deliver skips it.
type subscription struct {
	Subscriber
	cancelled atomic.Bool
}

// Report returns the state of the probe for kinds (Liveness, Readiness,
// Startup, or All), leaving out the checks named in exclude. It never runs a
// check, except on-demand checks whose result is stale.
func (m *Monitor) Report(ctx context.Context, kinds Kind, exclude ...string) Report {
	m.refreshOnDemand(ctx, kinds)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reportLocked(kinds, exclude, true)
}

// Result returns the latest result of the named check.
func (m *Monitor) Result(name string) (Result, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cs, ok := m.checks[name]
	if !ok {
		return Result{}, false
	}
	return cs.res, true
}

func (m *Monitor) startedNow() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.started
}

// Uptime is the time since New.
func (m *Monitor) Uptime() time.Duration { return time.Since(m.created) }

// reportLocked aggregates the probe for kinds; with collect, the report
// carries the checks' results too. m.mu must be held.
func (m *Monitor) reportLocked(kinds Kind, exclude []string, collect bool) Report {
	rep := Report{Kinds: kinds, Status: StatusUp}
	for _, cs := range m.order {
		if cs.cfg.Kinds&kinds == 0 || slices.Contains(exclude, cs.cfg.Name) {
			continue
		}
		if collect {
			rep.Checks = append(rep.Checks, cs.res)
		}
		if cs.res.Status == StatusDegraded {
			rep.Status = max(rep.Status, StatusDegraded)
		}
		if cs.res.Status == StatusDown {
			if cs.cfg.NonCritical {
				rep.Status = max(rep.Status, StatusDegraded)
			} else {
				rep.Status = StatusDown
			}
		}
	}
	if kinds&(Liveness|Readiness) != 0 && !m.startupDone && !m.startupUp {
		rep.Status, rep.Reason = StatusDown, "starting"
	}
	if kinds&Readiness != 0 && m.draining {
		rep.Status, rep.Reason = StatusDown, "draining"
	}
	return rep
}

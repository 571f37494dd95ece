package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/actions/supervise"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Config is everything about actions that the config file says, in the
// form the System applies: specs decoded through the Registry, parents by
// check id (the loader resolves names). Which channels a check's flips go
// to is not here: every check carries its own (model.Check.Routes), which
// the Planner reads from the flip.
type Config struct {
	// Notifiers are the channels by name.
	Notifiers map[string]notify.Spec
	// Storms are the channels' alert-storm protection, by name (the
	// config loader fills in each kind's default, notify.StormFor); a
	// channel not here has none.
	Storms map[string]notify.Storm
	// Processes are the commands the watchdog supervises.
	Processes []supervise.Config
	// Parents lists each check's parents (dependencies).
	Parents map[model.CheckID][]model.CheckID
	// Windows are the maintenance windows.
	Windows []policy.Window
	// DependencyDelay is how long a child's down alert waits for its
	// parents (see Suppression). Default 0.
	DependencyDelay time.Duration
}

// SystemOptions configure a System. The zero value is usable except for
// Status, without which dependencies and held rows cannot be judged.
type SystemOptions struct {
	// Status reads a check's name and status (the daemon wraps
	// Engine.Get).
	Status policy.StatusFunc
	// Dispatcher options (Policy is set by the System).
	Dispatcher outbox.DispatcherOptions
	// Registry is the notifier registry, the one the config loader
	// decoded the channels with (see Registry). Default
	// notify.NewRegistry(): the built-in kinds.
	Registry *notify.Registry
	// Deps for building channels (Processes, Raise and Firing are set by
	// the System).
	Deps notify.Deps
	// Checks lists the live checks with their current states (the daemon
	// passes Engine.List); the System derives each channel's
	// notify.Deps.Firing from it. Default none: channels are told nothing
	// of the checks already down (an alertmanager channel then re-sends
	// only what it sent since it was built).
	Checks func() []model.CheckState
	// Logger: default slog.Default().
	Logger *slog.Logger
}

// System bundles what the daemon needs for its actions: the Registry, the
// Planner and the Dispatcher to give the engine, the Suppression policy
// (silences come from the API through it) and the supervised processes.
// Apply applies a config (at start and on every reload); Start and Stop
// run the dispatcher. Safe for concurrent use.
type System struct {
	st    store.Store
	reg   *notify.Registry
	plan  *outbox.Planner
	disp  *outbox.Dispatcher
	sup   *policy.Suppression
	procs *supervise.Group
	late  *LateNotices
	opts  SystemOptions
	log   *slog.Logger

	mu      sync.Mutex
	built   map[string]builtChannel // reused across reloads when unchanged
	runCtx  context.Context         // set by Start, nil when stopped
	running map[string]*runningChannel

	certMu sync.Mutex
	certs  map[model.CheckID]string // the certificate last announced, per check (cert.go)
}

type builtChannel struct {
	spec notify.Spec
	n    notify.Notifier
}

// runningChannel is the goroutine of a channel that is a notify.Runner.
type runningChannel struct {
	n      notify.Notifier
	cancel context.CancelFunc
	done   chan struct{}
}

// NewSystem returns a System over st's outbox with no channels yet.
func NewSystem(st store.Store, opts SystemOptions) *System {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	reg := opts.Registry
	if reg == nil {
		reg = notify.NewRegistry()
	}
	s := &System{st: st, reg: reg, opts: opts, log: log, built: map[string]builtChannel{}, running: map[string]*runningChannel{}}
	status := opts.Status
	s.sup = policy.NewSuppression(func(id model.CheckID) (string, model.Status, bool) {
		if status == nil {
			return "", "", false
		}
		return status(id)
	}, 0)
	s.sup.SetLogger(log)
	s.sup.UseStore(st) // Recheck writes what it decides even before Restore
	do := opts.Dispatcher
	do.Policy = s.sup
	if do.StatusURL == nil {
		do.StatusURL = opts.Deps.StatusURL
	}
	if do.Logger == nil {
		do.Logger = log
	}
	s.disp = outbox.NewDispatcher(st, notify.Channels{}, do)
	s.sup.OnRelease(s.disp.ReleaseHeld) // a silence deleted releases what it held at once
	s.plan = outbox.NewPlanner(outbox.PlannerOptions{Policy: s.sup, Logger: log})
	s.late = NewLateNotices(s.disp.Raise, s.sup.Quiet, opts.Dispatcher.Now, log)
	s.procs = supervise.NewGroup(func(c supervise.Config) supervise.Options {
		return supervise.Options{Logger: log, OnGaveUp: func(ps supervise.Status) {
			if len(c.Alert) == 0 {
				return
			}
			s.disp.Raise(notify.Notification{
				Event: notify.EventGaveUp, CheckID: ProcessID(c.Name), Check: "process " + c.Name,
				Reason: fmt.Sprintf("process %s: %d restarts within %s, last exit: %s; not restarting until reset",
					c.Name, ps.Restarts, c.Restart.WithDefaults().Window, ps.LastExit),
			}, c.Alert)
		}}
	})
	return s
}

// ProcessID is the id that "gave up" alerts of the supervised process
// name carry as their CheckID.
func ProcessID(name string) model.CheckID {
	return model.CheckID(uuid.NewSHA1(uuid.NameSpaceURL, []byte("vitals:process:"+name)))
}

// Registry returns the registry to decode notifier specs with
// (SystemOptions.Registry): pass it to the config loader
// (config.LoadOptions) so that validation knows the kinds the System does.
func (s *System) Registry() *notify.Registry { return s.reg }

// Planner is the engine's model.Planner.
func (s *System) Planner() model.Planner { return s.plan }

// Dispatcher is the engine's model.Listener (and Raise).
func (s *System) Dispatcher() *outbox.Dispatcher { return s.disp }

// Suppression is the policy; the API sets silences with SetSilences.
func (s *System) Suppression() *policy.Suppression { return s.sup }

// Late announces checks becoming late to their Routes.Late channels:
// register it with the engine as a listener, and Seed it with the
// engine's checks once the engine started.
func (s *System) Late() *LateNotices { return s.late }

// Processes are the supervised processes.
func (s *System) Processes() *supervise.Group { return s.procs }

// Validate reports every problem of c without applying anything: invalid
// processes or windows, self-parents, process notifiers naming no process.
// (Each Spec was validated when decoded.)
func Validate(c Config) error {
	var errs []error
	if err := supervise.Validate(c.Processes); err != nil {
		errs = append(errs, err)
	}
	if err := policy.ValidateWindows(c.Windows); err != nil {
		errs = append(errs, fmt.Errorf("maintenance%w", err))
	}
	for id, ps := range c.Parents {
		for _, p := range ps {
			if p == id {
				errs = append(errs, fmt.Errorf("check %s: parents: is its own parent", model.UniqueKey(id)))
			}
		}
	}
	for name, sp := range c.Notifiers {
		if p, ok := sp.(*notify.ProcessConfig); ok && !hasProcess(c.Processes, p.Name) {
			errs = append(errs, fmt.Errorf("notifiers.%s: name: %w %q", name, notify.ErrNoSuchProcess, p.Name))
		}
	}
	for name, s := range c.Storms {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("notifiers.%s.storm: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func hasProcess(ps []supervise.Config, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// Apply makes c the running actions config. If c is invalid nothing
// changes; otherwise processes are synced (unchanged ones keep running),
// channels are built (unchanged ones are kept, with their restart
// counters), then parents and windows are swapped in.
func (s *System) Apply(c Config) error {
	if err := Validate(c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.procs.Sync(c.Processes); err != nil {
		return err
	}
	deps := s.opts.Deps
	deps.Processes = func(name string) (notify.Restarter, bool) {
		p, ok := s.procs.Get(name)
		if !ok {
			return nil, false
		}
		return p, true
	}
	deps.Raise = s.disp.Raise
	if deps.Logger == nil {
		deps.Logger = s.log
	}
	built := map[string]builtChannel{}
	ch := notify.Channels{}
	var errs []error
	for name, sp := range c.Notifiers {
		if old, ok := s.built[name]; ok && reflect.DeepEqual(old.spec, sp) {
			if _, isProc := sp.(*notify.ProcessConfig); !isProc { // a process may have been replaced
				built[name], ch[name] = old, old.n
				continue
			}
		}
		deps.Firing = s.firing(name)
		n, err := sp.Build(deps)
		if err != nil {
			errs = append(errs, fmt.Errorf("notifiers.%s: %w", name, err))
			continue
		}
		built[name], ch[name] = builtChannel{spec: sp, n: n}, n
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := s.sup.SetWindows(c.Windows); err != nil {
		return err
	}
	if err := s.sup.SetParents(c.Parents); err != nil {
		return err
	}
	s.sup.SetDependencyDelay(c.DependencyDelay)
	s.built = built
	s.disp.SetStorms(c.Storms)
	s.disp.SetChannels(ch)
	s.syncRunnersLocked()
	return nil
}

// firing returns the notify.Deps.Firing of channel: the checks whose
// status (down or flapping) is routed to it, whose last alert the policy
// neither dropped nor holds.
func (s *System) firing(channel string) func() []model.CheckState {
	list := s.opts.Checks
	if list == nil {
		return nil
	}
	return func() []model.CheckState {
		var out []model.CheckState
		for _, cs := range list() {
			st := cs.State.Status
			if (st == model.StatusDown || st == model.StatusFlapping) &&
				slices.Contains(cs.Check.Routes.For(model.StatusUp, st), channel) && !s.sup.FlipQuiet(cs.Check.ID) {
				out = append(out, cs)
			}
		}
		return out
	}
}

// syncRunnersLocked makes the running notify.Runner goroutines those of
// the built channels: a channel removed or replaced has its goroutine
// stopped (and waited for), a new one started, while the System runs.
func (s *System) syncRunnersLocked() {
	for name, r := range s.running {
		if b, ok := s.built[name]; ok && b.n == r.n && s.runCtx != nil {
			continue
		}
		r.cancel()
		<-r.done
		delete(s.running, name)
	}
	if s.runCtx == nil {
		return
	}
	for name, b := range s.built {
		run, ok := b.n.(notify.Runner)
		if !ok || s.running[name] != nil {
			continue
		}
		ctx, cancel := context.WithCancel(s.runCtx)
		r := &runningChannel{n: b.n, cancel: cancel, done: make(chan struct{})}
		s.running[name] = r
		go func() {
			defer close(r.done)
			run.Run(ctx)
		}()
	}
}

// Restore reloads the policy's memory from the store (which alerts a down
// parent absorbed, which ones a window holds), so that a restart neither
// announces a recovery whose down was never announced nor forgets a held
// alert. Call it before the engine starts, like Apply.
func (s *System) Restore(ctx context.Context) error { return s.sup.Restore(ctx, s.st) }

// Start starts the dispatcher and the channels' own goroutines
// (notify.Runner: the alertmanager kind's resends), which live until Stop
// or until a reload removes or replaces their channel.
func (s *System) Start(ctx context.Context) error {
	if err := s.disp.Start(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runCtx = context.WithoutCancel(ctx)
	s.syncRunnersLocked()
	return nil
}

// Stop stops the dispatcher, the channels' goroutines and the supervised
// processes, and blocks until they have exited.
func (s *System) Stop() {
	s.late.Stop()
	s.disp.Stop()
	s.mu.Lock()
	s.runCtx = nil
	s.syncRunnersLocked()
	s.mu.Unlock()
	s.procs.Stop()
}

// TestChannel sends a test notification through the channel name as it
// is built now (notify.SendTest, within timeout) and returns what its
// receiver answered. It wraps outbox.ErrUnknownChannel when no channel
// has that name, and notify.ErrActs for a channel that acts (a restart,
// a command): nothing is run then.
func (s *System) TestChannel(ctx context.Context, name string, timeout time.Duration) ([]string, error) {
	s.mu.Lock()
	b, ok := s.built[name]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", outbox.ErrUnknownChannel, name)
	}
	return notify.SendTest(ctx, b.spec, b.n, notify.Deps{}, name, timeout)
}

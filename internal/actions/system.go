package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
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
// form the System applies: specs decoded through the Registry, rules and
// parents by check id (the loader resolves names).
type Config struct {
	// Notifiers are the channels by name.
	Notifiers map[string]notify.Spec
	// Processes are the commands the watchdog supervises.
	Processes []supervise.Config
	// Rules route each check's flips to channels.
	Rules map[model.CheckID]outbox.Rules
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
	// Deps for building channels (Processes and Raise are set by the
	// System).
	Deps notify.Deps
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
	opts  SystemOptions
	log   *slog.Logger

	mu    sync.Mutex
	built map[string]builtChannel // reused across reloads when unchanged
}

type builtChannel struct {
	spec notify.Spec
	n    notify.Notifier
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
	s := &System{st: st, reg: reg, opts: opts, log: log, built: map[string]builtChannel{}}
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
	if do.Logger == nil {
		do.Logger = log
	}
	s.disp = outbox.NewDispatcher(st, notify.Channels{}, do)
	s.sup.OnRelease(s.disp.ReleaseHeld) // a silence deleted releases what it held at once
	s.plan = outbox.NewPlanner(nil, outbox.PlannerOptions{Policy: s.sup, Logger: log})
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

// Processes are the supervised processes.
func (s *System) Processes() *supervise.Group { return s.procs }

// Validate reports every problem of c without applying anything: invalid
// processes or windows, rules naming unknown channels, self-parents.
// (Each Spec was validated when decoded.)
func Validate(c Config) error {
	var errs []error
	if err := supervise.Validate(c.Processes); err != nil {
		errs = append(errs, err)
	}
	if err := policy.ValidateWindows(c.Windows); err != nil {
		errs = append(errs, fmt.Errorf("maintenance%w", err))
	}
	known := func(n string) bool { _, ok := c.Notifiers[n]; return ok }
	for id, r := range c.Rules {
		if err := outbox.CheckRules(r, known); err != nil {
			errs = append(errs, fmt.Errorf("check %s: %w", model.UniqueKey(id), err))
		}
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
// counters), then rules, parents and windows are swapped in.
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
	s.disp.SetChannels(ch)
	s.plan.SetRules(c.Rules)
	return nil
}

// Restore reloads the policy's memory from the store (which alerts a down
// parent absorbed, which ones a window holds), so that a restart neither
// announces a recovery whose down was never announced nor forgets a held
// alert. Call it before the engine starts, like Apply.
func (s *System) Restore(ctx context.Context) error { return s.sup.Restore(ctx, s.st) }

// Start starts the dispatcher.
func (s *System) Start(ctx context.Context) error { return s.disp.Start(ctx) }

// Stop stops the dispatcher and the supervised processes, and blocks
// until they have exited.
func (s *System) Stop() {
	s.disp.Stop()
	s.procs.Stop()
}

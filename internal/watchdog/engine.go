package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/deadlines"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/watchdog/machine"
)

// Options configure an Engine. The zero value is usable.
type Options struct {
	// Logger receives transitions and write errors. Default slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Default time.Now. Deadlines are armed
	// on real timers; tests use testing/synctest rather than a fake Now.
	Now func() time.Time
	// DeadlineWorkers is how many goroutines persist missed deadlines in
	// parallel (their writes are group-committed together). Default 64.
	DeadlineWorkers int
	// WriteTimeout bounds the store write of a missed deadline. Default 10s.
	WriteTimeout time.Duration
	// RetryDelay is how long a missed deadline whose write failed waits
	// before it is tried again. Default 1s.
	RetryDelay time.Duration
	// RetiredRetention is how long a retired check (see Retire) keeps its
	// history before the sweep purges it. Default
	// store.DefaultRetiredRetention.
	RetiredRetention time.Duration
	// SweepInterval is how often the sweep purges the retired checks past
	// RetiredRetention (it also runs once at Start). Default one hour, or
	// RetiredRetention when shorter.
	SweepInterval time.Duration
	// HostTZ is the IANA name of the host's time zone, the first zone the
	// time-zone warning suggests (model.GuessTZ). Default: HostTZ().
	HostTZ string
	// Leased makes the engine one replica among several sharing a store
	// (ownership.go): it runs the deadline timers only of the checks it
	// was given with Acquire, writes their events fenced with their lease,
	// and reads a check's state from the store before each event. Default
	// false: one process, which owns every check and writes unfenced.
	Leased bool
	// Feed is the shared store's change feed (follow.go), for a Leased
	// engine: state writes are then compare-and-set on the state's
	// revision, a non-owner's writes notify the owner, and Follow keeps
	// the owned checks in step. Default: the store itself, when it is a
	// store.Feed. Set it when the store given to New is a wrapper (the
	// daemon's timing wrapper) that hides the feed of the store beneath:
	// a Leased engine without a feed lets a ping on a replica that does
	// not own its check go unseen by the owner's timers.
	Feed store.Feed
	// ResultFlush is how long a routine probe result (machine.Outcome.
	// Routine: it confirms the check's status and changes nothing a flip
	// or an action depends on) may stay in memory only: it is applied to
	// memory at once (Get, List and the listeners see it) and written with
	// every other such result in one batch, every ResultFlush and at
	// Close (coalesce.go). A crash loses at most the routine results of
	// the last ResultFlush, never a flip. Default DefaultResultFlush;
	// negative writes every result before Report returns.
	ResultFlush time.Duration
	// ObserveDeadline, when set, is told of every missed deadline whose
	// flip committed: the deadline, when the flip became durable, and the
	// status the check went to (down, for a heartbeat past its grace time).
	// committed minus deadline is how late the watchdog acted (the daemon's
	// vitals_deadline_lag_seconds). It runs on a deadline worker with the
	// check's lock held: it must be quick and must not call the engine.
	ObserveDeadline func(deadline, committed time.Time, to model.Status)
}

// Engine runs the watchdog's checks. It is safe for concurrent use.
//
// Errors: the store's sentinels, wrapped with the check's id:
// store.ErrNotFound for an unknown id, store.ErrExists for a Create over
// a taken one; model.ErrNotRunning before Start and after Close.
type Engine struct {
	st store.Store
	// feed is st's store.Feed, when Options.Leased and st is shared
	// (follow.go): state writes are then compare-and-set on the state's
	// revision, and non-owners' writes notify the owner.
	feed  store.Feed
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	sched *deadlines.Scheduler

	// hooks are registered before Start (AddListener, AddPlanner) and
	// only read after it, so they need no lock.
	hooksMu   sync.Mutex // guards started and the appends
	started   bool       // Start was called: no more hooks
	listeners []model.Listener
	planners  []model.Planner

	expired chan model.CheckID // deadlines that fired, for the workers
	wg      sync.WaitGroup     // the workers and the sweep
	// stopSweep cancels the sweep's context (and a purge in progress).
	stopSweep context.CancelFunc

	mu      sync.RWMutex
	running bool
	checks  map[model.CheckID]*entry
	slugs   map[slugKey][]model.CheckID

	held heldResults // routine results not written yet (coalesce.go)
	// gen changes with the set of checks or a definition, and changes
	// records which check each generation changed (view.go).
	gen     atomic.Uint64
	changes changeLog
}

type slugKey struct{ key, slug string }

// entry is one check in memory. mu serialises its events, across the store
// write.
type entry struct {
	mu      sync.Mutex
	check   model.Check
	state   model.State
	deleted bool
	stale   bool // a write failed and the state could not be re-read
	// owned: this engine runs the check's timers (always, unless
	// Options.Leased); fence is the lease its writes carry (zero unless
	// Options.Leased).
	owned bool
	fence store.Fence
	// rev is the store's revision of state (with a feed; see
	// store.Update.CAS).
	rev int64
	// ownedSnap is owned, published for Owns (read without mu).
	ownedSnap atomic.Pointer[bool]
	// dirty: state holds routine results not written yet (coalesce.go).
	dirty bool

	// snap is a copy of (check, state) published after every change, so
	// that readers (Get, List: the API, metrics, the status page) never
	// wait for a check's lock, which is held across store writes.
	snap atomic.Pointer[model.CheckState]
	// brief is the snapshot's model.Brief (view.go).
	brief atomic.Uint64
}

// publishLocked refreshes the entry's snapshot; en.mu must be held (or the
// entry not yet shared).
func (en *entry) publishLocked() {
	en.snap.Store(&model.CheckState{Check: en.check, State: en.state.Clone()})
	en.brief.Store(uint64(model.PackBrief(&en.state)))
}

// New returns an engine over st, not started. See Options for defaults.
func New(st store.Store, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DeadlineWorkers <= 0 {
		opts.DeadlineWorkers = 64
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.RetiredRetention <= 0 {
		opts.RetiredRetention = store.DefaultRetiredRetention
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = min(time.Hour, opts.RetiredRetention)
	}
	if opts.HostTZ == "" {
		opts.HostTZ = HostTZ()
	}
	if opts.ResultFlush == 0 {
		opts.ResultFlush = DefaultResultFlush
	}
	var feed store.Feed
	if opts.Leased {
		if feed = opts.Feed; feed == nil {
			feed, _ = st.(store.Feed)
		}
	}
	return &Engine{
		st:     st,
		feed:   feed,
		opts:   opts,
		log:    opts.Logger,
		now:    opts.Now,
		checks: make(map[model.CheckID]*entry),
		slugs:  make(map[slugKey][]model.CheckID),
	}
}

// Start loads every check and its state from the store, arms the pending
// deadlines (those that passed while the watchdog was down fire at once)
// and starts the engine's goroutines. It returns the store's error, if any.
// It logs only at Debug level: announcing the start is the owner's job, once
// its own checks are applied.
func (e *Engine) Start(ctx context.Context) error {
	e.hooksMu.Lock()
	e.started = true
	e.hooksMu.Unlock()
	all, err := e.st.ListChecks(ctx)
	if err != nil {
		return fmt.Errorf("watchdog: load checks: %w", err)
	}
	return e.start(ctx, all)
}

// StartWith is Start with the checks given rather than read: all must be
// what the store's ListChecks answers at the time of the call (the
// daemon reads them once at start for lookups of its own: with 100,000
// checks, a second read is seconds of a restart). Not for a Leased
// engine, whose store other replicas write meanwhile: it is an error.
func (e *Engine) StartWith(ctx context.Context, all []model.CheckState) error {
	e.hooksMu.Lock()
	e.started = true
	e.hooksMu.Unlock()
	if e.opts.Leased {
		return errors.New("watchdog: StartWith on a leased engine")
	}
	return e.start(ctx, all)
}

func (e *Engine) start(ctx context.Context, all []model.CheckState) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running {
		return errors.New("watchdog: already started")
	}
	for _, cs := range all {
		en := &entry{check: cs.Check, state: cs.State}
		en.setOwnedLocked(!e.opts.Leased)
		en.publishLocked()
		e.checks[cs.Check.ID] = en
		e.indexLocked(cs.Check)
	}
	e.expired = make(chan model.CheckID, 4096)
	e.sched = deadlines.New(e.fire)
	for i := 0; i < e.opts.DeadlineWorkers; i++ {
		e.wg.Add(1)
		go e.worker()
	}
	for id, en := range e.checks {
		if en.owned {
			e.sched.Set(id, en.state.Deadline)
		}
	}
	sweepCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stopSweep = stop
	e.wg.Add(1)
	go e.sweep(sweepCtx)
	e.held.start(e)
	e.running = true
	// Debug, not Info: the owner (the daemon) applies its config after Start
	// and announces the checks it then runs; this count is only the store's.
	e.log.Debug("watchdog engine: loaded checks from the store", "stored_checks", len(all))
	return nil
}

// Close stops the deadline timers, the workers and the sweep of retired
// checks, and blocks until they have exited; writes in progress finish
// first (a purge in progress is cancelled). The store is left open.
func (e *Engine) Close() error {
	e.mu.Lock()
	if !e.running {
		e.mu.Unlock()
		return nil
	}
	e.running = false
	e.mu.Unlock()
	e.held.stop(e) // the last batch of routine results is written
	e.stopSweep()
	e.sched.Close() // no more fire calls after this
	close(e.expired)
	e.wg.Wait()
	return nil
}

// fire runs on the scheduler goroutine: hand the check to a worker.
func (e *Engine) fire(id model.CheckID) { e.expired <- id }

func (e *Engine) worker() {
	defer e.wg.Done()
	for id := range e.expired {
		e.expire(id)
	}
}

// expire applies a passed deadline to the check.
func (e *Engine) expire(id model.CheckID) {
	en := e.entry(id)
	if en == nil {
		return
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.deleted || !en.owned {
		return
	}
	if e.opts.Leased && !e.reloadLocked(en) {
		return
	}
	if en.state.Deadline.IsZero() {
		return
	}
	now := e.now()
	if now.Before(en.state.Deadline) { // rearmed meanwhile
		e.sched.Set(id, en.state.Deadline)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.WriteTimeout)
	defer cancel()
	ev := machine.Event{Kind: machine.Deadline, Now: now, Deadline: en.state.Deadline}
	out, err := e.commitLocked(ctx, en, ev)
	if err == nil && out.Flip != nil && e.opts.ObserveDeadline != nil {
		e.opts.ObserveDeadline(ev.Deadline, e.now(), out.Flip.To)
	}
	e.log.Debug("watchdog: deadline applied", "unique_key", model.UniqueKey(id), "deadline", ev.Deadline,
		"status", en.state.Status, "next", en.state.Deadline, "err", err)
	if errors.Is(err, store.ErrFenced) {
		return // lost: commitLocked disowned it
	} else if errors.Is(err, store.ErrConflict) {
		// Another replica wrote the check since the reload (a ping):
		// fire again at once, to reload and decide on its state.
		e.sched.Set(id, now)
	} else if err != nil {
		e.log.Error("watchdog: persisting a missed deadline failed; retrying", "check", id, "err", err)
		e.sched.Set(id, now.Add(e.opts.RetryDelay))
	}
}

func (e *Engine) entry(id model.CheckID) *entry {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.checks[id]
}

// lookup returns the running engine's entry for id.
func (e *Engine) lookup(id model.CheckID) (*entry, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if !e.running {
		return nil, model.ErrNotRunning
	}
	en, ok := e.checks[id]
	if !ok {
		return nil, fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	return en, nil
}

// resyncLocked reloads the check's state from the store after a failed
// write, so that memory equals what is stored whether or not the write
// landed. If the store cannot be read either, the check is marked stale and
// reloaded before its next event.
func (e *Engine) resyncLocked(en *entry) {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.WriteTimeout)
	defer cancel()
	_, st, rev, err := e.read(ctx, en.check.ID)
	if err != nil {
		en.stale = true
		return
	}
	en.stale, en.rev, en.dirty = false, rev, false
	if en.owned && !st.Deadline.Equal(en.state.Deadline) {
		e.sched.Set(en.check.ID, st.Deadline)
	}
	en.state = st
	en.publishLocked()
}

// commitLocked runs ev through the machine, writes the outcome, and only
// then applies it to memory, re-arms the deadline and tells the listeners.
// en.mu must be held.
func (e *Engine) commitLocked(ctx context.Context, en *entry, ev machine.Event) (machine.Outcome, error) {
	if en.stale {
		if e.resyncLocked(en); en.stale {
			return machine.Outcome{State: en.state}, fmt.Errorf("check %s: state not readable from the store", en.check.ID)
		}
	}
	ev.HostTZ = e.opts.HostTZ
	out := machine.Apply(&en.check, en.state, ev)
	if !out.Changed && ev.Ping == nil {
		return out, nil
	}
	if out.Routine && e.holdLocked(en, out.State) {
		return out, nil
	}
	u := store.Update{CheckID: en.check.ID, State: out.State, Ping: ev.Ping, Uptime: out.Uptime, Fence: en.fence,
		CAS: e.feed != nil, Rev: en.rev, Notify: e.feed != nil && !en.owned}
	var tr model.Transition
	var committed []func() // UpdatePlanners' memory, applied once durable
	if out.Flip != nil {
		id, err := uuid.NewV7()
		if err != nil {
			return out, fmt.Errorf("flip id: %w", err)
		}
		out.Flip.ID = id
		u.Flips = []model.Flip{*out.Flip}
		tr = model.Transition{Check: en.check, Flip: *out.Flip, State: out.State, FromSince: en.state.Since}
		for _, p := range e.planners {
			if up, ok := p.(store.UpdatePlanner); ok {
				if done := up.PlanUpdate(tr, &u); done != nil {
					committed = append(committed, done)
				}
				continue
			}
			u.Notifications = append(u.Notifications, p.Plan(tr)...)
		}
	}
	// The write is not cancelled with the caller's context: once handed
	// to the store it may commit, and memory must not fall behind what a
	// restart would load. A failed write (definitive for the SQLite store)
	// leaves memory as it was; resync covers stores whose errors may be
	// ambiguous (a network store).
	if err := e.st.Apply(context.WithoutCancel(ctx), u); err != nil {
		if errors.Is(err, store.ErrFenced) {
			e.disownLocked(en, "a write was fenced: another replica holds the check's lease")
		}
		if !errors.Is(err, store.ErrConflict) { // the caller reloads
			e.resyncLocked(en)
		}
		return out, fmt.Errorf("check %s: %w", model.UniqueKey(en.check.ID), err)
	}
	old, oldTZ := en.state.Deadline, en.state.TZWarning
	en.state = out.State
	en.dirty = false // the write carried the routine results held
	en.rev++
	en.publishLocked()
	if en.owned && !old.Equal(out.State.Deadline) {
		e.sched.Set(en.check.ID, out.State.Deadline)
	}
	for _, done := range committed {
		done()
	}
	if out.Flip != nil {
		// The UUID is the ping secret: logs name the check by its unique key.
		e.log.Info("check flipped", "check", en.check.Name, "unique_key", model.UniqueKey(en.check.ID),
			"from", out.Flip.From, "to", out.Flip.To, "reason", out.Flip.Reason)
		for _, l := range e.listeners {
			l.OnFlip(tr)
		}
	}
	if oldTZ == "" && out.State.TZWarning != "" {
		// Once per appearance: the text changes with every ping after.
		e.log.Warn("check's pings fit another time zone", "check", en.check.Name, "unique_key", model.UniqueKey(en.check.ID),
			"warning", out.State.TZWarning)
	}
	e.notifyState(en)
	return out, nil
}

// Ping records a ping to check id and decides on it; it returns once the
// ping and its consequences are durable, with the check's new state.
// p.CheckID and p.Time are filled in when zero; p.N and p.Duration are set
// by the state machine. ErrNotFound for an unknown id.
func (e *Engine) Ping(ctx context.Context, id model.CheckID, p model.Ping) (model.State, error) {
	en, err := e.lookup(id)
	if err != nil {
		return model.State{}, err
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.deleted {
		return model.State{}, fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	if !e.freshLocked(en) {
		return model.State{}, fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	p.CheckID = id
	stamp := p.Time.IsZero() // the ping's time is when it is decided
	out, err := e.decideLocked(ctx, en, func() machine.Event {
		// Decided afresh after a conflict: the machine sets N, and a
		// ping the engine stamps gets the decision's instant, so that
		// its time and the state's last ping are one instant.
		q, now := p, e.now()
		if stamp {
			q.Time = now.UTC()
		}
		return machine.Event{Kind: machine.Ping, Now: now, Ping: &q}
	})
	if err != nil {
		return model.State{}, err
	}
	return out.State.Clone(), nil
}

// Report records the result of a probe of pull check id. ErrNotFound for an
// unknown id. Results for paused checks (and for push checks) are ignored.
func (e *Engine) Report(ctx context.Context, id model.CheckID, r model.Result) (model.State, error) {
	return e.event(ctx, id, machine.Event{Kind: machine.Result, Result: &r})
}

// Pause pauses check id: no deadlines, no decisions, until Resume (or, for
// a push check without ManualResume, its next ping). reason is recorded on
// the flip.
func (e *Engine) Pause(ctx context.Context, id model.CheckID, reason string) (model.State, error) {
	return e.event(ctx, id, machine.Event{Kind: machine.Pause, Reason: reason})
}

// Resume resumes a paused check; it restarts as new.
func (e *Engine) Resume(ctx context.Context, id model.CheckID, reason string) (model.State, error) {
	return e.event(ctx, id, machine.Event{Kind: machine.Resume, Reason: reason})
}

func (e *Engine) event(ctx context.Context, id model.CheckID, ev machine.Event) (model.State, error) {
	en, err := e.lookup(id)
	if err != nil {
		return model.State{}, err
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.deleted {
		return model.State{}, fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	if e.opts.Leased {
		if ev.Kind == machine.Result && !en.owned {
			return model.State{}, fmt.Errorf("check %s: %w", id, ErrNotOwner)
		}
		if !e.freshLocked(en) {
			return model.State{}, fmt.Errorf("check %s: %w", id, store.ErrNotFound)
		}
	}
	out, err := e.decideLocked(ctx, en, func() machine.Event {
		ev.Now = e.now()
		return ev
	})
	if err != nil {
		return model.State{}, err
	}
	return out.State.Clone(), nil
}

// Create adds a check: defaults are applied (model.Check.WithDefaults), it
// is validated, Created / Updated are set, and it is stored with a new
// state. It returns the check as stored. ErrExists if the id is taken; a
// zero id is replaced by a random one.
func (e *Engine) Create(ctx context.Context, c model.Check) (model.Check, error) {
	if c.ID.IsZero() {
		c.ID = model.NewCheckID()
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return model.Check{}, err
	}
	now := e.now().UTC()
	c.Created, c.Updated = now, now
	e.mu.RLock()
	running, exists := e.running, e.checks[c.ID] != nil
	e.mu.RUnlock()
	if !running {
		return model.Check{}, model.ErrNotRunning
	}
	if exists {
		return model.Check{}, fmt.Errorf("check %s: %w", c.ID, store.ErrExists)
	}
	// The store write runs without the engine's lock (other checks keep
	// flowing); the store refuses a duplicate id if two Creates race.
	st := model.NewState(c.ID, now)
	if err := e.st.CreateCheck(ctx, c, st); err != nil {
		return model.Check{}, err
	}
	e.mu.Lock()
	if e.checks[c.ID] != nil { // Leased: Acquire loaded it first
		e.mu.Unlock()
		return c, nil
	}
	en := &entry{check: c, state: st}
	en.setOwnedLocked(!e.opts.Leased)
	en.publishLocked()
	e.checks[c.ID] = en
	e.indexLocked(c)
	e.mu.Unlock()
	e.notifyCheck(c, false)
	return c, nil
}

// Update replaces the definition of check c.ID, keeping its state; the
// deadline is recomputed under the new schedule. Defaults are applied and
// the check validated as in Create; Created is kept. ErrNotFound if absent.
func (e *Engine) Update(ctx context.Context, c model.Check) (model.Check, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return model.Check{}, err
	}
	en, err := e.lookup(c.ID)
	if err != nil {
		return model.Check{}, err
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.deleted {
		return model.Check{}, fmt.Errorf("check %s: %w", c.ID, store.ErrNotFound)
	}
	c.Created = en.check.Created
	c.Updated = e.now().UTC()
	if err := e.st.UpdateCheck(ctx, c); err != nil {
		return model.Check{}, err
	}
	old := en.check
	e.mu.Lock()
	e.unindexLocked(old)
	en.check = c
	en.publishLocked()
	e.indexLocked(c)
	e.mu.Unlock()
	changed := old.Kind != c.Kind || old.Schedule.Cron != c.Schedule.Cron || old.Schedule.TZ != c.Schedule.TZ
	if _, err := e.decideLocked(ctx, en, func() machine.Event {
		return machine.Event{Kind: machine.Reschedule, Now: e.now(), ScheduleChanged: changed}
	}); err != nil {
		// The definition is stored; the deadline is re-derived at the
		// next event or restart.
		e.log.Warn("watchdog: rescheduling after update failed", "check", c.Name, "unique_key", model.UniqueKey(c.ID), "err", err)
	}
	e.notifyCheck(c, false)
	return c, nil
}

// Upsert creates c or, when a check with c.ID exists and its definition
// differs (ignoring Created / Updated), updates it. It reports whether
// anything changed. For the config loader's reload.
func (e *Engine) Upsert(ctx context.Context, c model.Check) (model.Check, bool, error) {
	if !c.ID.IsZero() {
		if cur, ok := e.Get(c.ID); ok {
			want := c.WithDefaults()
			want.Created, want.Updated = cur.Check.Created, cur.Check.Updated
			if equalChecks(want, cur.Check) {
				return cur.Check, false, nil
			}
			got, err := e.Update(ctx, c)
			return got, err == nil, err
		}
	}
	got, err := e.Create(ctx, c)
	return got, err == nil, err
}

func equalChecks(a, b model.Check) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Slug == b.Slug && a.PingKey == b.PingKey &&
		slices.Equal(a.Tags, b.Tags) && a.Desc == b.Desc && a.Kind == b.Kind &&
		a.Schedule == b.Schedule && a.MinRunTime == b.MinRunTime && a.Thresholds == b.Thresholds &&
		a.ManualResume == b.ManualResume && a.PostOnly == b.PostOnly && string(a.Probe) == string(b.Probe) &&
		a.Source == b.Source && a.Filters == b.Filters && a.Routes.Equal(b.Routes)
}

// Delete removes check id with its history. ErrNotFound if absent.
func (e *Engine) Delete(ctx context.Context, id model.CheckID) error {
	return e.remove(id, func(en *entry) error { return e.st.DeleteCheck(ctx, id) })
}

// Retire takes check id out of service but keeps its history (see
// store.Store.RetireCheck): from now on it is not watched (no deadline, no
// probe, no alert), not listed by Get and List, and pings to it are
// ErrNotFound. Sync brings it back, history and state included, when a
// check with its id is wanted again within Options.RetiredRetention;
// after that the sweep purges it. ErrNotFound if absent.
func (e *Engine) Retire(ctx context.Context, id model.CheckID) error {
	return e.remove(id, func(en *entry) error {
		e.flushLocked(en) // the state kept is the one shown last
		if err := e.st.RetireCheck(ctx, id, e.now().UTC()); err != nil {
			return err
		}
		e.log.Info("check retired: its history is kept", "check", en.check.Name, "unique_key", model.UniqueKey(id),
			"purged_after", e.opts.RetiredRetention)
		return nil
	})
}

// remove takes check id out of memory once write, run under the check's
// lock, has taken it out of the store.
func (e *Engine) remove(id model.CheckID, write func(en *entry) error) error {
	en, err := e.lookup(id)
	if err != nil {
		return err
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.deleted {
		return fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	if err := write(en); err != nil {
		return err
	}
	en.deleted = true
	e.mu.Lock()
	delete(e.checks, id)
	e.unindexLocked(en.check)
	e.mu.Unlock()
	e.sched.Remove(id)
	e.notifyCheck(en.check, true)
	return nil
}

func (e *Engine) indexLocked(c model.Check) {
	e.changed(c.ID)
	if c.PingKey == "" || c.Slug == "" {
		return
	}
	k := slugKey{c.PingKey, c.Slug}
	e.slugs[k] = append(e.slugs[k], c.ID)
}

func (e *Engine) unindexLocked(c model.Check) {
	e.changed(c.ID)
	k := slugKey{c.PingKey, c.Slug}
	ids := slices.DeleteFunc(e.slugs[k], func(id model.CheckID) bool { return id == c.ID })
	if len(ids) == 0 {
		delete(e.slugs, k)
	} else {
		e.slugs[k] = ids
	}
}

// LookupSlug returns the ids of the checks reachable as
// /ping/<pingKey>/<slug>: none, one, or several (an ambiguous slug).
func (e *Engine) LookupSlug(pingKey, slug string) []model.CheckID {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return slices.Clone(e.slugs[slugKey{pingKey, slug}])
}

// Get returns a copy of check id and its state, as of the last committed
// change. It never waits for a store write.
func (e *Engine) Get(id model.CheckID) (model.CheckState, bool) {
	en := e.entry(id)
	if en == nil {
		return model.CheckState{}, false
	}
	cs := en.snap.Load()
	return model.CheckState{Check: cs.Check, State: cs.State.Clone()}, true
}

// List returns copies of every check and its state, ordered by id, as of
// their last committed changes. It never waits for a store write.
// Len returns how many checks the engine holds, without copying them.
func (e *Engine) Len() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.checks)
}

func (e *Engine) List() []model.CheckState {
	e.mu.RLock()
	out := make([]model.CheckState, 0, len(e.checks))
	for _, en := range e.checks {
		cs := en.snap.Load()
		out = append(out, model.CheckState{Check: cs.Check, State: cs.State.Clone()})
	}
	e.mu.RUnlock()
	slices.SortFunc(out, func(a, b model.CheckState) int { return compareUUID(a.Check.ID, b.Check.ID) })
	return out
}

func compareUUID(a, b model.CheckID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// PendingDeadlines returns how many deadlines are armed (for metrics).
func (e *Engine) PendingDeadlines() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.sched == nil {
		return 0
	}
	return e.sched.Len()
}

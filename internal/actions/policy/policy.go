package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Window is a maintenance window or a silence: while it is open, the
// notifications of the checks it covers are held back (monitoring, state
// and actions' bookkeeping go on); when it closes, what is still in the
// announced state is sent, the rest is dropped.
//
// A window is one-off (Start, End) or recurring (Cron, Duration, TZ).
type Window struct {
	// Name is for logs and the API. Optional.
	Name string `json:"name,omitempty"`
	// Checks and Tags select the checks covered: a check listed, or
	// carrying one of the tags. Both empty: every check.
	Checks []model.CheckID `json:"checks,omitempty"`
	Tags   []string        `json:"tags,omitempty"`
	// Start and End bound a one-off window [Start, End).
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Cron (5 fields, github.com/robfig/cron/v3) starts a recurring window
	// of Duration, evaluated in TZ (IANA name; default UTC).
	Cron     string        `json:"cron,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	TZ       string        `json:"tz,omitempty"`

	sched cron.Schedule
	loc   *time.Location
	// label names the window in logs and held rows when it is a silence
	// (its id and comment, see Silence); empty: from Name.
	label string
}

// describe says what holds an alert back: `maintenance window "name"`, or
// the silence with its id and comment.
func (w *Window) describe(silence bool) string {
	switch {
	case w.label != "":
		return w.label
	case silence:
		return fmt.Sprintf("silence %q", w.Name)
	default:
		return fmt.Sprintf("maintenance window %q", w.Name)
	}
}

// same reports whether o is the same window as w (as configured).
func (w Window) same(o Window) bool {
	return w.Name == o.Name && w.label == o.label && slices.Equal(w.Checks, o.Checks) && slices.Equal(w.Tags, o.Tags) &&
		w.Start.Equal(o.Start) && w.End.Equal(o.End) && w.Cron == o.Cron && w.Duration == o.Duration && w.TZ == o.TZ
}

// compile validates w and parses its schedule.
func (w *Window) compile() error {
	var errs []error
	oneOff := !w.Start.IsZero() || !w.End.IsZero()
	switch {
	case oneOff && w.Cron != "":
		errs = append(errs, errors.New("start/end and cron: set one or the other"))
	case oneOff:
		if w.Start.IsZero() || w.End.IsZero() || !w.End.After(w.Start) {
			errs = append(errs, errors.New("end: must be after start"))
		}
	case w.Cron != "":
		if strings.Contains(w.Cron, "TZ=") {
			errs = append(errs, errors.New("cron: use tz, not a TZ= prefix"))
			break
		}
		s, err := cron.ParseStandard(w.Cron)
		if err != nil {
			errs = append(errs, fmt.Errorf("cron: %w", err))
		}
		w.sched = s
		if w.Duration <= 0 {
			errs = append(errs, errors.New("duration: required and positive with cron"))
		}
		tz := w.TZ
		if tz == "" {
			tz = "UTC"
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			errs = append(errs, fmt.Errorf("tz: %w", err))
		}
		w.loc = loc
	default:
		errs = append(errs, errors.New("start and end, or cron and duration: required"))
	}
	return errors.Join(errs...)
}

// Validate reports every problem of w, naming the fields.
func (w Window) Validate() error { return w.compile() }

// covers reports whether the window selects the check.
func (w *Window) covers(id model.CheckID, tags []string) bool {
	if len(w.Checks) == 0 && len(w.Tags) == 0 {
		return true
	}
	if slices.Contains(w.Checks, id) {
		return true
	}
	for _, t := range tags {
		if slices.Contains(w.Tags, t) {
			return true
		}
	}
	return false
}

// openAt returns the end of the window's occurrence open at t, if any.
func (w *Window) openAt(t time.Time) (time.Time, bool) {
	if w.sched == nil {
		return w.End, !t.Before(w.Start) && t.Before(w.End)
	}
	// The last start at or before t is the first one after t - Duration,
	// if that is not after t.
	s := w.sched.Next(t.Add(-w.Duration).In(w.loc))
	if s.After(t) {
		return time.Time{}, false
	}
	return s.Add(w.Duration), true
}

// StatusFunc returns a check's name and current status (the daemon wraps
// Engine.Get); ok is false for an unknown check.
type StatusFunc func(id model.CheckID) (name string, status model.Status, ok bool)

// PolicyStore is where a Suppression keeps its memory across restarts;
// store.Store has both methods.
type PolicyStore interface {
	PolicyStates(ctx context.Context) ([]store.PolicyState, error)
	UpdatePolicyState(ctx context.Context, s store.PolicyState) (ok bool, err error)
}

// Suppression is the outbox.Policy of dependencies, maintenance windows and
// silences:
//
//   - Dependencies: while one of a check's parents is down, the check's
//     notifications are dropped (its monitoring and state go on). A child
//     that goes down while its parents are up is held for DependencyDelay
//     first, so that a parent detected a little later still absorbs it; the
//     parent's down alert lists its children that are down (Also). Ten
//     children and their parent down: one alert. With a delay of 0 (the
//     default) a parent already down still absorbs its children's alerts.
//   - Maintenance windows (config) and silences (API): notifications made
//     while a window covering the check is open are held until it closes,
//     then sent if the check is still in the announced state, dropped if not.
//     A window or silence removed (a silence deleted through the API)
//     releases what it held at once (see OnRelease).
//   - A recovery is announced only if the alert before it was or will be:
//     not when that alert was dropped (absorbed by a parent, or superseded
//     while held), nor while it is still held (both are dropped then).
//
// What it decided about each check's last alert is its memory
// (store.PolicyState): Decide returns it in outbox.Verdict.Memory, the planner
// writes it in the flip's transaction and hands it to Remember once the
// flip is durable; Recheck writes its changes to the store (UpdatePolicyState)
// before it answers; Restore reads it back at start. So a restart forgets
// neither a child absorbed by its parent nor an alert a window holds.
//
// Safe for concurrent use; the Set methods replace their part atomically
// (config reload, API).
type Suppression struct {
	status StatusFunc
	log    *slog.Logger

	mu       sync.RWMutex
	delay    time.Duration
	parents  map[model.CheckID][]model.CheckID
	children map[model.CheckID][]model.CheckID
	windows  []Window
	silences []Window
	release  func()

	// memory holds the checks whose last decided alert was dropped or is
	// held (other checks have nothing to remember). st, when set, is
	// where Recheck writes its changes first.
	memMu  sync.Mutex
	memory map[model.CheckID]store.PolicyState
	st     PolicyStore
}

var _ outbox.Policy = (*Suppression)(nil)

// NewSuppression returns a policy reading current statuses through status,
// remembering in memory only until Restore gives it a store.
// dependencyDelay is how long a child's down alert waits for its parent
// (0: not at all).
func NewSuppression(status StatusFunc, dependencyDelay time.Duration) *Suppression {
	return &Suppression{status: status, delay: dependencyDelay, log: slog.Default(), memory: map[model.CheckID]store.PolicyState{}}
}

// Restore loads the memory kept in st (replacing what is in memory) and
// makes st where later changes are written. Call it before the engine
// decides its first flip (its Start fires the deadlines that passed while
// the watchdog was down).
func (s *Suppression) Restore(ctx context.Context, st PolicyStore) error {
	all, err := st.PolicyStates(ctx)
	if err != nil {
		return fmt.Errorf("policy memory: %w", err)
	}
	s.memMu.Lock()
	defer s.memMu.Unlock()
	s.memory = map[model.CheckID]store.PolicyState{}
	for _, m := range all {
		s.rememberLocked(m)
	}
	s.st = st
	return nil
}

// SetLogger sets where the policy logs (default slog.Default()). Call it
// before the policy is used.
func (s *Suppression) SetLogger(l *slog.Logger) { s.log = l }

// UseStore makes st where Recheck writes what it decides, without loading
// the memory kept there (Restore does both). Call it before the policy is
// used.
func (s *Suppression) UseStore(st PolicyStore) {
	s.memMu.Lock()
	s.st = st
	s.memMu.Unlock()
}

// OnRelease sets f, called (without locks held) after SetWindows or
// SetSilences removed or changed a window, so that the rows it held are
// looked at again at once instead of at its old end (the System passes
// Dispatcher.ReleaseHeld). f must not block.
func (s *Suppression) OnRelease(f func()) {
	s.mu.Lock()
	s.release = f
	s.mu.Unlock()
}

// SetDependencyDelay changes how long a child's down alert waits for its
// parents.
func (s *Suppression) SetDependencyDelay(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

// SetParents replaces the dependencies: parents[child] lists the child's
// parents. A check cannot be its own parent.
func (s *Suppression) SetParents(parents map[model.CheckID][]model.CheckID) error {
	ch := map[model.CheckID][]model.CheckID{}
	for c, ps := range parents {
		for _, p := range ps {
			if p == c {
				return fmt.Errorf("check %s: is its own parent", model.UniqueKey(c))
			}
			ch[p] = append(ch[p], c)
		}
	}
	s.mu.Lock()
	s.parents, s.children = parents, ch
	s.mu.Unlock()
	return nil
}

// SetWindows replaces the maintenance windows; all are validated first and
// none is set if one is invalid (errors name the window by index). A window
// removed or changed releases what it held (OnRelease).
func (s *Suppression) SetWindows(ws []Window) error {
	return s.setWindows(&s.windows, ws)
}

// SetSilences replaces the silences (API-managed windows), as SetWindows.
func (s *Suppression) SetSilences(ws []Window) error {
	return s.setWindows(&s.silences, ws)
}

func (s *Suppression) setWindows(list *[]Window, ws []Window) error {
	ws, err := compileAll(ws)
	if err != nil {
		return err
	}
	s.mu.Lock()
	removed := slices.ContainsFunc(*list, func(old Window) bool {
		return !slices.ContainsFunc(ws, old.same)
	})
	*list = ws
	release := s.release
	s.mu.Unlock()
	if removed && release != nil {
		release()
	}
	return nil
}

// ValidateWindows reports every problem of ws, each naming the window by
// index and name ("[0] nightly: cron: ...").
func ValidateWindows(ws []Window) error {
	_, err := compileAll(ws)
	return err
}

func compileAll(ws []Window) ([]Window, error) {
	ws = slices.Clone(ws)
	var errs []error
	for i := range ws {
		if err := ws[i].compile(); err != nil {
			errs = append(errs, fmt.Errorf("[%d] %s: %w", i, ws[i].Name, err))
		}
	}
	return ws, errors.Join(errs...)
}

// heldUntilLocked returns the latest end of the windows open at now that
// cover the check, and what holds it until then (for logs and held rows).
func (s *Suppression) heldUntilLocked(id model.CheckID, tags []string, now time.Time) (until time.Time, by string) {
	for _, list := range []struct {
		ws      []Window
		silence bool
	}{{s.windows, false}, {s.silences, true}} {
		for i := range list.ws {
			w := &list.ws[i]
			if !w.covers(id, tags) {
				continue
			}
			if end, ok := w.openAt(now); ok && end.After(until) {
				until, by = end, w.describe(list.silence)
			}
		}
	}
	return until, by
}

// Quiet reports whether notices that are not flips (late, certificate
// expiring) of check id are to be left out now, and why: a maintenance
// window or silence covering it is open, or one of its parents is down.
func (s *Suppression) Quiet(id model.CheckID, tags []string, now time.Time) (reason string, quiet bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if until, by := s.heldUntilLocked(id, tags, now); !until.IsZero() {
		return by, true
	}
	if name, down := s.downParentLocked(id); down {
		return fmt.Sprintf("parent %q is down", name), true
	}
	return "", false
}

// downParentLocked returns the name of a parent of id that is down.
func (s *Suppression) downParentLocked(id model.CheckID) (string, bool) {
	if s.status == nil {
		return "", false
	}
	for _, p := range s.parents[id] {
		if name, st, ok := s.status(p); ok && st == model.StatusDown {
			return name, true
		}
	}
	return "", false
}

// Decide implements outbox.Policy. It changes nothing: what the flip leaves in
// the memory is in the verdict's Memory.
func (s *Suppression) Decide(t model.Transition, now time.Time) outbox.Verdict {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id := t.Check.ID
	mem := store.PolicyState{CheckID: id, FlipID: t.Flip.ID}
	v := outbox.Verdict{Memory: &mem}
	if p, ok := s.downParentLocked(id); ok {
		mem.Dropped = t.Flip.To != model.StatusUp // a recovery ends what there was to remember
		v.Drop, v.Reason = true, fmt.Sprintf("parent %q is down", p)
		return v
	}
	if t.Flip.To == model.StatusUp {
		prev, _ := s.remembered(id)
		switch {
		case prev.Dropped:
			v.Drop, v.Reason = true, "the alert before it was dropped (absorbed by a parent, or superseded while held)"
			return v
		case prev.Held:
			v.Drop, v.Reason = true, "recovered before its held alert was released"
			return v
		}
	}
	if until, by := s.heldUntilLocked(id, t.Check.Tags, now); !until.IsZero() {
		v.HoldUntil, v.Reason = until, by
	}
	if t.Flip.To == model.StatusDown {
		if len(s.parents[id]) > 0 && s.delay > 0 && v.HoldUntil.IsZero() {
			v.HoldUntil, v.Reason = now.Add(s.delay), "waiting for its parents"
		}
		for _, c := range s.children[id] {
			if s.status == nil {
				break
			}
			if name, st, ok := s.status(c); ok && st == model.StatusDown {
				v.Also = append(v.Also, name)
			}
		}
		slices.Sort(v.Also)
	}
	mem.Held = t.Flip.To != model.StatusUp && v.HoldUntil.After(now)
	return v
}

// Remember implements outbox.Policy: the flip m is about is durable.
func (s *Suppression) Remember(m store.PolicyState) {
	s.memMu.Lock()
	defer s.memMu.Unlock()
	s.rememberLocked(m)
}

func (s *Suppression) rememberLocked(m store.PolicyState) {
	if m.Dropped || m.Held {
		s.memory[m.CheckID] = m
	} else {
		delete(s.memory, m.CheckID)
	}
}

// FlipQuiet reports whether the alert of check id's last flip was dropped
// (absorbed by a down parent) or is held (a window, a silence, the
// dependency delay): its channels were not told, or not yet.
func (s *Suppression) FlipQuiet(id model.CheckID) bool {
	m, ok := s.remembered(id)
	return ok && (m.Dropped || m.Held)
}

func (s *Suppression) remembered(id model.CheckID) (store.PolicyState, bool) {
	s.memMu.Lock()
	defer s.memMu.Unlock()
	m, ok := s.memory[id]
	return m, ok
}

// rememberRetry is how long a held row waits when the store could not take
// what the policy decided about it.
const rememberRetry = 5 * time.Second

// Recheck implements outbox.Policy: a held row is held longer while a window is
// still open (or, for a child's down, until DependencyDelay after the
// flip), dropped when a parent is down or the check is no longer in the
// announced state, sent otherwise. Released or dropped, its flip's held
// mark is cleared in the store first: if that write fails, the row is held
// a little longer and decided again.
func (s *Suppression) Recheck(n notify.Notification, now time.Time) outbox.Verdict {
	v := s.recheck(n, now)
	if n.Event == notify.EventGaveUp || v.HoldUntil.After(now) {
		return v
	}
	m, ok := s.remembered(n.CheckID)
	if !ok || m.FlipID != n.FlipID || !m.Held {
		return v
	}
	m.Held, m.Dropped = false, v.Drop
	if err := s.persist(m); err != nil {
		s.log.Error("alert policy: recording a released alert failed; holding it", "check", n.Check,
			"unique_key", model.UniqueKey(n.CheckID), "err", err)
		return outbox.Verdict{HoldUntil: now.Add(rememberRetry), Reason: "the store could not record the decision"}
	}
	return v
}

func (s *Suppression) recheck(n notify.Notification, now time.Time) outbox.Verdict {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if until, by := s.heldUntilLocked(n.CheckID, n.Tags, now); !until.IsZero() {
		return outbox.Verdict{HoldUntil: until, Reason: by}
	}
	if n.Event == notify.EventGaveUp {
		return outbox.Verdict{}
	}
	if p, ok := s.downParentLocked(n.CheckID); ok {
		return outbox.Verdict{Drop: true, Reason: fmt.Sprintf("parent %q is down", p)}
	}
	if n.State == model.StatusDown && len(s.parents[n.CheckID]) > 0 && s.delay > 0 {
		// Asked early (a window it was held by was removed): the wait for
		// the parents still applies.
		if until := n.Time.Add(s.delay); now.Before(until) {
			return outbox.Verdict{HoldUntil: until, Reason: "waiting for its parents"}
		}
	}
	if s.status != nil {
		if _, st, ok := s.status(n.CheckID); !ok || st != n.State {
			return outbox.Verdict{Drop: true, Reason: fmt.Sprintf("superseded: the check is %s now", st)}
		}
	}
	return outbox.Verdict{}
}

// persist writes m to the store (compare-and-set on its flip), then to
// memory if the store took it (a newer flip's memory is never replaced). A
// check deleted meanwhile has nothing left to remember.
func (s *Suppression) persist(m store.PolicyState) error {
	s.memMu.Lock()
	st := s.st
	s.memMu.Unlock()
	if st != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ok, err := st.UpdatePolicyState(ctx, m)
		cancel()
		if errors.Is(err, store.ErrNotFound) {
			return nil // its error names the check by UUID: not for a log
		}
		if err != nil || !ok {
			return err
		}
	}
	s.memMu.Lock()
	defer s.memMu.Unlock()
	if cur, ok := s.memory[m.CheckID]; ok && cur.FlipID == m.FlipID {
		s.rememberLocked(m)
	}
	return nil
}

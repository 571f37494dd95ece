package actions

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/vitals-go/vitals/internal/watchdog"
	"github.com/vitals-go/vitals/internal/watchdog/model"
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

// Suppression is the Policy of dependencies, maintenance windows and
// silences:
//
//   - Dependencies: while one of a check's parents is down, the check's
//     notifications are dropped (its monitoring and state go on). A child
//     that goes down while its parents are up is held for DependencyDelay
//     first, so that a parent detected a little later still absorbs it; the
//     parent's down alert lists its children that are down (Also). Ten
//     children and their parent down: one alert.
//   - Maintenance windows (config) and silences (API): notifications made
//     while a window covering the check is open are held until it closes,
//     then sent if the check is still in the announced state, dropped if not.
//
// Safe for concurrent use; the Set methods replace their part atomically
// (config reload, API).
type Suppression struct {
	status StatusFunc

	mu       sync.RWMutex
	delay    time.Duration
	parents  map[model.CheckID][]model.CheckID
	children map[model.CheckID][]model.CheckID
	windows  []Window
	silences []Window

	// dropped are the checks whose down alert a parent absorbed: their
	// recovery is not announced either (in memory: after a restart, such
	// a recovery is announced).
	droppedMu sync.Mutex
	dropped   map[model.CheckID]bool
	// held are the checks whose down alert a window holds: a recovery
	// inside the window drops both.
	held map[model.CheckID]bool
}

var _ Policy = (*Suppression)(nil)

// NewSuppression returns a policy reading current statuses through status.
// dependencyDelay is how long a child's down alert waits for its parent
// (0: not at all).
func NewSuppression(status StatusFunc, dependencyDelay time.Duration) *Suppression {
	return &Suppression{status: status, delay: dependencyDelay, dropped: map[model.CheckID]bool{}, held: map[model.CheckID]bool{}}
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
				return fmt.Errorf("check %s: is its own parent", c)
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
// none is set if one is invalid (errors name the window by index).
func (s *Suppression) SetWindows(ws []Window) error {
	ws, err := compileAll(ws)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.windows = ws
	s.mu.Unlock()
	return nil
}

// SetSilences replaces the silences (API-managed windows), as SetWindows.
func (s *Suppression) SetSilences(ws []Window) error {
	ws, err := compileAll(ws)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.silences = ws
	s.mu.Unlock()
	return nil
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
// cover the check.
func (s *Suppression) heldUntilLocked(id model.CheckID, tags []string, now time.Time) (time.Time, string) {
	var until time.Time
	var name string
	for _, list := range [][]Window{s.windows, s.silences} {
		for i := range list {
			w := &list[i]
			if !w.covers(id, tags) {
				continue
			}
			if end, ok := w.openAt(now); ok && end.After(until) {
				until, name = end, w.Name
			}
		}
	}
	return until, name
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

// Decide implements Policy.
func (s *Suppression) Decide(t watchdog.Transition, now time.Time) Verdict {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p, ok := s.downParentLocked(t.Check.ID); ok {
		s.markDropped(t.Check.ID, t.Flip.To == model.StatusDown)
		return Verdict{Drop: true, Reason: fmt.Sprintf("parent %q is down", p)}
	}
	if t.Flip.To == model.StatusUp && s.markDropped(t.Check.ID, false) {
		return Verdict{Drop: true, Reason: "its down alert was absorbed by a parent"}
	}
	var v Verdict
	if t.Flip.To == model.StatusUp && s.setHeld(t.Check.ID, false) {
		return Verdict{Drop: true, Reason: "recovered before its down alert was sent (maintenance window)"}
	}
	if until, name := s.heldUntilLocked(t.Check.ID, t.Check.Tags, now); !until.IsZero() {
		v.HoldUntil, v.Reason = until, fmt.Sprintf("maintenance window %q", name)
		if t.Flip.To == model.StatusDown {
			s.setHeld(t.Check.ID, true)
		}
	}
	if t.Flip.To == model.StatusDown {
		if len(s.parents[t.Check.ID]) > 0 && s.delay > 0 && v.HoldUntil.IsZero() {
			v.HoldUntil, v.Reason = now.Add(s.delay), "waiting for its parents"
		}
		for _, c := range s.children[t.Check.ID] {
			if s.status == nil {
				break
			}
			if name, st, ok := s.status(c); ok && st == model.StatusDown {
				v.Also = append(v.Also, name)
			}
		}
		slices.Sort(v.Also)
	}
	return v
}

// markDropped records (on) or clears the absorbed down alert of id and
// reports whether one was recorded.
func (s *Suppression) markDropped(id model.CheckID, on bool) bool {
	s.droppedMu.Lock()
	defer s.droppedMu.Unlock()
	was := s.dropped[id]
	if on {
		s.dropped[id] = true
	} else {
		delete(s.dropped, id)
	}
	return was
}

// setHeld records (on) or clears a down alert held by a window and
// reports whether one was recorded.
func (s *Suppression) setHeld(id model.CheckID, on bool) bool {
	s.droppedMu.Lock()
	defer s.droppedMu.Unlock()
	was := s.held[id]
	if on {
		s.held[id] = true
	} else {
		delete(s.held, id)
	}
	return was
}

// Recheck implements Policy: a held row is held longer while a window is
// still open, dropped when a parent is down or the check is no longer in
// the announced state, sent otherwise.
func (s *Suppression) Recheck(n Notification, now time.Time) Verdict {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if until, name := s.heldUntilLocked(n.CheckID, n.Tags, now); !until.IsZero() {
		return Verdict{HoldUntil: until, Reason: fmt.Sprintf("maintenance window %q", name)}
	}
	if n.Event == EventGaveUp {
		return Verdict{}
	}
	if p, ok := s.downParentLocked(n.CheckID); ok {
		s.markDropped(n.CheckID, n.State == model.StatusDown)
		return Verdict{Drop: true, Reason: fmt.Sprintf("parent %q is down", p)}
	}
	if s.status != nil {
		if _, st, ok := s.status(n.CheckID); !ok || st != n.State {
			return Verdict{Drop: true, Reason: fmt.Sprintf("superseded: the check is %s now", st)}
		}
	}
	if n.State == model.StatusDown {
		s.setHeld(n.CheckID, false) // announced: its recovery will be news
	}
	return Verdict{}
}

package watchdog

import (
	"errors"

	"github.com/vitals-go/vitals/internal/model"
)

// errStarted is what AddListener and AddPlanner answer once Start was
// called.
var errStarted = errors.New("watchdog: hooks must be registered before Start")

// AddListener registers l to be told of every committed flip, and, if l
// implements model.StateListener or model.CheckListener, of every state
// change or definition change (see those interfaces for the rules a
// listener follows). Listeners are called in the order they were
// registered.
//
// It must be called before Start: once Start was called (even if it
// failed, and after Close) it registers nothing and returns an error, so
// that the listeners never change while events are delivered. A nil l is
// an error too.
func (e *Engine) AddListener(l model.Listener) error {
	if l == nil {
		return errors.New("watchdog: nil listener")
	}
	e.hooksMu.Lock()
	defer e.hooksMu.Unlock()
	if e.started {
		return errStarted
	}
	e.listeners = append(e.listeners, l)
	return nil
}

// AddPlanner registers p to add outbox rows to each flip's transaction
// (and, if p implements store.UpdatePlanner, the fields it owns). Planners
// are called in the order they were registered; their rows are
// concatenated.
//
// Like AddListener, it must be called before Start, and returns an error
// (registering nothing) after it or for a nil p.
func (e *Engine) AddPlanner(p model.Planner) error {
	if p == nil {
		return errors.New("watchdog: nil planner")
	}
	e.hooksMu.Lock()
	defer e.hooksMu.Unlock()
	if e.started {
		return errStarted
	}
	e.planners = append(e.planners, p)
	return nil
}

// notifyState and notifyCheck read the hooks without a lock: they were
// registered before Start (hooksMu orders the appends before it), and
// every event is delivered after Start.
func (e *Engine) notifyState(en *entry) {
	for _, l := range e.listeners {
		if sl, ok := l.(model.StateListener); ok {
			sl.OnState(en.check, en.state.Clone())
		}
	}
}

func (e *Engine) notifyCheck(c model.Check, deleted bool) {
	e.changed(c.ID) // after the change is published (see Generation)
	for _, l := range e.listeners {
		if cl, ok := l.(model.CheckListener); ok {
			cl.OnCheck(c, deleted)
		}
	}
}

package watchdog

import (
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Transition is a committed (or, for a Planner, about to be committed) flip
// with the check and the state it produced.
type Transition struct {
	Check model.Check
	Flip  model.Flip
	State model.State
}

// Listener is told of every flip after it is durable, in order per check.
// OnFlip runs while the engine holds the check's lock: it must return
// quickly (hand slow work to its own goroutine) and must not call the
// engine for the same check. Listeners are called in registration order.
type Listener interface {
	OnFlip(Transition)
}

// ListenerFunc adapts a function to Listener.
type ListenerFunc func(Transition)

// OnFlip calls f(t).
func (f ListenerFunc) OnFlip(t Transition) { f(t) }

// StateListener is an optional interface of a Listener: OnState is called
// after every committed change of a check's state (pings, results, flips,
// reschedules), with copies, under the same rules as OnFlip.
type StateListener interface {
	OnState(c model.Check, s model.State)
}

// CheckListener is an optional interface of a Listener: OnCheck is called
// after a check was created or its definition updated (deleted false), or
// after it was deleted (deleted true). Under the same rules as OnFlip.
type CheckListener interface {
	OnCheck(c model.Check, deleted bool)
}

// Planner turns a flip into outbox rows before it is committed: the rows
// are written in the same transaction as the flip (see store.Update), so
// either both survive a crash or neither does. Plan runs under the check's
// lock, before the write: it must be fast, must not do I/O, and must return
// rows whose FlipID is t.Flip.ID. Planners are called in registration
// order; their rows are concatenated.
type Planner interface {
	Plan(t Transition) []model.Notification
}

// PlannerFunc adapts a function to Planner.
type PlannerFunc func(Transition) []model.Notification

// Plan calls f(t).
func (f PlannerFunc) Plan(t Transition) []model.Notification { return f(t) }

// UpdatePlanner is an optional interface of a Planner that adds more than
// outbox rows to a flip's transaction: the engine calls PlanUpdate instead
// of Plan, under the same rules, with the update being built. It appends
// its rows to u.Notifications and may set the fields it owns (the alert
// policy's memory, u.Policy). The function it returns, if not nil, is
// called once the update is durable, before the listeners, and never if
// the write failed: a planner's memory never runs ahead of the store.
type UpdatePlanner interface {
	Planner
	PlanUpdate(t Transition, u *store.Update) (committed func())
}

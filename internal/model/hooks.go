package model

import (
	"errors"
	"time"
)

// ErrNotRunning is what the engine answers before it started and after it
// was closed. It is declared here, below the engine, so that the faces
// (ping handler, API) that test for it need not import the engine; the
// API answers it 503. It is not the store's ErrClosed: a closed store is
// a store error, answered with its reason.
var ErrNotRunning = errors.New("watchdog engine not running")

// Transition is a committed (or, for a Planner, about to be committed) flip
// with the check and the state it produced. It is what the engine gives its
// hooks: the Listeners and Planners registered with it before it starts.
type Transition struct {
	Check Check
	Flip  Flip
	State State
	// FromSince is when the check entered Flip.From (the Since of the
	// state before the flip): on a recovery, when the outage began. Zero
	// when unknown.
	FromSince time.Time
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
	OnState(c Check, s State)
}

// CheckListener is an optional interface of a Listener: OnCheck is called
// after a check was created or its definition updated (deleted false), or
// after it was deleted (deleted true). Under the same rules as OnFlip.
type CheckListener interface {
	OnCheck(c Check, deleted bool)
}

// Planner turns a flip into outbox rows before it is committed: the rows
// are written in the same transaction as the flip (see store.Update, and
// store.UpdatePlanner for a Planner that writes more than rows), so either
// both survive a crash or neither does. Plan runs under the check's lock,
// before the write: it must be fast, must not do I/O, and must return rows
// whose FlipID is t.Flip.ID. Planners are called in registration order;
// their rows are concatenated.
type Planner interface {
	Plan(t Transition) []Notification
}

// PlannerFunc adapts a function to Planner.
type PlannerFunc func(Transition) []Notification

// Plan calls f(t).
func (f PlannerFunc) Plan(t Transition) []Notification { return f(t) }

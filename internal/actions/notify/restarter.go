package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/restart"
	"github.com/vitals-go/vitals/internal/model"
)

// Restarter restarts one target: a Docker container, a supervised process.
type Restarter interface {
	Restart(ctx context.Context) error
}

// RestarterFunc adapts a function to Restarter.
type RestarterFunc func(ctx context.Context) error

// Restart calls f(ctx).
func (f RestarterFunc) Restart(ctx context.Context) error { return f(ctx) }

// Observer is an optional interface of a Notifier: the Dispatcher (a
// watchdog listener) tells it of every committed flip of every check, so
// that a restart action can see its target has been stable. Observe must
// return quickly.
type Observer interface {
	Observe(f model.Flip)
}

// AttemptTimeouter is an optional interface of a Notifier that needs a
// longer (or shorter) attempt than the Dispatcher's AttemptTimeout: a
// positive AttemptTimeout replaces it.
type AttemptTimeouter interface {
	AttemptTimeout() time.Duration
}

// RetryAtError asks the Dispatcher to try the row again at At, not after
// the usual backoff: a restart action waiting out its restart delay (not a
// failed attempt), or a receiver's Retry-After (Failed: counted as an
// attempt towards MaxAttempts).
type RetryAtError struct {
	At     time.Time
	Err    error
	Failed bool
}

func (e *RetryAtError) Error() string {
	return fmt.Sprintf("%v (retry at %s)", e.Err, e.At.Format(time.RFC3339))
}
func (e *RetryAtError) Unwrap() error { return e.Err }

// ErrGaveUp is wrapped when a restart action gave up (too many restarts in its window).
var ErrGaveUp = errors.New("gave up restarting")

// ErrRestartDelayed is wrapped in the RetryAtError of a restart waiting for its delay.
var ErrRestartDelayed = errors.New("restart delayed by backoff")

// GaveUpFunc raises the "gave up" alert for n (Event EventGaveUp). The
// daemon sets it to Dispatcher.Raise with the action's alert channels.
type GaveUpFunc func(n Notification)

// Guard wraps a Restarter with loop protection: the delay and the window of
// a restart.Policy, and one "gave up" alert. It is the Notifier of the
// docker kind (and of any restart without its own supervisor). It watches
// its check's flips (Observer) to reset once the check has been up for
// StableAfter. Safe for concurrent use.
type Guard struct {
	// Timeout, when positive, is the attempt timeout the Dispatcher gives
	// Send (AttemptTimeouter) instead of its own. Set before use.
	Timeout time.Duration

	target   Restarter
	name     string
	onGaveUp GaveUpFunc
	now      func() time.Time

	mu     sync.Mutex
	lims   map[model.CheckID]*restart.Limiter // per check that routes here
	latest map[model.CheckID]model.Status     // their last observed status
	policy restart.Policy
}

var (
	_ Notifier = (*Guard)(nil)
	_ Observer = (*Guard)(nil)
)

// NewGuard returns a guarded restarter; name is for messages, onGaveUp may
// be nil (then giving up is only an error on the row).
func NewGuard(name string, target Restarter, p restart.Policy, onGaveUp GaveUpFunc) *Guard {
	return &Guard{target: target, name: name, onGaveUp: onGaveUp, now: time.Now, policy: p, lims: map[model.CheckID]*restart.Limiter{}, latest: map[model.CheckID]model.Status{}}
}

func (g *Guard) limLocked(id model.CheckID) *restart.Limiter {
	l := g.lims[id]
	if l == nil {
		l = restart.New(g.policy)
		g.lims[id] = l
	}
	return l
}

// AttemptTimeout implements AttemptTimeouter.
func (g *Guard) AttemptTimeout() time.Duration { return g.Timeout }

// Observe implements Observer: an up flip starts the stable time, a down
// flip ends it (resetting the window first if it lasted StableAfter).
func (g *Guard) Observe(f model.Flip) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.lims[f.CheckID]
	if l == nil {
		return
	}
	g.latest[f.CheckID] = f.To
	switch f.To {
	case model.StatusUp:
		l.Up(f.Time)
	default:
		l.Up(f.Time)
		l.Down()
	}
}

// Send restarts the target when the limiter allows it now; it returns a
// RetryAtError while the restart delay runs, and a permanent ErrGaveUp
// (raising the "gave up" alert the first time) past MaxRestarts. A row
// whose check has since left the state it was sent for (a delayed restart
// of a check that recovered) is done without a restart.
func (g *Guard) Send(ctx context.Context, n Notification) error {
	g.mu.Lock()
	if st, ok := g.latest[n.CheckID]; ok && st != n.State {
		g.mu.Unlock() // a delayed restart whose check recovered meanwhile
		return nil
	}
	l := g.limLocked(n.CheckID)
	now := g.now()
	d := l.Next(now)
	if d.GaveUp {
		g.mu.Unlock()
		if d.First && g.onGaveUp != nil {
			gn := n
			gn.Event, gn.FlipID, gn.Time = EventGaveUp, uuid.Nil, now // Raise derives its own key
			gn.Attempt, gn.Sent, gn.HeldUntil = 0, time.Time{}, time.Time{}
			gn.Reason = fmt.Sprintf("%s: %d restarts within %s, not restarting until the check has been up for %s",
				g.name, d.Restarts, l.Policy().Window, l.Policy().StableAfter)
			g.onGaveUp(gn)
		}
		return Permanent(fmt.Errorf("%s: %w", g.name, ErrGaveUp))
	}
	if d.At.After(now) {
		g.mu.Unlock()
		return &RetryAtError{At: d.At, Err: fmt.Errorf("%s: %w", g.name, ErrRestartDelayed)}
	}
	l.Record(now) // counted even if it fails: a failing restart is still a loop
	g.mu.Unlock()
	if err := g.target.Restart(ctx); err != nil {
		return fmt.Errorf("%s: %w", g.name, err)
	}
	return nil
}

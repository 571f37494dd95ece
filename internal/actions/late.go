package actions

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

// LateNotices tells a check's Routes.Late channels when the check becomes
// late: up, past its due time (State.Due) and not yet at its deadline,
// which the status page shows as "grace". Entering grace is no flip (the
// stored status stays up, and the engine arms no timer at the due time),
// so LateNotices is a listener that keeps one timer per check with late
// channels, armed at its due time by every committed state change and
// disarmed by the next ping (a new due time), a flip or a deletion.
//
// A notice is raised through the outbox (Raise: durable) with a flip id
// derived from the check and the due time, so the same lateness is
// announced once per channel even when raised again after a restart or
// by several replicas (the outbox keeps one row per flip and channel).
// Register it with the engine as a listener; call Seed with the engine's
// checks after the engine started (a check late across a restart), and
// Stop at shutdown.
type LateNotices struct {
	raise func(n notify.Notification, channels []string)
	quiet func(id model.CheckID, tags []string, now time.Time) (string, bool)
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	checks  map[model.CheckID]*lateEntry
	stopped bool
	wg      sync.WaitGroup
}

type lateEntry struct {
	check    model.Check
	due      time.Time
	deadline time.Time
	timer    *time.Timer
}

var (
	_ model.StateListener = (*LateNotices)(nil)
	_ model.CheckListener = (*LateNotices)(nil)
)

// NewLateNotices returns LateNotices raising through raise (the
// dispatcher's Raise), unless quiet (the Suppression's Quiet; may be nil)
// says the check's notices are left out now (a maintenance window, a
// silence, a parent down: the lateness is dropped). now defaults to time.Now (timers are real: tests
// use testing/synctest); log to slog.Default().
func NewLateNotices(raise func(n notify.Notification, channels []string), quiet func(model.CheckID, []string, time.Time) (string, bool), now func() time.Time, log *slog.Logger) *LateNotices {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &LateNotices{raise: raise, quiet: quiet, now: now, log: log, checks: map[model.CheckID]*lateEntry{}}
}

// OnFlip implements model.Listener (OnState sees the flip's state too).
func (l *LateNotices) OnFlip(model.Transition) {}

// OnState implements model.StateListener.
func (l *LateNotices) OnState(c model.Check, s model.State) { l.track(c, s) }

// OnCheck implements model.CheckListener: a deleted check's timer stops.
func (l *LateNotices) OnCheck(c model.Check, deleted bool) {
	if deleted {
		l.mu.Lock()
		l.untrackLocked(c.ID)
		l.mu.Unlock()
	}
}

// Seed tracks the engine's checks (after it started): a check already
// late is announced at once (the outbox drops the notice if it was raised
// before a restart).
func (l *LateNotices) Seed(refs []model.CheckRef) {
	for _, r := range refs {
		cs := r.Load()
		l.track(cs.Check, cs.State)
	}
}

// Stop stops every timer and waits for a notice being raised.
func (l *LateNotices) Stop() {
	l.mu.Lock()
	l.stopped = true
	for id := range l.checks {
		l.untrackLocked(id)
	}
	l.mu.Unlock()
	l.wg.Wait()
}

// late reports whether s can become late: up, no run open, a due time
// before its deadline.
func late(c model.Check, s model.State) bool {
	return len(c.Routes.Late) > 0 && s.Status == model.StatusUp && len(s.Runs) == 0 && !s.Due.IsZero() && s.Deadline.After(s.Due)
}

func (l *LateNotices) track(c model.Check, s model.State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	e := l.checks[c.ID]
	if !late(c, s) {
		l.untrackLocked(c.ID)
		return
	}
	if e != nil && e.due.Equal(s.Due) {
		e.check = c // routes may have changed
		return
	}
	l.untrackLocked(c.ID)
	e = &lateEntry{check: c, due: s.Due, deadline: s.Deadline}
	id, due := c.ID, s.Due
	e.timer = time.AfterFunc(max(due.Sub(l.now()), 0), func() { l.fire(id, due) })
	l.checks[c.ID] = e
}

func (l *LateNotices) untrackLocked(id model.CheckID) {
	if e := l.checks[id]; e != nil {
		e.timer.Stop()
		delete(l.checks, id)
	}
}

// fire raises the notice of check id late since due, unless a ping moved
// its due time (or it flipped, or was deleted) meanwhile.
func (l *LateNotices) fire(id model.CheckID, due time.Time) {
	l.mu.Lock()
	e := l.checks[id]
	if l.stopped || e == nil || !e.due.Equal(due) {
		l.mu.Unlock()
		return
	}
	delete(l.checks, id)
	c, deadline := e.check, e.deadline
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	if l.quiet != nil {
		if why, q := l.quiet(c.ID, c.Tags, l.now()); q {
			l.log.Info("late notice dropped", "check", c.Name, "unique_key", model.UniqueKey(c.ID), "reason", why)
			return
		}
	}
	n := LateNotice(c, due, deadline)
	l.log.Info("check is late", "check", c.Name, "unique_key", model.UniqueKey(c.ID), "due", due, "channels", c.Routes.Late)
	l.raise(n, c.Routes.Late)
}

// LateNotice is the notification that check c is late since due (down at
// deadline): its FlipID is derived from the check and the due time (one
// notice per lateness, whoever raises it).
func LateNotice(c model.Check, due, deadline time.Time) notify.Notification {
	return notify.Notification{
		Event: notify.EventLate, CheckID: c.ID, Check: c.Name, Tags: c.Tags,
		FlipID: uuid.NewSHA1(c.ID.UUID(), []byte("late@"+due.UTC().Format(time.RFC3339Nano))),
		State:  model.StatusGrace, Previous: model.StatusUp, Time: due.UTC(),
		Reason: fmt.Sprintf("no ping since it was due at %s; down at %s unless one arrives",
			due.UTC().Format(time.RFC3339), deadline.UTC().Format(time.RFC3339)),
	}
}

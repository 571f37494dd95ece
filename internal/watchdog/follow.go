package watchdog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/watchdog/machine"
)

// Writes from any replica (docs/ha-ownership.md). With Options.Leased on
// a store that is a store.Feed (PostgreSQL), every state write is a
// compare-and-set on the state's revision (store.Update.CAS): an event
// is decided on the state as last read, and when another replica wrote
// the check meanwhile the store refuses the write (store.ErrConflict),
// the engine re-reads the check and decides again (decideLocked). No
// update is lost, and none is applied twice: a refused write changed
// nothing. A replica that does not own the check writes with
// store.Update.Notify, so that the owner, which Follows the feed, re-reads
// the check at once and re-arms its deadline on what the write made of it.

// maxConflicts bounds how many times one event is decided again after a
// conflict; past it, or past Options.WriteTimeout, the event fails (a
// ping is answered 503 and the client retries). Conflicts need another
// replica writing the same check within the same few milliseconds; each
// try waits a random time first, up to a millisecond per try so far
// (at most maxConflictWait), so that two replicas writing one check in a
// stream do not keep colliding in step.
const (
	maxConflicts    = 64
	maxConflictWait = 20 * time.Millisecond
)

// read returns check id, its state and the state's revision (0 without a
// feed).
func (e *Engine) read(ctx context.Context, id model.CheckID) (model.Check, model.State, int64, error) {
	if e.feed != nil {
		return e.feed.GetCheckRev(ctx, id)
	}
	c, st, err := e.st.GetCheck(ctx, id)
	return c, st, 0, err
}

// decideLocked commits the event ev returns, and after a conflict reloads
// the check and commits ev's new event again, at most maxConflicts times.
// en.mu must be held.
func (e *Engine) decideLocked(ctx context.Context, en *entry, ev func() machine.Event) (machine.Outcome, error) {
	giveUp := time.Now().Add(e.opts.WriteTimeout)
	for attempt := 1; ; attempt++ {
		out, err := e.commitLocked(ctx, en, ev())
		if !errors.Is(err, store.ErrConflict) || attempt == maxConflicts || time.Now().After(giveUp) {
			return out, err
		}
		t := time.NewTimer(rand.N(min(time.Duration(attempt)*time.Millisecond, maxConflictWait)))
		select {
		case <-ctx.Done():
			t.Stop()
			return out, err
		case <-t.C:
		}
		if !e.reloadLocked(en) {
			return out, fmt.Errorf("check %s: %w", model.UniqueKey(en.check.ID), store.ErrNotFound)
		}
	}
}

// freshLocked makes the check's definition and state in memory fit for a
// decision of a Leased engine, and reports false when the check is gone
// from the store; en.mu must be held. A check this engine owns is decided
// on memory when the store is a feed: the owner hears of every other
// replica's write (Follow) and every write is compare-and-set, so a
// decision on a stale state or definition is refused and decided again
// (decideLocked) — one round trip saved per event in the common case. A
// check it does not own (memory not kept in step), or any check without
// a feed, is read from the store first.
func (e *Engine) freshLocked(en *entry) bool {
	if !e.opts.Leased || (en.owned && e.feed != nil && !en.stale) {
		return true
	}
	return e.reloadLocked(en)
}

// DefaultFollowPoll is Follow's default fallback poll period.
const DefaultFollowPoll = 10 * time.Second

// Follow keeps the checks this Leased engine owns in step with the writes
// other replicas make of them (a ping or a pause that landed on a replica
// that does not own the check), until ctx ends: on each notification of
// the store's feed it re-reads the checks named and re-arms their
// deadlines; after each (re)connection of the feed, and every poll
// (DefaultFollowPoll when zero) in case a notification was lost, it reads
// every check's revision in one statement and re-reads the owned checks
// whose revision moved. A lost notification thus delays the owner's
// deadline by at most a poll, and changes no decision: the owner also
// re-reads a check before each of its own events (its timer's included),
// and its writes are compare-and-set. It returns ctx's error, or an error
// at once when the engine has no feed.
func (e *Engine) Follow(ctx context.Context, poll time.Duration) error {
	if e.feed == nil {
		return errors.New("watchdog: Follow needs Options.Leased and a store.Feed store")
	}
	if poll <= 0 {
		poll = DefaultFollowPoll
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				e.catchUp(ctx)
			}
		}
	})
	return e.feed.Listen(ctx, func(ids []model.CheckID) {
		if ids == nil {
			e.catchUp(ctx)
			return
		}
		for _, id := range ids {
			e.refresh(id, -1)
		}
	})
}

// catchUp re-reads the owned checks whose stored revision differs from
// memory's (a check gone from the store is removed), and loads the checks
// another replica created (through its API), so that pings to them are
// taken here too.
func (e *Engine) catchUp(ctx context.Context) {
	revs, err := e.feed.Revisions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("watchdog: reading the checks' revisions failed; tried again at the next poll", "err", err)
		}
		return
	}
	e.mu.RLock()
	var owned, unknown []model.CheckID
	for id, en := range e.checks {
		if cs := en.ownedSnap.Load(); cs != nil && *cs {
			owned = append(owned, id)
		}
	}
	for id := range revs {
		if e.checks[id] == nil {
			unknown = append(unknown, id)
		}
	}
	e.mu.RUnlock()
	for _, id := range unknown {
		e.adopt(ctx, id)
	}
	for _, id := range owned {
		rev, ok := revs[id]
		if !ok {
			rev = -2 // gone: the reload removes it
		}
		e.refresh(id, rev)
	}
}

// adopt loads check id, created by another replica, into memory, not
// owned (a claim makes it owned), unless it is known by now.
func (e *Engine) adopt(ctx context.Context, id model.CheckID) {
	c, st, rev, err := e.read(ctx, id)
	if err != nil {
		return // deleted meanwhile, or the store unreadable: the next poll
	}
	e.mu.Lock()
	if !e.running || e.checks[id] != nil {
		e.mu.Unlock()
		return
	}
	en := &entry{check: c, state: st, rev: rev}
	en.setOwnedLocked(false)
	en.publishLocked()
	e.checks[id] = en
	e.indexLocked(c)
	e.mu.Unlock()
	e.notifyCheck(c, false)
}

// refresh re-reads check id if this engine owns it and its revision in
// memory is not rev (-1: whatever it is).
func (e *Engine) refresh(id model.CheckID, rev int64) {
	en := e.entry(id)
	if en == nil {
		return
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.deleted || !en.owned || (rev >= 0 && en.rev == rev) {
		return
	}
	old := en.rev
	e.reloadLocked(en)
	e.log.Debug("watchdog: owned check re-read", "unique_key", model.UniqueKey(id), "rev", old, "now", en.rev,
		"status", en.state.Status, "deadline", en.state.Deadline)
}

// Armed returns the deadline armed for check id, if any: those of the
// checks this engine owns. For tests and diagnostics.
func (e *Engine) Armed(id model.CheckID) (time.Time, bool) {
	e.mu.RLock()
	sched := e.sched
	e.mu.RUnlock()
	if sched == nil {
		return time.Time{}, false
	}
	return sched.Get(id)
}

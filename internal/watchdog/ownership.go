package watchdog

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// ErrNotOwner: a probe result reported to a Leased engine for a check it
// does not own (it lost the check while the probe ran). Nothing was
// written.
var ErrNotOwner = errors.New("watchdog: this replica does not own the check")

// Ownership, with Options.Leased (docs/ha-ownership.md). The engine keeps
// every check in memory, for reads and for the pings that land on it, but
// runs the deadline timers (and the pull scheduler the probes, through
// Owns) only of the checks whose lease it holds: internal/cluster claims
// leases and tells the engine with Acquire and Release. Every write of an
// owned check carries its lease (store.Update.Fence), so that once another
// replica has taken the check over, the store refuses the write
// (store.ErrFenced) and the engine drops the check at once: a replica
// paused past its lease writes no flip when it resumes.
//
// Without Options.Leased every check is owned, from its load or creation,
// and no write is fenced: one process, as before.

// Owns reports whether the engine runs check id's timers and probes
// (always, unless Options.Leased). Safe for concurrent use; it never waits
// for a store write.
func (e *Engine) Owns(id model.CheckID) bool {
	if !e.opts.Leased {
		return true
	}
	en := e.entry(id)
	if en == nil {
		return false
	}
	cs := en.ownedSnap.Load()
	return cs != nil && *cs
}

// Acquire makes the engine the owner of check id under lease f: it loads
// the check and its state from the store (after the claim, so that every
// write of the previous owner is in it), keeps f for the check's writes,
// and arms its deadline, which fires at once if it passed while nobody
// owned the check: the missed deadline is announced by this owner, once
// (a second announcement would need the previous epoch, which the store
// refuses). Acquiring a check already owned replaces its fence (a lease
// lost and claimed again). ErrNotFound if the check is not in the store
// (deleted or retired). Only for a Leased engine.
func (e *Engine) Acquire(ctx context.Context, id model.CheckID, f store.Fence) error {
	if !e.opts.Leased {
		return errors.New("watchdog: Acquire needs Options.Leased")
	}
	c, st, rev, err := e.read(ctx, id)
	if err != nil {
		return fmt.Errorf("acquire check %s: %w", model.UniqueKey(id), err)
	}
	e.mu.Lock()
	if !e.running {
		e.mu.Unlock()
		return model.ErrNotRunning
	}
	en, known := e.checks[id]
	if !known {
		en = &entry{check: c, state: st, rev: rev}
		en.publishLocked()
		e.checks[id] = en
		e.indexLocked(c)
	}
	e.mu.Unlock()
	if !known {
		e.notifyCheck(c, false)
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.deleted {
		return fmt.Errorf("acquire check %s: %w", id, store.ErrNotFound)
	}
	if known && !e.reloadLocked(en) {
		return fmt.Errorf("acquire check %s: %w", id, store.ErrNotFound)
	}
	en.fence = f
	en.setOwnedLocked(true)
	e.sched.Set(id, en.state.Deadline)
	e.log.Debug("watchdog: check acquired", "unique_key", model.UniqueKey(id), "epoch", f.Epoch, "rev", en.rev,
		"status", en.state.Status, "deadline", en.state.Deadline, "stale", en.stale)
	return nil
}

// Release stops the engine owning check id: its timers stop and its
// writes are no longer fenced with the lease (an event landing on this
// replica is then written as any non-owner's). It waits for the check's
// event in progress, so that once it returns no write of the lease is in
// flight: the caller may give the lease up. Unknown ids are ignored.
func (e *Engine) Release(id model.CheckID) {
	en := e.entry(id)
	if en == nil {
		return
	}
	en.mu.Lock()
	defer en.mu.Unlock()
	if en.owned && e.opts.Leased {
		e.flushLocked(en) // under the lease still: the next owner reads it
		e.disownLocked(en, "")
		e.log.Debug("watchdog: check released", "unique_key", model.UniqueKey(id))
	}
}

// disownLocked drops the check's ownership (logging why, when reason is
// not empty); en.mu must be held.
func (e *Engine) disownLocked(en *entry, reason string) {
	if !e.opts.Leased {
		return
	}
	en.fence = store.Fence{}
	en.dirty = false // the routine results held are the next owner's to redo
	en.setOwnedLocked(false)
	if e.sched != nil {
		e.sched.Remove(en.check.ID)
	}
	if reason != "" {
		e.log.Warn("check lost: "+reason, "check", en.check.Name, "unique_key", model.UniqueKey(en.check.ID))
	}
}

// setOwnedLocked sets en.owned and its snapshot for Owns; en.mu must be
// held.
func (en *entry) setOwnedLocked(owned bool) {
	en.owned = owned
	en.ownedSnap.Store(&owned)
}

// reloadLocked replaces the check's definition and state in memory with
// the store's, for a Leased engine whose events may have been written by
// another replica; en.mu must be held. A check gone from the store
// (deleted or retired by another replica) is removed from memory and
// reloadLocked returns false. When the store cannot be read, memory is
// kept (an owner's write is fenced in any case).
func (e *Engine) reloadLocked(en *entry) bool {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.WriteTimeout)
	defer cancel()
	c, st, rev, err := e.read(ctx, en.check.ID)
	if errors.Is(err, store.ErrNotFound) {
		en.deleted = true
		e.disownLocked(en, "")
		e.mu.Lock()
		if e.checks[en.check.ID] == en {
			delete(e.checks, en.check.ID)
			e.unindexLocked(en.check)
		}
		e.mu.Unlock()
		e.notifyCheck(en.check, true)
		return false
	}
	if err != nil {
		e.log.Debug("watchdog: re-reading a check failed; memory kept", "unique_key", model.UniqueKey(en.check.ID), "err", err)
		return true
	}
	redefined := !equalChecks(c, en.check)
	if redefined {
		e.mu.Lock()
		e.unindexLocked(en.check)
		en.check = c
		e.indexLocked(c)
		e.mu.Unlock()
	}
	if en.owned && !st.Deadline.Equal(en.state.Deadline) {
		e.sched.Set(en.check.ID, st.Deadline)
	}
	en.state, en.stale, en.rev, en.dirty = st, false, rev, false
	en.publishLocked()
	if redefined {
		e.changed(c.ID) // now that the new definition is published
	}
	return true
}

package watchdog

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Coalesced results (docs/watchdog-architecture.md, "Routine probe results
// are written in batches"). A probe result that only
// confirms its check's status (machine.Outcome.Routine: an up check's
// success after a success, a down check's failure after a failure with the
// same reason) moves nothing but last_ping, the duration, the streak's
// length and the history's newest bits. Writing each one durably was
// about half the CPU of 10,000 pull checks every 10 s (BENCHMARKS.md). So
// such a result is applied to memory at once (Get, List, the listeners:
// the API, metrics and the status page see it) and the check is marked
// dirty; every Options.ResultFlush the flusher writes the newest state of
// every dirty check, up to flushBatch at a time, and Close writes the last
// ones. Anything else (a flip, a changed reason, a step of a threshold's
// count, a pause, a ping) is written before it is acted on, as before, and
// its write carries the routine results held with it (the state written
// is complete).
//
// A batch never overwrites a newer state or another replica's: the
// flusher holds each check's lock across its write, as an event does, so
// the write goes to the store after every earlier write of the check and
// before any later one; a Leased engine's batch writes are fenced with the
// check's lease and compare-and-set on its revision, like its events'. A
// fenced write drops the check (another replica owns it: its results are
// the new owner's to make); a conflicting one (another replica wrote the
// check) leaves the stored state standing and marks the check for a
// re-read before its next event. Release writes the check's held results
// before the lease is given up. A Leased engine without a feed decides on
// the store's state before every event, so it holds nothing back.

// DefaultResultFlush is Options.ResultFlush's default: routine results of
// a check probed every 10 s are written about once every third probe.
const DefaultResultFlush = 30 * time.Second

// flushBatch bounds how many checks one flush writes at once (their locks
// held until the batch is written; a store that group-commits writes them
// in a transaction or a few).
const flushBatch = 512

// heldResults is the engine's list of dirty checks and its flusher.
type heldResults struct {
	mu      sync.Mutex
	closing bool     // Close is flushing: results are written at once
	dirty   []*entry // checks marked dirty since the last flush (or retried)
	stopc   chan struct{}
	done    chan struct{}
}

// start runs the flusher, unless routine results are written at once.
func (h *heldResults) start(e *Engine) {
	if e.opts.ResultFlush <= 0 {
		return
	}
	h.stopc, h.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(h.done)
		t := time.NewTicker(e.opts.ResultFlush)
		defer t.Stop()
		for {
			select {
			case <-h.stopc:
				return
			case <-t.C:
				e.flush(false)
			}
		}
	}()
}

// stop stops the flusher and writes every result held; from then on,
// routine results are written at once.
func (h *heldResults) stop(e *Engine) {
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	if h.stopc != nil {
		close(h.stopc)
		<-h.done
		h.stopc = nil
	}
	e.flush(true)
}

// Dirty returns how many checks hold routine results not written yet (a
// check whose lock is taken, being decided or written, counts as one).
func (e *Engine) Dirty() int {
	e.held.mu.Lock()
	defer e.held.mu.Unlock()
	seen := make(map[*entry]bool, len(e.held.dirty))
	for _, en := range e.held.dirty {
		if seen[en] {
			continue
		}
		if en.mu.TryLock() {
			seen[en] = en.dirty
			en.mu.Unlock()
		} else {
			seen[en] = true
		}
	}
	n := 0
	for _, d := range seen {
		if d {
			n++
		}
	}
	return n
}

// holdLocked applies the routine result's state st to memory without
// writing it, and reports whether it did; false means the caller writes
// it (routine results are written at once, the check is not owned, its
// memory is not trusted, or the engine is closing). en.mu must be held.
func (e *Engine) holdLocked(en *entry, st model.State) bool {
	if e.opts.ResultFlush <= 0 || !en.owned || en.stale || e.opts.Leased && e.feed == nil {
		return false
	}
	if !en.dirty {
		e.held.mu.Lock()
		closing := e.held.closing
		if !closing {
			e.held.dirty = append(e.held.dirty, en)
		}
		e.held.mu.Unlock()
		if closing {
			return false
		}
		en.dirty = true
	}
	en.state = st
	en.publishLocked()
	e.notifyState(en)
	return true
}

// flush writes the held results of every dirty check. The periodic flush
// skips a check whose lock is taken (an event in progress writes it, or it
// waits for the next flush) and keeps a check whose write failed for the
// next; the final one (final: from Close) waits for every check's lock and
// gives up on failed writes, logging them.
func (e *Engine) flush(final bool) {
	for {
		e.held.mu.Lock()
		list := e.held.dirty
		e.held.dirty = nil
		e.held.mu.Unlock()
		if len(list) == 0 {
			return
		}
		var busy, failed []*entry
		for len(list) > 0 {
			n := min(len(list), flushBatch)
			batch := make([]*entry, 0, n)
			for _, en := range list[:n] {
				if !en.mu.TryLock() {
					busy = append(busy, en)
					continue
				}
				if !en.dirty || en.deleted || !en.owned {
					en.mu.Unlock()
					continue
				}
				batch = append(batch, en)
			}
			list = list[n:]
			failed = append(failed, e.writeHeld(batch)...)
		}
		if !final {
			e.held.mu.Lock()
			e.held.dirty = append(append(e.held.dirty, busy...), failed...)
			e.held.mu.Unlock()
			return
		}
		for _, en := range busy {
			en.mu.Lock()
			if en.dirty && !en.deleted && en.owned {
				failed = append(failed, e.writeHeld([]*entry{en})...)
			} else {
				en.mu.Unlock()
			}
		}
		if len(failed) > 0 {
			e.log.Error("watchdog: routine probe results not written at shutdown; the checks' last results are older after a restart",
				"checks", len(failed))
		}
	}
}

// writeHeld writes the state of each check of batch, whose locks are held,
// in parallel (one group commit for a store that batches), settles each
// write's outcome and unlocks the checks. It returns the checks whose write
// failed and which are still dirty.
func (e *Engine) writeHeld(batch []*entry) []*entry {
	if len(batch) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.WriteTimeout)
	defer cancel()
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	for i, en := range batch {
		u := e.heldUpdateLocked(en)
		wg.Go(func() { errs[i] = e.st.Apply(ctx, u) })
	}
	wg.Wait()
	var failed []*entry
	var firstErr error
	for i, en := range batch {
		if !e.settleHeldLocked(en, errs[i]) {
			failed = append(failed, en)
			if firstErr == nil {
				firstErr = errs[i]
			}
		}
		en.mu.Unlock()
	}
	if firstErr != nil {
		e.log.Warn("watchdog: writing routine probe results failed; retrying at the next flush", "checks", len(failed), "err", firstErr)
	}
	return failed
}

// flushLocked writes the check's held results now (Release, before the
// lease is given up). en.mu must be held.
func (e *Engine) flushLocked(en *entry) {
	if !en.dirty {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.WriteTimeout)
	defer cancel()
	err := e.st.Apply(ctx, e.heldUpdateLocked(en))
	if !e.settleHeldLocked(en, err) {
		e.log.Debug("watchdog: writing routine probe results failed", "unique_key", model.UniqueKey(en.check.ID), "err", err)
	}
}

// heldUpdateLocked is the write of the check's state as held: fenced and
// compare-and-set as an event's (commitLocked).
func (e *Engine) heldUpdateLocked(en *entry) store.Update {
	return store.Update{CheckID: en.check.ID, State: en.state, Fence: en.fence, CAS: e.feed != nil, Rev: en.rev}
}

// settleHeldLocked applies the outcome of a held state's write and
// reports whether it is settled (false: a failure worth retrying).
func (e *Engine) settleHeldLocked(en *entry, err error) bool {
	switch {
	case err == nil:
		en.dirty = false
		en.rev++
	case errors.Is(err, store.ErrNotFound):
		en.dirty = false // deleted or retired meanwhile
	case errors.Is(err, store.ErrFenced):
		e.disownLocked(en, "a write was fenced: another replica holds the check's lease")
	case errors.Is(err, store.ErrConflict):
		// Another replica wrote the check: its state stands, and the
		// next event re-reads it (commitLocked, freshLocked).
		en.dirty, en.stale = false, true
	default:
		return false
	}
	return true
}

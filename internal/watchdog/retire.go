package watchdog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/watchdog/machine"
)

// restore brings the retired check c.ID back into service with the
// definition c (defaults applied, validated, Created kept from the stored
// one) and the state it had when retired; its deadline is re-derived under
// the new schedule, and fires at once if it passed meanwhile (no ping was
// accepted while it was retired). ok is false, with no error, when no
// retired check has that id.
func (e *Engine) restore(ctx context.Context, c model.Check) (_ model.Check, ok bool, _ error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return model.Check{}, false, err
	}
	e.mu.RLock()
	running, exists := e.running, e.checks[c.ID] != nil
	e.mu.RUnlock()
	if !running {
		return model.Check{}, false, model.ErrNotRunning
	}
	if exists {
		return model.Check{}, false, nil
	}
	c.Updated = e.now().UTC()
	got, st, err := e.st.RestoreCheck(ctx, c)
	if errors.Is(err, store.ErrNotFound) {
		return model.Check{}, false, nil
	}
	if err != nil {
		return model.Check{}, false, err
	}
	en := &entry{check: got, state: st}
	en.mu.Lock()
	defer en.mu.Unlock()
	en.setOwnedLocked(!e.opts.Leased)
	en.publishLocked()
	e.mu.Lock()
	e.checks[got.ID] = en
	e.indexLocked(got)
	e.mu.Unlock()
	if en.owned {
		e.sched.Set(got.ID, st.Deadline)
	}
	if _, err := e.commitLocked(ctx, en, machine.Event{Kind: machine.Reschedule, Now: e.now()}); err != nil {
		e.log.Warn("watchdog: rescheduling a restored check failed", "check", got.Name, "unique_key", model.UniqueKey(got.ID), "err", err)
	}
	e.log.Info("check restored with its history", "check", got.Name, "unique_key", model.UniqueKey(got.ID), "status", en.state.Status)
	e.notifyCheck(got, false)
	return got, true, nil
}

// PurgeRetired deletes, with their history, the checks retired longer
// than Options.RetiredRetention ago (by Options.Now), and returns how many
// it deleted. The engine's sweep calls it at Start and every
// Options.SweepInterval until Close.
func (e *Engine) PurgeRetired(ctx context.Context) (int, error) {
	gone, err := e.st.PurgeRetired(ctx, e.now().Add(-e.opts.RetiredRetention))
	for _, rc := range gone {
		e.log.Info("retired check purged with its history", "check", rc.Check.Name, "unique_key", model.UniqueKey(rc.Check.ID),
			"retired", rc.Retired)
	}
	if err != nil {
		return len(gone), fmt.Errorf("watchdog: purge retired checks: %w", err)
	}
	return len(gone), nil
}

// sweep runs PurgeRetired now and every SweepInterval until ctx ends.
func (e *Engine) sweep(ctx context.Context) {
	defer e.wg.Done()
	t := time.NewTicker(e.opts.SweepInterval)
	defer t.Stop()
	for {
		if _, err := e.PurgeRetired(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("watchdog: sweeping retired checks failed; trying again at the next sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

package watchdog

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vitals-go/vitals/internal/model"
)

// SyncResult says what Sync changed: checks created, updated, restored
// (retired ones brought back with their history), retired, and left
// unchanged.
type SyncResult struct {
	Created, Updated, Restored, Retired, Unchanged int
}

// syncConcurrency bounds the parallel store writes of Sync; concurrent
// writes share group commits, so 10,000 checks load in seconds.
const syncConcurrency = 64

// Sync makes the checks of one source equal to want: it creates the new
// ones, updates the changed ones (keeping their state), restores the
// retired ones want lists again (with their state and history, see
// Retire), and retires the checks of that source that want no longer
// lists: they are no longer watched, and their history is kept for
// Options.RetiredRetention, so that a check dropped by a mistaken config
// comes back whole when the config is fixed. Checks of other sources are
// untouched. Every check in want must have a non-nil ID (stable across
// reloads, so that state survives) and gets Source = source.
//
// It is meant for the config loader: validate the whole file first (with
// model.Check.Validate), then Sync. Sync validates again and applies
// nothing if any check is invalid; store errors on single checks are
// joined in the returned error, the other checks are still applied.
func (e *Engine) Sync(ctx context.Context, source string, want []model.Check) (SyncResult, error) {
	var res SyncResult
	var errs []error
	seen := make(map[model.CheckID]bool, len(want))
	for i := range want {
		want[i].Source = source
		c := want[i].WithDefaults()
		if c.ID.IsZero() {
			errs = append(errs, fmt.Errorf("check %q: %w: id: required for Sync", c.Name, model.ErrInvalidCheck))
			continue
		}
		if seen[c.ID] {
			errs = append(errs, fmt.Errorf("check %q: %w: id: %s used twice", c.Name, model.ErrInvalidCheck, model.UniqueKey(c.ID)))
		}
		seen[c.ID] = true
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("check %q: %w", c.Name, err))
		}
	}
	if len(errs) > 0 {
		return res, errors.Join(errs...)
	}

	var mu sync.Mutex
	sem := make(chan struct{}, syncConcurrency)
	var wg sync.WaitGroup
	for _, c := range want {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, exists := e.Get(c.ID)
			restored, changed := false, false
			var err error
			if !exists {
				_, restored, err = e.restore(ctx, c)
			}
			if err == nil && !restored {
				_, changed, err = e.Upsert(ctx, c)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("check %q: %w", c.Name, err))
			case restored:
				res.Restored++
			case !changed:
				res.Unchanged++
			case exists:
				res.Updated++
			default:
				res.Created++
			}
		}()
	}
	wg.Wait()
	refs, _ := e.Refs() // no copy of every check (List would copy and sort 100,000)
	for _, r := range refs {
		cs := r.Load()
		if cs.Check.Source != source || seen[cs.Check.ID] {
			continue
		}
		if err := e.Retire(ctx, cs.Check.ID); err != nil {
			errs = append(errs, fmt.Errorf("retire check %q: %w", cs.Check.Name, err))
			continue
		}
		res.Retired++
	}
	return res, errors.Join(errs...)
}

package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// checkIDs returns how the config's checks that set no id get one (see
// config.IDs): from the installation secret, except those whose legacy
// id (config.LegacyCheckID, from versions that derived ids from names
// alone) is a config check in the store already: they keep it, so that
// the ping URLs of an existing installation do not change. The store is
// asked rather than the engine so that a check the engine does not hold
// (removed from the file and kept for a while) keeps its id too.
func (d *Daemon) checkIDs(ctx context.Context, cfg *config.Config) (config.IDs, error) {
	ids := config.IDs{Secret: d.idSecret, Legacy: map[string]bool{}}
	legacy := cfg.LegacyIDs()
	stored, err := d.storedChecks(ctx, slices.Collect(maps.Values(legacy)))
	if err != nil {
		return config.IDs{}, fmt.Errorf("looking up the ids of the config's checks: %w", err)
	}
	for name, id := range legacy {
		if c, ok := stored[id]; ok && c.Source == model.SourceConfig {
			ids.Legacy[name] = true
		}
	}
	return ids, nil
}

// bootUpdated replaces c's definition in d.boot (after a write of New's),
// so that d.boot stays what the store holds.
func (d *Daemon) bootUpdated(c model.Check) {
	if d.boot == nil {
		return
	}
	if d.bootIdx == nil { // built at the first write: most starts write none
		d.bootIdx = make(map[model.CheckID]int, len(d.boot))
		for i, cs := range d.boot {
			d.bootIdx[cs.Check.ID] = i
		}
	}
	if i, ok := d.bootIdx[c.ID]; ok {
		d.boot[i].Check = c
	}
}

// manyLookups is the number of checks past which storedChecks reads every
// check at once rather than one by one: one query for 100,000 checks
// rather than 100,000 (most of a restart's time, before).
var manyLookups = 64 // a variable for tests

// storedChecks returns the live checks of the store among ids (those
// absent or retired are not in the map): with GetCheck for a few, with one
// ListChecks for many (d.boot while New runs: the definitions' sources
// and routes, all that is read here, are New's own to change then).
func (d *Daemon) storedChecks(ctx context.Context, ids []model.CheckID) (map[model.CheckID]model.Check, error) {
	out := make(map[model.CheckID]model.Check, len(ids))
	if len(ids) > manyLookups || d.boot != nil {
		all := d.boot
		if all == nil {
			var err error
			if all, err = d.st.ListChecks(ctx); err != nil {
				return nil, err
			}
		}
		want := make(map[model.CheckID]bool, len(ids))
		for _, id := range ids {
			want[id] = true
		}
		for _, cs := range all {
			if want[cs.Check.ID] {
				out[cs.Check.ID] = cs.Check
			}
		}
		return out, nil
	}
	for _, id := range ids {
		c, _, err := d.st.GetCheck(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("check %s: %w", model.UniqueKey(id), err)
		default:
			out[id] = c
		}
	}
	return out, nil
}

// warnLegacyIDs logs, for each check that keeps a legacy id, that its
// ping URL can be computed from its name, and how to change that.
func (d *Daemon) warnLegacyIDs(ids config.IDs) {
	for _, name := range slices.Sorted(maps.Keys(ids.Legacy)) {
		d.log.Warn("the ping URL of this check is derived from its name alone: anyone who knows the name can ping it",
			"check", name, "unique_key", model.UniqueKey(config.LegacyCheckID(name)),
			"fix", "give it a random id: in the config, or set pings.keep_legacy_ids: false to move every such check to an unguessable id; then read the new ping_url from GET /api/v3/checks/ (read-write key) and update the clients (docs/pings.md)")
	}
}

// CheckID returns the id of the config check named name in the running
// daemon, model.CheckID{} if there is none (for tests and tools: ids of checks
// that set none are derived from the installation secret).
func (d *Daemon) CheckID(name string) model.CheckID {
	for _, cs := range d.eng.List() {
		if cs.Check.Source == model.SourceConfig && cs.Check.Name == name {
			return cs.Check.ID
		}
	}
	return model.CheckID{}
}

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
	for name, legacy := range cfg.LegacyIDs() {
		c, _, err := d.st.GetCheck(ctx, legacy)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return config.IDs{}, fmt.Errorf("looking up the id of check %q: %w", name, err)
		case c.Source == model.SourceConfig:
			ids.Legacy[name] = true
		}
	}
	return ids, nil
}

// warnLegacyIDs logs, for each check that keeps a legacy id, that its
// ping URL can be computed from its name, and how to change that.
func (d *Daemon) warnLegacyIDs(ids config.IDs) {
	for _, name := range slices.Sorted(maps.Keys(ids.Legacy)) {
		d.log.Warn("the ping URL of this check is derived from its name alone: anyone who knows the name can ping it",
			"check", name, "unique_key", model.UniqueKey(config.LegacyCheckID(name)),
			"fix", "give it a random id: in the config, or set pings.keep_legacy_ids: false to move every such check to an unguessable id; then read the new ping_url from GET /api/v1/checks (read-write key) and update the clients (docs/pings.md)")
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

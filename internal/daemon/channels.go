package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
)

// maxRouteWarnings bounds the checks named one by one by warnRoutes; the
// rest are counted.
const maxRouteWarnings = 20

// warnRoutes logs, at start and after every reload, what is wrong with
// the channels of the checks the engine holds, given the configured
// channels: one warning per check made through the API or a ping whose
// routes name a channel that is not configured (renamed or removed: its
// alerts will fail, see docs/actions.md), at most maxRouteWarnings of
// them and then a count; and one line counting the checks with no
// channels at all (they never alert). Config checks cannot name an
// unknown channel: the loader refuses it. Checks are named by name and
// unique key, never by UUID.
func (d *Daemon) warnRoutes(chans []model.Channel) {
	known := make(map[string]bool, len(chans))
	for _, c := range chans {
		known[c.Name] = true
	}
	var none, noneConfig, unknown int
	refs, _ := d.eng.Refs()
	slices.SortFunc(refs, func(a, b model.CheckRef) int { // the warnings in a stable order, without copying every check
		x, y := a.Load().Check.ID, b.Load().Check.ID
		return bytes.Compare(x[:], y[:])
	})
	for _, r := range refs {
		c := &r.Load().Check
		if c.Routes.IsZero() {
			none++
			if c.Source == model.SourceConfig {
				noneConfig++
			}
			continue
		}
		if c.Source == model.SourceConfig {
			continue
		}
		var missing []string
		for _, n := range c.Routes.Names() {
			if !known[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			continue
		}
		if unknown++; unknown <= maxRouteWarnings {
			d.log.Warn("check names channels that are not configured: its alerts to them will fail",
				"check", c.Name, "unique_key", model.UniqueKey(c.ID), "source", sourceName(c.Source), "channels", missing,
				"fix", "give the check its channels again through the API (channels), or restore the notifiers in the config")
		}
	}
	if unknown > maxRouteWarnings {
		d.log.Warn("more checks name channels that are not configured", "checks", unknown-maxRouteWarnings)
	}
	if none > 0 {
		d.log.Warn("checks with no channels: they never alert", "checks", none, "of_the_config", noneConfig,
			"fix", "give them actions in the config, or channels through the API; pings.channels sets those of auto-created checks")
	}
}

// sourceName names a check's source for the log (empty is the API).
func sourceName(s string) string {
	if s == "" {
		return model.SourceAPI
	}
	return s
}

// autoRoutes returns the routes of a check a ?create=1 ping creates:
// pings.channels resolved against the channels configured now. A set
// that no longer resolves (impossible for a config the loader accepted)
// gives no channels, and says so.
func (d *Daemon) autoRoutes(set config.ChannelSet, chans []model.Channel) model.Routes {
	names, err := set.Resolve(chans)
	if err != nil {
		d.log.Warn("pings.channels: the auto-created check gets no channels", "err", err)
		return model.Routes{}
	}
	return model.RouteAll(slices.Clone(names))
}

// presyncRoutes writes the routes the file gives each config check into
// its stored definition, before the engine starts: Start fires the
// deadlines that passed while the watchdog was stopped, and the planner
// takes a flip's channels from the definition it holds, which the sync of
// the file (after Start) has not replaced yet. Without this, a check
// whose actions changed while the watchdog was stopped, or one stored by
// a version that kept actions out of the definition, would flip at start
// with the old channels, or none. Only the routes are written; the rest
// of the definition follows at the sync. It returns the config's model
// checks (cfg.ModelChecks(ids)), which New's apply syncs: with 100,000
// checks, computing them again is a copy of every check.
func (d *Daemon) presyncRoutes(ctx context.Context, cfg *config.Config, ids config.IDs) ([]model.Check, error) {
	checks := cfg.ModelChecks(ids)
	want := make([]model.CheckID, len(checks))
	for i, c := range checks {
		want[i] = c.ID
	}
	stored, err := d.storedChecks(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("reading the config's checks: %w", err)
	}
	for _, c := range checks {
		old, ok := stored[c.ID]
		if !ok {
			continue
		}
		if old.Source != model.SourceConfig || equalRoutes(old.Routes, c.Routes) {
			continue
		}
		old.Routes = c.Routes
		if err := d.st.UpdateCheck(ctx, old); err != nil {
			return nil, fmt.Errorf("writing the channels of check %q: %w", c.Name, err)
		}
		d.bootUpdated(old)
	}
	return checks, nil
}

func equalRoutes(a, b model.Routes) bool {
	return a.Equal(b)
}

// channelTestTimeout bounds a test notification sent through the API.
const channelTestTimeout = 10 * time.Second

// testChannel is the API's POST /channels/{id}/test: a test notification
// through the running channel name.
func (d *Daemon) testChannel(ctx context.Context, name string) api.ChannelTest {
	answers, err := d.sys.TestChannel(ctx, name, channelTestTimeout)
	switch {
	case errors.Is(err, notify.ErrActs):
		return api.ChannelTest{Refused: true, Error: err.Error()}
	case err != nil:
		return api.ChannelTest{Answers: answers, Error: err.Error()}
	}
	return api.ChannelTest{Sent: true, Answers: answers}
}

package config

import (
	"crypto/hmac"
	"crypto/sha256"
	"maps"
	"slices"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions"
	"github.com/vitals-go/vitals/internal/model"
)

// A push check's id is the secret of its ping URL /ping/<id>. A config
// check that sets no id gets one derived from its name with the
// installation's secret (DeriveCheckID), so that it is stable across
// reloads and restarts but cannot be computed by whoever knows the name
// (the status page shows names). Loading a file does not need the secret
// (vitals validate runs without a store): the ids are set when the daemon
// asks for the checks, with IDs. See docs/pings.md, "Ping URLs of config
// checks".

// legacyNamespace is the UUIDv5 namespace of LegacyCheckID.
var legacyNamespace = uuid.MustParse("6f1d8f86-3c2a-4a8e-9a57-3f0c5f2b7a10")

// LegacyCheckID returns the id that versions without an installation
// secret gave a config check named name: a UUIDv5 of the name under a
// namespace in the public source, so anyone who knows the name can compute
// it. A check that has it in the store keeps it (IDs.Legacy), so that the
// ping URLs of existing installations do not change.
func LegacyCheckID(name string) model.CheckID {
	return model.CheckID(uuid.NewSHA1(legacyNamespace, []byte("vitals-config-check:"+name)))
}

// DeriveCheckID returns the id of a config check named name that sets
// none, in the installation whose secret is secret
// (store.Store.InstallationSecret): the first 16 bytes of
// HMAC-SHA256(secret, "vitals-config-check:" + name), with the version
// (8, RFC 9562's custom layout) and variant bits set. The same secret and
// name always give the same id; without the secret it cannot be guessed.
func DeriveCheckID(secret []byte, name string) model.CheckID {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("vitals-config-check:" + name))
	var id model.CheckID
	copy(id[:], mac.Sum(nil))
	id[6] = id[6]&0x0f | 0x80 // version 8
	id[8] = id[8]&0x3f | 0x80 // variant 10 (RFC 9562)
	return id
}

// DeriveChannelID returns the id of the notifier (channel) named name
// in the installation whose secret is secret: as DeriveCheckID, under
// its own label ("vitals-channel:"), so a channel and a check of the same
// name never share an id. Stable across reloads and restarts, and the same
// on every replica sharing the store.
func DeriveChannelID(secret []byte, name string) uuid.UUID {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("vitals-channel:" + name))
	var id uuid.UUID
	copy(id[:], mac.Sum(nil))
	id[6] = id[6]&0x0f | 0x80 // version 8
	id[8] = id[8]&0x3f | 0x80 // variant 10 (RFC 9562)
	return id
}

// Channels returns the config's notifiers as channels, sorted by name,
// each with the id it pins (`id:`, NotifierOptions.ID) or one derived by
// DeriveChannelID from ids.Secret (the zero UUID without a secret, as for
// checks).
func (c *Config) Channels(ids IDs) []model.Channel {
	names := slices.Sorted(maps.Keys(c.actions.Notifiers))
	out := make([]model.Channel, 0, len(names))
	for _, n := range names {
		ch := model.Channel{Name: n, Kind: c.notifierKinds[n]}
		if id, ok := c.notifierIDs[n]; ok {
			ch.ID = id
		} else if len(ids.Secret) > 0 {
			ch.ID = DeriveChannelID(ids.Secret, n)
		}
		out = append(out, ch)
	}
	return out
}

// IDs says which id each config check that sets none gets (see
// Config.ModelChecks).
type IDs struct {
	// Secret is the installation secret (store.Store.InstallationSecret).
	// Empty: such checks get model.CheckID{}, enough to count the checks (as
	// vitals validate does) but not to run them (watchdog.Engine.Sync
	// refuses a nil id).
	Secret []byte
	// Legacy names the checks that keep their LegacyCheckID: the daemon
	// lists those whose legacy id is a config check in its store already
	// (see Config.LegacyIDs).
	Legacy map[string]bool
}

// of returns the id of the check named name that sets none.
func (ids IDs) of(name string) model.CheckID {
	switch {
	case ids.Legacy[name]:
		return LegacyCheckID(name)
	case len(ids.Secret) == 0:
		return model.CheckID{}
	}
	return DeriveCheckID(ids.Secret, name)
}

// remap returns the func that gives each check id its final value: the
// checks that set none hold their LegacyCheckID until then (validation
// and the actions' rules are keyed by it).
func (c *Config) remap(ids IDs) func(model.CheckID) model.CheckID {
	return func(id model.CheckID) model.CheckID {
		if name, ok := c.derived[id]; ok {
			return ids.of(name)
		}
		return id
	}
}

// LegacyIDs returns the checks that set no id, by name, with their
// LegacyCheckID: the daemon looks them up in its store to fill
// IDs.Legacy. Empty when pings.keep_legacy_ids is false (every such check
// moves to its DeriveCheckID).
func (c *Config) LegacyIDs() map[string]model.CheckID {
	out := map[string]model.CheckID{}
	if !*c.Pings.KeepLegacyIDs {
		return out
	}
	for id, name := range c.derived {
		out[name] = id
	}
	return out
}

// ModelChecks returns the checks as the engine takes them (defaults
// applied, validated, and the ids of those that set none given by ids),
// in file order. The slice is a copy.
func (c *Config) ModelChecks(ids IDs) []model.Check {
	f := c.remap(ids)
	out := slices.Clone(c.checks)
	for i := range out {
		out[i].ID = f(out[i].ID)
	}
	return out
}

// Actions returns what the config says about actions (notifiers,
// supervised processes, each check's parents, maintenance windows; each
// check's channels are in its definition, see ModelChecks), resolved to check ids (given by ids, as in ModelChecks), as
// actions.System.Apply takes it. The maps and slices are copies.
func (c *Config) Actions(ids IDs) actions.Config {
	f := c.remap(ids)
	a := c.actions
	a.Notifiers = maps.Clone(a.Notifiers)
	a.Storms = maps.Clone(a.Storms)
	a.Parents = make(map[model.CheckID][]model.CheckID, len(c.actions.Parents))
	for id, ps := range c.actions.Parents {
		a.Parents[f(id)] = mapIDs(ps, f)
	}
	a.Windows = slices.Clone(a.Windows)
	for i := range a.Windows {
		a.Windows[i].Checks = mapIDs(a.Windows[i].Checks, f)
	}
	return a
}

func mapIDs(ids []model.CheckID, f func(model.CheckID) model.CheckID) []model.CheckID {
	if ids == nil {
		return nil
	}
	out := make([]model.CheckID, len(ids))
	for i, id := range ids {
		out[i] = f(id)
	}
	return out
}

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/apikey"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/pull"
	"github.com/vitals-go/vitals/internal/watchdog"
	"github.com/vitals-go/vitals/internal/watchdog/model"
)

// ErrInvalidConfig wraps the errors of a config that Reload rejected.
var ErrInvalidConfig = errors.New("invalid config")

// Reload loads the config file again and applies it (see the package
// doc). An invalid file is rejected: the error wraps ErrInvalidConfig and
// joins every problem (each a *config.Error), and nothing changes.
// Concurrent reloads are serialised.
func (d *Daemon) Reload(ctx context.Context) (watchdog.SyncResult, error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	cfg := d.cfg.Load()
	if d.opts.ConfigPath != "" {
		var err error
		if cfg, err = config.Load(d.opts.ConfigPath); err != nil {
			errs := flatten(err)
			d.log.Error("config rejected, the running config stays", "file", d.opts.ConfigPath, "errors", len(errs))
			for _, e := range errs {
				d.log.Error("config error", "err", e.Error())
			}
			return watchdog.SyncResult{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	old := d.cfg.Load()
	if !slices.Equal(old.Server.Listen, cfg.Server.Listen) || old.Store != cfg.Store || old.Pull != cfg.Pull || old.Retention != cfg.Retention || old.StatusPage != cfg.StatusPage {
		d.log.Warn("server.listen, store, pull, retention and status_page take effect at the next restart")
	}
	res, err := d.apply(ctx, cfg)
	if err != nil {
		return res, err
	}
	d.log.Info("config reloaded", "file", d.opts.ConfigPath, "created", res.Created, "updated", res.Updated, "deleted", res.Deleted, "unchanged", res.Unchanged)
	return res, nil
}

// apply makes cfg the running config: it syncs the checks of the file
// and rebuilds the handlers whose settings can change.
func (d *Daemon) apply(ctx context.Context, cfg *config.Config) (watchdog.SyncResult, error) {
	for _, w := range cfg.Warnings() {
		d.log.Warn("config: " + w)
	}
	ids, err := d.checkIDs(ctx, cfg)
	if err != nil {
		d.log.Error("reading the ids of the config's checks", "err", err)
		return watchdog.SyncResult{}, err
	}
	// Actions first: the checks' rules must be in place before a synced
	// check can flip. An actions config the System refuses (a process
	// that cannot be started) stops the reload before any check changes.
	if err := d.sys.Apply(cfg.Actions(ids)); err != nil {
		d.log.Error("applying the config's actions", "err", err)
		return watchdog.SyncResult{}, fmt.Errorf("actions: %w", err)
	}
	res, err := d.eng.Sync(ctx, model.SourceConfig, cfg.ModelChecks(ids))
	if err != nil {
		// Sync applied what it could; the file is the truth from now on.
		d.log.Error("applying the config's checks", "err", err)
	}
	pingOpts := ping.Options{BodyLimit: *cfg.Pings.BodyLimit, TrustProxyHeaders: cfg.Server.TrustProxyHeaders, Logger: d.log}
	if cfg.Pings.AutoCreate {
		key, defs := cfg.Pings.PingKey, cfg.Defaults
		pingOpts.AutoProvision = func(pingKey, slug string) (model.Check, bool) {
			if pingKey != key {
				return model.Check{}, false
			}
			return model.Check{Name: slug, Slug: slug, PingKey: pingKey, Kind: model.KindPush, Source: model.SourceAuto,
				Schedule: model.Schedule{Period: defs.Period.D(), Grace: defs.Grace.D(), TZ: defs.TZ}}, true
		}
	}
	var ph http.Handler = ping.New(d.rec.Pings(d.eng), pingOpts)
	keys := make([]api.Key, 0, len(cfg.APIKeys))
	for _, k := range cfg.APIKeys {
		keys = append(keys, api.Key{Name: k.Name, Secret: k.Key, ReadOnly: k.Access != config.ReadWrite})
	}
	var ah http.Handler = api.New(api.Options{
		Engine: d.eng, Store: d.st, Keys: keys, Logger: d.log,
		PingURL:       strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/ping/",
		PingKey:       cfg.Pings.PingKey,
		ValidateProbe: pull.ValidateProbe,
		Silences:      d.silences,
	})
	d.pings.Store(&ph)
	d.api.Store(&ah)
	d.cfg.Store(cfg)
	return res, err
}

// authorized returns a func telling whether a request carries an API key
// with at least the access level need (config.ReadOnly or
// config.ReadWrite), against the running config's keys. Keys are read and
// compared by the apikey package, like the API's (X-Api-Key or
// Authorization: Bearer in any case; hashed, constant-time).
func (d *Daemon) authorized(need string) func(*http.Request) bool {
	want := apikey.Read
	if need == config.ReadWrite {
		want = apikey.Write
	}
	return func(r *http.Request) bool {
		acc, _ := d.cfg.Load().Keys().Check(r)
		return acc.Allows(want)
	}
}

// serveReload serves POST /-/reload (read-write API key): 200 with what
// changed, 400 with every error of an invalid config.
func (d *Daemon) serveReload(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "method not allowed: POST /-/reload"})
		return
	}
	if !d.authorized(config.ReadOnly)(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "an API key is required (X-Api-Key or Authorization: Bearer)"})
		return
	}
	if !d.authorized(config.ReadWrite)(r) {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "a read-write API key is required"})
		return
	}
	res, err := d.Reload(r.Context())
	switch {
	case errors.Is(err, ErrInvalidConfig):
		details := []string{}
		for _, e := range flatten(err) {
			if e != ErrInvalidConfig {
				details = append(details, e.Error())
			}
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid config: the running config stays", "details": details})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error(), "created": res.Created, "updated": res.Updated, "deleted": res.Deleted, "unchanged": res.Unchanged})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"created": res.Created, "updated": res.Updated, "deleted": res.Deleted, "unchanged": res.Unchanged})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

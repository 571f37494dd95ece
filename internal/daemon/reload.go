package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/apikey"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/pull"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// ErrInvalidConfig wraps the errors of a config that Reload rejected.
var ErrInvalidConfig = errors.New("invalid config")

// ErrReloadRefused wraps the reasons Reload refused a valid config that
// would have removed every check, or every API key (see guard).
var ErrReloadRefused = errors.New("reload refused")

// Reload loads the config file again and applies it (see the package
// doc). An invalid file is rejected: the error wraps ErrInvalidConfig and
// joins every problem (each a *config.Error), and nothing changes. A
// valid file that lists no checks while config checks run, or no API keys
// while keys are configured, is refused the same way (the error wraps
// ErrReloadRefused), unless it writes the list out empty (see guard).
// Concurrent reloads are serialised.
func (d *Daemon) Reload(ctx context.Context) (watchdog.SyncResult, error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	cfg := d.cfg.Load()
	if d.opts.ConfigPath != "" {
		var err error
		if cfg, err = (config.LoadOptions{Notifiers: d.sys.Registry()}).Load(d.opts.ConfigPath); err != nil {
			errs := model.Flatten(err)
			d.log.Error("config rejected, the running config stays", "file", d.opts.ConfigPath, "errors", len(errs))
			for _, e := range errs {
				d.log.Error("config error", "err", e.Error())
			}
			return watchdog.SyncResult{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	old := d.cfg.Load()
	if reasons := d.guard(old, cfg); len(reasons) > 0 {
		d.log.Error("config reload refused, the running config stays", "file", d.opts.ConfigPath, "reasons", len(reasons))
		errs := make([]error, len(reasons))
		for i, r := range reasons {
			d.log.Error("config reload refused", "reason", r)
			errs[i] = errors.New(r)
		}
		return watchdog.SyncResult{}, fmt.Errorf("%w: %w", ErrReloadRefused, errors.Join(errs...))
	}
	if !slices.Equal(old.Server.Listen, cfg.Server.Listen) || old.Server.DrainPeriod != cfg.Server.DrainPeriod || old.Server.ShutdownTimeout != cfg.Server.ShutdownTimeout ||
		old.Store != cfg.Store || old.Pull != cfg.Pull || old.Retention != cfg.Retention || old.StatusPage != cfg.StatusPage || !old.Metrics.Same(cfg.Metrics) {
		d.log.Warn("server.listen, store, pull, retention, status_page and metrics take effect at the next restart")
	}
	res, err := d.apply(ctx, cfg)
	if err != nil {
		return res, err
	}
	d.log.Info("config reloaded", "file", d.opts.ConfigPath, "created", res.Created, "updated", res.Updated,
		"restored", res.Restored, "retired", res.Retired, "unchanged", res.Unchanged)
	return res, nil
}

// guard returns why applying cfg in place of old (nil at start) would be
// refused: cfg lists no checks while checks of the config are live (in
// the engine, so at start those the store holds from the previous run),
// or no API keys while old has some. Such a file is most likely caught
// half written (a non-atomic save, a config management write when the
// SIGHUP or the restart lands), and applying it would retire every check
// and lock the API. A file that writes the list out empty (`checks: []`,
// `api_keys: []`) means it and is not refused. Each reason names what
// would have been removed, by name (never a check's UUID or a key).
func (d *Daemon) guard(old, cfg *config.Config) []string {
	var reasons []string
	file := cfg.File
	if file == "" {
		file = "the config"
	}
	noChecks, noKeys := cfg.EmptyOnPurpose()
	if len(cfg.Checks) == 0 && !noChecks {
		var names []string
		for _, cs := range d.eng.List() {
			if cs.Check.Source == model.SourceConfig {
				names = append(names, cs.Check.Name)
			}
		}
		if len(names) > 0 {
			reasons = append(reasons, fmt.Sprintf("%s has no checks: applying it would retire all %d checks of the config (%s); "+
				"write `checks: []` to retire them on purpose", file, len(names), nameList(names)))
		}
	}
	if old != nil && len(old.APIKeys) > 0 && len(cfg.APIKeys) == 0 && !noKeys {
		names := make([]string, len(old.APIKeys))
		for i, k := range old.APIKeys {
			names[i] = k.Name
		}
		reasons = append(reasons, fmt.Sprintf("%s has no api_keys: applying it would remove all %d API keys (%s), and the API would answer 401 to every request; "+
			"write `api_keys: []` to remove them on purpose", file, len(names), nameList(names)))
	}
	return reasons
}

// nameList quotes names, sorted, the first ten of them.
func nameList(names []string) string {
	const most = 10
	slices.Sort(names)
	var b strings.Builder
	for i, n := range names[:min(len(names), most)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(n))
	}
	if len(names) > most {
		fmt.Fprintf(&b, " and %d more", len(names)-most)
	}
	return b.String()
}

// apply makes cfg the running config: it syncs the checks of the file
// and rebuilds the handlers whose settings can change.
func (d *Daemon) apply(ctx context.Context, cfg *config.Config) (watchdog.SyncResult, error) {
	return d.applyChecks(ctx, cfg, nil)
}

// applyChecks is apply with cfg's model checks given (New has them from
// presyncRoutes, with the ids apply derives again: the same while New
// runs), or nil to compute them.
func (d *Daemon) applyChecks(ctx context.Context, cfg *config.Config, checks []model.Check) (watchdog.SyncResult, error) {
	for _, w := range cfg.Warnings() {
		d.log.Warn("config: " + w)
	}
	ids, err := d.checkIDs(ctx, cfg)
	if err != nil {
		d.log.Error("reading the ids of the config's checks", "err", err)
		return watchdog.SyncResult{}, err
	}
	// Actions first: the channels must be built before a synced check can
	// flip to them. An actions config the System refuses (a process that
	// cannot be started) stops the reload before any check changes.
	if err := d.sys.Apply(cfg.Actions(ids)); err != nil {
		d.log.Error("applying the config's actions", "err", err)
		return watchdog.SyncResult{}, fmt.Errorf("actions: %w", err)
	}
	if checks == nil {
		checks = cfg.ModelChecks(ids)
	}
	res, err := d.eng.Sync(ctx, model.SourceConfig, checks)
	if err != nil {
		// Sync applied what it could; the file is the truth from now on.
		d.log.Error("applying the config's checks", "err", err)
	}
	chans := cfg.Channels(ids)
	d.chans.Store(&chans)
	d.warnRoutes(chans)
	pingOpts := ping.Options{BodyLimit: *cfg.Pings.BodyLimit, TrustProxyHeaders: cfg.Server.TrustProxyHeaders, Logger: d.log}
	if cfg.Pings.AutoCreate {
		key, defs, set := cfg.Pings.PingKey, cfg.Defaults, *cfg.Pings.Channels
		pingOpts.AutoProvision = func(pingKey, slug string) (model.Check, bool) {
			if pingKey != key {
				return model.Check{}, false
			}
			return model.Check{Name: slug, Slug: slug, PingKey: pingKey, Kind: model.KindPush, Source: model.SourceAuto,
				Schedule: model.Schedule{Period: defs.Period.D(), Grace: defs.Grace.D(), TZ: defs.TZ},
				Routes:   d.autoRoutes(set, chans)}, true
		}
	}
	var ph http.Handler = ping.New(d.rec.Pings(d.eng), pingOpts)
	var ah http.Handler = api.New(api.Options{
		Engine: d.eng, Store: d.st, Keys: cfg.APIKeyList(), Logger: d.log,
		PingURL:       strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/ping/",
		PingKey:       cfg.Pings.PingKey,
		ValidateProbe: pull.ValidateProbe,
		Silences:      d.silences,
		Channels:      func() []model.Channel { return chans },
		TestChannel:   d.testChannel,
		BadgeURLs:     d.badges.Keys().BadgeURLs,
		CheckBadgeURL: d.badges.Keys().CheckBadgeURL,
		Status:        d.storeStatus,
	})
	d.pings.Store(&ph)
	d.api.Store(&ah)
	if d.opts.ConfigPath != "" {
		// A reload reads the file again: the running config need not
		// keep the checks the engine now holds.
		cfg = cfg.WithoutChecks()
	}
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
	return func(r *http.Request) bool { return d.cfg.Load().Keys().Allows(r, want) }
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
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid config: the running config stays", "details": details(err, ErrInvalidConfig)})
	case errors.Is(err, ErrReloadRefused):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "reload refused: the running config stays", "details": details(err, ErrReloadRefused)})
	case err != nil:
		out := syncJSON(res)
		out["error"] = err.Error()
		writeJSON(w, http.StatusInternalServerError, out)
	default:
		writeJSON(w, http.StatusOK, syncJSON(res))
	}
}

// details are the messages of the errors joined in err, but sentinel.
func details(err, sentinel error) []string {
	out := []string{}
	for _, e := range model.Flatten(err) {
		if e != sentinel {
			out = append(out, e.Error())
		}
	}
	return out
}

func syncJSON(res watchdog.SyncResult) map[string]any {
	return map[string]any{"created": res.Created, "updated": res.Updated, "restored": res.Restored,
		"retired": res.Retired, "unchanged": res.Unchanged}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

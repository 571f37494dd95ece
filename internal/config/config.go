package config

import (
	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/actions"
	"github.com/vitals-go/vitals/internal/actions/supervise"
	"github.com/vitals-go/vitals/internal/apikey"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/pull"
)

// Config is a loaded, defaulted and validated configuration. Get one from
// Load or Parse. It is a value: the daemon keeps the current one and swaps
// in a new one on reload.
type Config struct {
	// File is the path it was loaded from ("" for Parse without a name).
	File string `yaml:"-"`

	Server    Server    `yaml:"server"`
	Store     Store     `yaml:"store"`
	APIKeys   []APIKey  `yaml:"api_keys"`
	Pings     Pings     `yaml:"pings"`
	Retention Retention `yaml:"retention"`
	Pull      Pull      `yaml:"pull"`
	Defaults  Defaults  `yaml:"defaults"`
	Checks    []Check   `yaml:"checks"`

	// Notifiers are the notification and action channels by name, each
	// `name: {kind: {...}}` with kind one of LoadOptions.Notifiers' kinds
	// (by default webhook, slack, email, docker, exec, process), and
	// beside it the keys of NotifierOptions (`id`). Decoded by Load into
	// Actions(ids).Notifiers and Channels(ids).
	Notifiers yaml.Node `yaml:"notifiers"`
	// Processes are commands the watchdog starts and supervises (restarted
	// by a "process" notifier).
	Processes []supervise.Config `yaml:"processes"`
	// Maintenance windows hold notifications back.
	Maintenance []Maintenance `yaml:"maintenance"`
	// DependencyDelay is how long a child's down alert waits for its
	// parents to be found down too (then one alert names the parent).
	// Default 0.
	DependencyDelay Duration `yaml:"dependency_delay"`
	// StatusPage configures /status/.
	StatusPage StatusPage `yaml:"status_page"`
	// Metrics configures /metrics.
	Metrics Metrics `yaml:"metrics"`

	// checks are the model checks built from Checks by validation;
	// actions the resolved actions config.
	checks   []model.Check
	actions  actions.Config
	warnings []string
	keys     *apikey.Set
	// derived maps the provisional id of each check that sets none (its
	// LegacyCheckID) to its name, see IDs.
	derived map[model.CheckID]string
	// notifierKinds is the kind of each notifier, by name; notifierIDs
	// the ids the notifiers that set one pin (NotifierOptions.ID).
	notifierKinds map[string]string
	notifierIDs   map[string]uuid.UUID
}

// Server is the daemon's HTTP server.
type Server struct {
	// Listen are the addresses served (pings, API, metrics, health).
	// Default ["127.0.0.1:8000"].
	Listen []string `yaml:"listen"`
	// PublicURL is the base URL clients reach the daemon at, used in the
	// ping URLs the startup log prints. Default "http://" + Listen[0].
	PublicURL string `yaml:"public_url"`
	// TrustProxyHeaders takes ping clients' address and scheme from
	// X-Forwarded-For / X-Forwarded-Proto. Default false.
	TrustProxyHeaders bool `yaml:"trust_proxy_headers"`
	// DrainPeriod: on SIGTERM, /readyz turns DOWN at once and the server
	// keeps serving for this long before it stops accepting, so that a load
	// balancer stops sending traffic first. Default 0.
	DrainPeriod Duration `yaml:"drain_period"`
	// ShutdownTimeout bounds the graceful shutdown on SIGTERM (after the
	// drain period). Default 10s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// DeadMansSwitch is a URL the daemon GETs every DeadMansSwitchInterval
	// (an external heartbeat, e.g. a healthchecks.io check), so that a dead
	// watchdog is noticed. Default "": off.
	DeadMansSwitch string `yaml:"dead_mans_switch"`
	// DeadMansSwitchInterval: default 1m.
	DeadMansSwitchInterval Duration `yaml:"dead_mans_switch_interval"`
	// MaxConnections bounds the client connections open at once, across
	// the Listen addresses; a connection past it is answered 503 and closed
	// at accept time. Keep it below the open files limit. Default 4096.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerClient bounds the connections open at once from one
	// client address (the TCP peer: an IPv4 address, or an IPv6 /64);
	// past it a connection is answered 429 and closed at accept time.
	// Behind a proxy every connection comes from the proxy, so with
	// TrustProxyHeaders the default is MaxConnections (no bound of its
	// own). Default 256.
	MaxConnectionsPerClient int `yaml:"max_connections_per_client"`
	// BodyTimeout bounds the time a request may take to send its body,
	// from when its headers were read; a body not received by then is
	// answered 408 and its connection closed. Default 10s.
	BodyTimeout Duration `yaml:"body_timeout"`
	// WriteTimeout bounds each write of an answer: a client that reads
	// nothing for this long is dropped. Long answers (the status page's
	// live stream) stay open as long as they make progress. Default 30s.
	WriteTimeout Duration `yaml:"write_timeout"`
}

// Store says where state is kept: in SQLite (the default) or, when
// Postgres is set, in PostgreSQL. Setting both is an error.
type Store struct {
	SQLite SQLite `yaml:"sqlite"`
	// Postgres, when set, keeps the state in PostgreSQL instead of the
	// SQLite file (SPEC §5).
	Postgres *Postgres `yaml:"postgres"`
}

// SQLite is the embedded store.
type SQLite struct {
	// Path of the database file; relative paths are relative to the config
	// file's directory. Default DefaultSQLitePath() ($XDG_STATE_HOME/vitals/
	// vitals.db, else ~/.local/state/vitals/vitals.db, else
	// ./vitals-data/vitals.db).
	Path string `yaml:"path"`
}

// Postgres is the PostgreSQL store.
type Postgres struct {
	// DSN is the pgx (libpq) connection string: a URL
	// postgres://user:password@host:port/database?sslmode=verify-full or
	// key=value pairs; TLS and authentication as libpq. It is a secret:
	// take it from the environment (dsn: ${VITALS_PG_DSN}); it is never
	// logged nor quoted in an error. Required.
	DSN string `yaml:"dsn"`
	// LeaseTTL is how long a replica will own its checks without renewing
	// its lease (several replicas, issue 12). Parsed and validated, not
	// used yet. Default 10s.
	LeaseTTL Duration `yaml:"lease_ttl"`
}

// APIKey is one key of the JSON API (and POST /-/reload).
type APIKey struct {
	// Name identifies the key in logs. Required, unique.
	Name string `yaml:"name"`
	// Key is the secret (at least 16 characters); take it from the
	// environment: key: ${VITALS_API_KEY}. Required, unique.
	Key string `yaml:"key"`
	// Access is "read-only" (default) or "read-write".
	Access string `yaml:"access"`
}

// Access levels of an APIKey.
const (
	ReadOnly  = "read-only"
	ReadWrite = "read-write"
)

// Pings configures the ping endpoints.
type Pings struct {
	// BodyLimit is how many bytes of a ping's body are kept. Default
	// 10000 (healthchecks.io's PING_BODY_LIMIT).
	BodyLimit *int `yaml:"body_limit"`
	// PingKey is the ping key of the checks' slug URLs
	// /ping/<ping-key>/<slug>, unless a check sets its own. Default "":
	// no slug URLs.
	PingKey string `yaml:"ping_key"`
	// AutoCreate lets a ping to /ping/<ping_key>/<unknown-slug>?create=1
	// create a push check (period and grace from defaults). Default false.
	AutoCreate bool `yaml:"auto_create"`
	// Channels are the channels of the checks such a ping creates (their
	// Routes: every flip down, up and flapping goes to each), resolved
	// against the notifiers in force when the check is created: "*" every
	// notifier that is not an action (docker, exec, process: an action must
	// be named), "" none, or a list of notifier names. Default "*", as
	// healthchecks.io's auto-provisioning assigns every integration.
	Channels *ChannelSet `yaml:"channels"`
	// KeepLegacyIDs keeps the id (and so the ping URL) of a config check
	// that sets none and already has the LegacyCheckID of its name in
	// the store, from a version that derived ids from names alone; the
	// daemon warns about each at start. false moves every such check to
	// an id derived with the installation secret (a new ping URL; the
	// check starts afresh). Default true.
	KeepLegacyIDs *bool `yaml:"keep_legacy_ids"`
}

// Retention bounds the history kept.
type Retention struct {
	// Pings is how many pings are kept per check. Default 100.
	Pings int `yaml:"pings"`
	// RetiredChecks is how long a check removed from the file keeps its
	// history (state, pings, flips, uptime, outbox) after the reload that
	// removed it: a check with its id back in the file within that time
	// is restored with all of it; then it is purged. Default 7d.
	RetiredChecks Duration `yaml:"retired_checks"`
}

// Pull configures the pull-probe scheduler.
type Pull struct {
	// MaxConcurrent bounds the probes running at once. Default 1024.
	MaxConcurrent int `yaml:"max_concurrent"`
}

// Defaults are applied to every check that leaves the field unset.
type Defaults struct {
	// Period and Grace of push checks. Default 1d and 1h (healthchecks.io's).
	Period Duration `yaml:"period"`
	Grace  Duration `yaml:"grace"`
	// TZ of cron schedules. Default "UTC".
	TZ string `yaml:"tz"`
	// Interval and Timeout of pull checks. Default 30s and 5s (the timeout
	// is capped at the interval).
	Interval Duration `yaml:"interval"`
	Timeout  Duration `yaml:"timeout"`
	// Thresholds of every check. Default: decide on every result.
	Thresholds *Thresholds `yaml:"thresholds"`
}

// Thresholds damp decisions (model.Thresholds).
type Thresholds struct {
	// Failures: consecutive failures before down. Default 1.
	Failures int `yaml:"failures"`
	// Successes: consecutive successes before up again. Default 1.
	Successes int `yaml:"successes"`
	// StartPeriod: failures after creation or resume do not count for this
	// long. Default 0.
	StartPeriod Duration `yaml:"start_period"`
	// FlapChanges of the last FlapWindow results make the check flapping.
	// Default 0: off.
	FlapChanges int `yaml:"flap_changes"`
	FlapWindow  int `yaml:"flap_window"`
}

// Check is one check as written in the config. A check with one of HTTP,
// GRPC, TCP or Command is a pull check (probed); otherwise a push check
// (heartbeats).
type Check struct {
	// Name is required and unique in the file.
	Name string `yaml:"name"`
	// ID is the check's UUID: for push checks, the secret of its ping URL
	// /ping/<id>. Default: a UUID derived from Name and the installation's
	// secret (DeriveCheckID: stable across reloads and restarts, not
	// guessable from the name), or the LegacyCheckID a check of an older
	// installation already has (see IDs).
	ID   string   `yaml:"id"`
	Slug string   `yaml:"slug"`
	Tags []string `yaml:"tags"`
	Desc string   `yaml:"desc"`
	// PingKey overrides pings.ping_key for this check's slug URL.
	PingKey string `yaml:"ping_key"`

	// Push checks: Period or Cron (with TZ), Grace, MinRunTime.
	Period       Duration `yaml:"period"`
	Cron         string   `yaml:"cron"`
	TZ           string   `yaml:"tz"`
	Grace        Duration `yaml:"grace"`
	MinRunTime   Duration `yaml:"min_run_time"`
	ManualResume bool     `yaml:"manual_resume"`
	PostOnly     bool     `yaml:"post_only"`

	// Pull checks: exactly one probe, Interval and Timeout. The probes
	// are the kinds of pull.ProbeKinds, one field each, decoded into
	// directly.
	HTTP     *pull.HTTPProbe    `yaml:"http"`
	GRPC     *pull.GRPCProbe    `yaml:"grpc"`
	TCP      *pull.TCPProbe     `yaml:"tcp"`
	Command  *pull.CommandProbe `yaml:"command"`
	Interval Duration           `yaml:"interval"`
	Timeout  Duration           `yaml:"timeout"`

	Thresholds *Thresholds `yaml:"thresholds"`

	// Actions name the notifiers told (or acting) when the check goes
	// down, comes back up, or flaps: the check's channels
	// (model.Check.Routes), kept with its definition in the store. Default
	// none: the check never alerts (the status page says so).
	Actions *model.Routes `yaml:"actions"`
	// Parents name checks this one depends on: while a parent is down,
	// this check's alerts are held back (one alert names the parent).
	Parents []string `yaml:"parents"`
}

// probes returns the probes c sets, in the order of pull.ProbeKinds.
func (c *Check) probes() []pull.Probe {
	var ps []pull.Probe
	if c.HTTP != nil {
		ps = append(ps, c.HTTP)
	}
	if c.GRPC != nil {
		ps = append(ps, c.GRPC)
	}
	if c.TCP != nil {
		ps = append(ps, c.TCP)
	}
	if c.Command != nil {
		ps = append(ps, c.Command)
	}
	return ps
}

// EmptyOnPurpose reports which lists the file writes out empty, as
// `checks: []` and `api_keys: []`, rather than leaving out: the daemon
// takes an empty list written so as meant, and refuses a file that only
// lacks the list while it runs checks or keys (a file caught half
// written).
func (c *Config) EmptyOnPurpose() (checks, apiKeys bool) {
	return c.Checks != nil && len(c.Checks) == 0, c.APIKeys != nil && len(c.APIKeys) == 0
}

// WithoutChecks returns a shallow copy of c without its checks (the
// decoded list, the model checks and their provisional ids), for a
// process that keeps its running config after the checks were handed to
// the engine: at 100,000 checks they are tens of megabytes nobody reads
// again. The copy's Checks is nil, so it must not be applied as a config
// (it would read as a file that lacks its checks).
func (c *Config) WithoutChecks() *Config {
	cp := *c
	cp.Checks, cp.checks, cp.derived = nil, nil, nil
	return &cp
}

// Warnings are things that are accepted but not acted upon (sections
// reserved for later features).
func (c *Config) Warnings() []string { return append([]string(nil), c.warnings...) }

// Keys returns the API keys as the apikey package checks them (hashed,
// compared in constant time): every place that checks a key asks this
// set, or one built from the same APIKeys.
func (c *Config) Keys() *apikey.Set {
	if c.keys == nil {
		return apikey.NewSet(c.APIKeyList())
	}
	return c.keys
}

// APIKeyList returns the API keys as apikey.Keys (what api.Options.Keys
// takes).
func (c *Config) APIKeyList() []apikey.Key {
	keys := make([]apikey.Key, 0, len(c.APIKeys))
	for _, k := range c.APIKeys {
		keys = append(keys, apikey.Key{Name: k.Name, Secret: k.Key, ReadOnly: k.Access != ReadWrite})
	}
	return keys
}

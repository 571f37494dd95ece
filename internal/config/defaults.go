package config

import (
	"os"
	"path/filepath"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/pull"
	"github.com/vitals-go/vitals/internal/store"
)

// The defaults, in one place (docs/config.md lists them with each field).
const (
	DefaultListen                 = "127.0.0.1:8000"
	DefaultShutdownTimeout        = 10 * time.Second
	DefaultDeadMansSwitchInterval = time.Minute
	DefaultPingRetention          = store.DefaultPingRetention    // 100
	DefaultRetiredRetention       = store.DefaultRetiredRetention // 7d
	DefaultBodyLimit              = model.DefaultBodyLimit        // 10000
	DefaultPeriod                 = model.DefaultPeriod           // 24h
	DefaultGrace                  = model.DefaultGrace            // 1h
	DefaultTZ                     = model.DefaultTZ               // UTC
	DefaultInterval               = 30 * time.Second
	DefaultTimeout                = pull.DefaultTimeout // 5s
	DefaultMaxConcurrent          = pull.DefaultMaxConcurrent
	DefaultAccess                 = ReadOnly
	// MinAPIKeyLen is the shortest API key accepted.
	MinAPIKeyLen = 16
	// MaxFileSize bounds a config file: 100,000 checks of about 300
	// bytes each fit (BENCHMARKS.md, "100,000 checks in one process").
	MaxFileSize = 32 << 20
)

// store.postgres.lease_ttl: its default and bounds.
const (
	DefaultLeaseTTL = 10 * time.Second
	MinLeaseTTL     = time.Second
	MaxLeaseTTL     = 10 * time.Minute
)

// The bounds on what the server holds for a client (docs/watchdog.md,
// "Hardening").
const (
	DefaultMaxConnections          = 4096
	DefaultMaxConnectionsPerClient = 256
	DefaultBodyTimeout             = 10 * time.Second
	DefaultWriteTimeout            = 30 * time.Second
	// MinIOTimeout is the shortest server.body_timeout and write_timeout
	// (0 is the default, not "none").
	MinIOTimeout = 100 * time.Millisecond
)

// DefaultSQLitePath is where the embedded store lives when the config does
// not say: $XDG_STATE_HOME/vitals/vitals.db, else
// $HOME/.local/state/vitals/vitals.db, else ./vitals-data/vitals.db.
func DefaultSQLitePath() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "vitals", "vitals.db")
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "vitals", "vitals.db")
	}
	return filepath.Join("vitals-data", "vitals.db")
}

// applyDefaults fills the zero fields that have a default. Check fields are
// defaulted while building model checks (validate.go), from c.Defaults.
func (c *Config) applyDefaults() {
	s := &c.Server
	if len(s.Listen) == 0 {
		s.Listen = []string{DefaultListen}
	}
	if s.PublicURL == "" {
		s.PublicURL = "http://" + s.Listen[0]
	}
	if s.ShutdownTimeout == 0 {
		s.ShutdownTimeout = Duration(DefaultShutdownTimeout)
	}
	if s.DeadMansSwitchInterval == 0 {
		s.DeadMansSwitchInterval = Duration(DefaultDeadMansSwitchInterval)
	}
	if s.MaxConnections == 0 {
		s.MaxConnections = DefaultMaxConnections
	}
	if s.MaxConnectionsPerClient == 0 {
		s.MaxConnectionsPerClient = DefaultMaxConnectionsPerClient
		if s.TrustProxyHeaders { // every connection comes from the proxy
			s.MaxConnectionsPerClient = s.MaxConnections
		}
	}
	if s.BodyTimeout == 0 {
		s.BodyTimeout = Duration(DefaultBodyTimeout)
	}
	if s.WriteTimeout == 0 {
		s.WriteTimeout = Duration(DefaultWriteTimeout)
	}
	if pg := c.Store.Postgres; pg != nil && pg.LeaseTTL == 0 {
		pg.LeaseTTL = Duration(DefaultLeaseTTL)
	}
	if c.Store.SQLite.Path == "" {
		c.Store.SQLite.Path = DefaultSQLitePath()
	} else if !filepath.IsAbs(c.Store.SQLite.Path) && c.File != "" {
		c.Store.SQLite.Path = filepath.Join(filepath.Dir(c.File), c.Store.SQLite.Path)
	}
	for i := range c.APIKeys {
		if c.APIKeys[i].Access == "" {
			c.APIKeys[i].Access = DefaultAccess
		}
	}
	if c.Pings.BodyLimit == nil {
		n := DefaultBodyLimit
		c.Pings.BodyLimit = &n
	}
	if c.Pings.Channels == nil {
		all := AllChannels
		c.Pings.Channels = &all
	}
	if c.Pings.KeepLegacyIDs == nil {
		keep := true
		c.Pings.KeepLegacyIDs = &keep
	}
	if c.Retention.Pings == 0 {
		c.Retention.Pings = DefaultPingRetention
	}
	if c.Retention.RetiredChecks == 0 {
		c.Retention.RetiredChecks = Duration(DefaultRetiredRetention)
	}
	if c.Pull.MaxConcurrent == 0 {
		c.Pull.MaxConcurrent = DefaultMaxConcurrent
	}
	d := &c.Defaults
	if d.Period == 0 {
		d.Period = Duration(DefaultPeriod)
	}
	if d.Grace == 0 {
		d.Grace = Duration(DefaultGrace)
	}
	if d.TZ == "" {
		d.TZ = DefaultTZ
	}
	if d.Interval == 0 {
		d.Interval = Duration(DefaultInterval)
	}
	if d.Timeout == 0 {
		d.Timeout = Duration(DefaultTimeout)
	}
}

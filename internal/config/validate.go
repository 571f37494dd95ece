package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/vitals-go/vitals/internal/apikey"
	"github.com/vitals-go/vitals/internal/clip"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/probe"
	"github.com/vitals-go/vitals/internal/pull"
)

func (l *loader) validate(c *Config) {
	s := c.Server
	for i, a := range s.Listen {
		if _, _, err := net.SplitHostPort(a); err != nil {
			l.errorf(fmt.Sprintf("server.listen[%d]", i), "%q is not host:port (e.g. 127.0.0.1:8000 or :8000)", clip.Text(a, 60))
		}
	}
	if u, err := url.Parse(s.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		l.errorf("server.public_url", "%q is not an http(s) URL", clip.Text(probe.RedactTarget(s.PublicURL), 60))
	}
	if s.ShutdownTimeout < 0 {
		l.errorf("server.shutdown_timeout", "must not be negative")
	}
	if s.DrainPeriod < 0 {
		l.errorf("server.drain_period", "must not be negative")
	}
	if s.DeadMansSwitch != "" {
		if u, err := url.Parse(s.DeadMansSwitch); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Not quoted: its path is the secret of a heartbeat URL.
			l.errorf("server.dead_mans_switch", "is not an http(s) URL")
		}
	}
	if s.DeadMansSwitchInterval < 0 || (s.DeadMansSwitchInterval > 0 && s.DeadMansSwitchInterval.D() < 1e9) {
		l.errorf("server.dead_mans_switch_interval", "must be at least 1s")
	}
	if s.MaxConnections < 0 {
		l.errorf("server.max_connections", "must be positive")
	}
	if s.MaxConnectionsPerClient < 0 {
		l.errorf("server.max_connections_per_client", "must be positive")
	}
	if s.BodyTimeout.D() < MinIOTimeout {
		l.errorf("server.body_timeout", "must be at least %v", MinIOTimeout)
	}
	if s.WriteTimeout.D() < MinIOTimeout {
		l.errorf("server.write_timeout", "must be at least %v", MinIOTimeout)
	}
	if pg := c.Store.Postgres; pg != nil {
		if l.sets("store", "sqlite") {
			l.errorf("store.postgres", "store.sqlite is set too: choose one store")
		}
		if pg.DSN == "" {
			l.errorf("store.postgres.dsn", "is required (take it from the environment: dsn: ${VITALS_PG_DSN})")
		}
		if d := pg.LeaseTTL.D(); d < MinLeaseTTL || d > MaxLeaseTTL {
			l.errorf("store.postgres.lease_ttl", "must be between %v and %v", MinLeaseTTL, MaxLeaseTTL)
		}
	}
	names, keys := map[string]bool{}, map[string]bool{}
	for i, k := range c.APIKeys {
		p := fmt.Sprintf("api_keys[%d]", i)
		switch {
		case k.Name == "":
			l.errorf(p+".name", "is required")
		case names[k.Name]:
			l.errorf(p+".name", "%q is used twice", k.Name)
		}
		names[k.Name] = true
		switch {
		case k.Key == "":
			l.errorf(p+".key", "is required (take it from the environment: key: ${VITALS_API_KEY})")
		case len(k.Key) < MinAPIKeyLen:
			l.errorf(p+".key", "shorter than %d characters", MinAPIKeyLen)
		case keys[k.Key]:
			l.errorf(p+".key", "the same key is given twice")
		}
		keys[k.Key] = true
		if k.Access != ReadOnly && k.Access != ReadWrite {
			l.errorf(p+".access", "%q must be %q or %q", clip.Text(k.Access, 30), ReadOnly, ReadWrite)
		}
	}
	if *c.Pings.BodyLimit < 0 {
		l.errorf("pings.body_limit", "must not be negative")
	}
	if c.Pings.PingKey != "" && !model.ValidPingKey(c.Pings.PingKey) {
		l.errorf("pings.ping_key", model.PingKeyRule)
	}
	if c.Pings.AutoCreate && c.Pings.PingKey == "" {
		l.errorf("pings.auto_create", "needs pings.ping_key")
	}
	if c.Retention.Pings < 1 {
		l.errorf("retention.pings", "must be at least 1")
	}
	if c.Retention.RetiredChecks < 0 {
		l.errorf("retention.retired_checks", "must be positive")
	}
	if c.Pull.MaxConcurrent < 1 {
		l.errorf("pull.max_concurrent", "must be at least 1")
	}
	d := c.Defaults
	for _, f := range []struct {
		path string
		v    Duration
	}{{"defaults.period", d.Period}, {"defaults.grace", d.Grace}, {"defaults.interval", d.Interval}, {"defaults.timeout", d.Timeout}} {
		if f.v <= 0 {
			l.errorf(f.path, "must be positive")
		}
	}
	if c.DependencyDelay < 0 {
		l.errorf("dependency_delay", "must not be negative")
	}

	checkNames, ids := make(map[string]int, len(c.Checks)), make(map[model.CheckID]int, len(c.Checks))
	// Sized once: model.Check is large, and growing the slice by appends
	// copied it over and over (28 % of parsing 100,000 checks).
	c.checks = make([]model.Check, 0, len(c.Checks))
	for i := range c.Checks {
		p := fmt.Sprintf("checks[%d]", i)
		mc, ok := l.check(c, &c.Checks[i], p)
		prev, dupName := checkNames[c.Checks[i].Name]
		if dupName && c.Checks[i].Name != "" {
			l.errorf(p+".name", "%q is also the name of checks[%d]", c.Checks[i].Name, prev)
		} else {
			checkNames[c.Checks[i].Name] = i
		}
		if !ok {
			continue
		}
		if prev, dup := ids[mc.ID]; dup && (!dupName || c.Checks[i].ID != "") {
			l.errorf(p+".id", "%s is also the id of checks[%d]", mc.ID, prev)
		}
		ids[mc.ID] = i
		mc.Secrets = l.checkSecrets(i, c.Checks[i].Slug != "" && c.Checks[i].PingKey == "")
		c.checks = append(c.checks, mc)
		if c.Checks[i].ID == "" {
			if c.derived == nil {
				c.derived = map[model.CheckID]string{}
			}
			c.derived[mc.ID] = mc.Name
		}
	}
	l.buildActions(c)
	c.keys = apikey.NewSet(c.APIKeyList())
}

// check builds the model check of cc, recording every problem under path.
func (l *loader) check(c *Config, cc *Check, path string) (model.Check, bool) {
	nerr := len(l.errs)
	m := model.Check{
		Name:         cc.Name,
		Slug:         cc.Slug,
		Tags:         cc.Tags,
		Desc:         cc.Desc,
		MinRunTime:   cc.MinRunTime.D(),
		ManualResume: cc.ManualResume,
		PostOnly:     cc.PostOnly,
		Source:       model.SourceConfig,
	}
	if cc.Actions != nil {
		m.Routes = model.Routes{Down: slices.Clone(cc.Actions.Down), Up: slices.Clone(cc.Actions.Up), Flapping: slices.Clone(cc.Actions.Flapping), Late: slices.Clone(cc.Actions.Late), Cert: slices.Clone(cc.Actions.Cert)}
	}
	switch {
	case cc.ID != "":
		id, err := model.ParseCheckID(cc.ID)
		if err != nil || id.IsZero() {
			// Not quoted: an id is the secret of a ping URL.
			l.errorf(path+".id", "is not a UUID (8-4-4-4-12 hex digits)")
		}
		m.ID = id
	case cc.Name != "":
		m.ID = LegacyCheckID(cc.Name) // provisional, see IDs
	}
	if cc.Slug != "" {
		m.PingKey = cc.PingKey
		if m.PingKey == "" {
			m.PingKey = c.Pings.PingKey
		}
		if m.PingKey == "" {
			l.errorf(path+".slug", "a slug URL needs a ping key: set pings.ping_key or ping_key")
		}
	}
	if cc.PingKey != "" && !model.ValidPingKey(cc.PingKey) {
		l.errorf(path+".ping_key", model.PingKeyRule)
	}
	th := cc.Thresholds
	if th == nil {
		th = c.Defaults.Thresholds
	}
	if th != nil {
		m.Thresholds = model.Thresholds{Failures: th.Failures, Successes: th.Successes, StartPeriod: th.StartPeriod.D(), FlapChanges: th.FlapChanges, FlapWindow: th.FlapWindow}
	}

	probes := cc.probes()
	var kinds []string
	for _, pr := range probes {
		kinds = append(kinds, pr.Kind())
		if err := pr.Validate(); err != nil {
			l.fieldErrors(path+"."+pr.Kind(), pr, err)
		}
	}
	if len(probes) > 1 {
		l.errorf(path, "has several probes (%s): a check has at most one", strings.Join(kinds, ", "))
	}
	if len(probes) == 1 {
		m.Kind = model.KindPull
		m.Schedule, m.Probe = l.pullCheck(c, cc, probes[0], path)
	} else {
		m.Kind = model.KindPush
		m.Schedule = l.pushSchedule(c, cc, path)
	}
	m = m.WithDefaults()
	if err := m.Validate(); err != nil {
		l.modelErrors(path, cc, err)
	}
	return m, len(l.errs) == nerr
}

// pullCheck checks the schedule and the probe pr of the pull check cc and
// returns its schedule and stored probe.
func (l *loader) pullCheck(c *Config, cc *Check, pr pull.Probe, path string) (model.Schedule, []byte) {
	pushOnly := map[string]bool{"period": cc.Period != 0, "cron": cc.Cron != "", "tz": cc.TZ != "", "grace": cc.Grace != 0, "min_run_time": cc.MinRunTime != 0, "manual_resume": cc.ManualResume, "post_only": cc.PostOnly}
	kind := pr.Kind()
	for _, f := range sortedKeys(pushOnly) {
		if pushOnly[f] {
			l.errorf(path+"."+f, "applies to push checks only (a %s probe is polled every interval)", kind)
		}
	}
	interval := cc.Interval.D()
	if interval == 0 {
		interval = c.Defaults.Interval.D()
	}
	timeout := cc.Timeout.D()
	if timeout == 0 {
		timeout = min(c.Defaults.Timeout.D(), interval)
	}
	if cc.Timeout < 0 {
		l.errorf(path+".timeout", "must not be negative")
	} else if timeout > interval && interval > 0 {
		l.errorf(path+".timeout", "%v is longer than the interval %v", timeout, interval)
	}
	spec := pr.Spec()
	spec.Timeout = pull.Duration(timeout)
	if missing := pr.Required(); missing != "" {
		l.errorf(path+"."+kind+"."+missing, "is required")
	} else if _, err := pull.Compile(spec); err != nil {
		l.fieldErrors(path+"."+kind, pr, err)
	}
	return model.Schedule{Period: interval, Grace: timeout}, spec.Encode()
}

// pushSchedule checks the schedule of the push check cc and returns it,
// defaults applied.
func (l *loader) pushSchedule(c *Config, cc *Check, path string) model.Schedule {
	if cc.Interval != 0 {
		l.errorf(path+".interval", "applies to pull checks only (push checks take period or cron)")
	}
	if cc.Timeout != 0 {
		l.errorf(path+".timeout", "applies to pull checks only")
	}
	sch := model.Schedule{Period: cc.Period.D(), Cron: cc.Cron, TZ: cc.TZ, Grace: cc.Grace.D()}
	if sch.Cron == "" && sch.Period == 0 {
		sch.Period = c.Defaults.Period.D()
	}
	if sch.TZ == "" {
		sch.TZ = c.Defaults.TZ
	}
	if sch.Grace == 0 {
		sch.Grace = c.Defaults.Grace.D()
	}
	return sch
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fieldErrors records the field errors of the probe pr (pull.Compile's,
// named as the Spec names them, or its own) under path.
func (l *loader) fieldErrors(path string, pr pull.Probe, err error) {
	for _, e := range model.Flatten(err) {
		var fe *model.FieldError
		if errors.As(e, &fe) {
			l.errorf(path+"."+pr.Field(fe.Field), "%v", fe.Err)
		} else {
			l.errorf(path, "%v", e)
		}
	}
}

// modelFields maps model.Check.Validate's field names to the YAML's.
var modelFields = map[string][2]string{ // field → {push name, pull name}
	"schedule.period": {"period", "interval"},
	"schedule.cron":   {"cron", "cron"},
	"schedule.tz":     {"tz", "tz"},
	"schedule.grace":  {"grace", "timeout"},
	"schedule":        {"period", "interval"},
}

// modelErrors records model.Check.Validate's errors under path, naming the
// YAML field (which may be in defaults: when the check does not set it).
func (l *loader) modelErrors(path string, cc *Check, err error) {
	pullCheck := len(cc.probes()) > 0
	for _, e := range model.Flatten(err) {
		var fe *model.FieldError
		if !errors.As(e, &fe) {
			l.errorf(path, "%s", strings.TrimPrefix(e.Error(), model.ErrInvalidCheck.Error()+": "))
			continue
		}
		field, rest := fe.Field, fe.Err.Error()
		if field == "id" && cc.ID == "" {
			continue // derived from the name, which is missing: reported as such
		}
		name := field
		if f, ok := modelFields[field]; ok {
			name = f[0]
			if pullCheck {
				name = f[1]
			}
		}
		if field == "schedule.cron" && !strings.Contains(rest, "time zone") && !strings.Contains(rest, "@every") && !strings.Contains(rest, "pull checks") {
			rest = fmt.Sprintf("invalid cron expression %q: %s", clip.Text(cc.Cron, 60), rest)
		}
		p := path + "." + name
		if _, set := l.pathLines()[p]; !set {
			if d := "defaults." + name; l.pathLines()[d] != 0 {
				p = d
			}
		}
		l.errorf(p, "%s", rest)
	}
}

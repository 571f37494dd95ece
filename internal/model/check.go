package model

import (
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind says how a check learns about its target.
type Kind string

const (
	// KindPush is a heartbeat check: the target pings the watchdog
	// (healthchecks.io style) and silence past the deadline means down.
	KindPush Kind = "push"
	// KindPull is a probe check: the watchdog polls the target (HTTP, gRPC,
	// TCP, command) and reports each outcome as a [Result].
	KindPull Kind = "pull"
)

// Sources of check definitions, see Check.Source.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
	SourceAuto   = "auto"
)

// Limits on user-supplied fields, enforced by [Check.Validate].
const (
	MaxNameLen = 100
	MaxSlugLen = 100
	MaxTags    = 32
	MaxTagLen  = 64
	// MaxFlapWindow is the largest Y of "X of the last Y": the history of
	// results is kept as a 64-bit mask.
	MaxFlapWindow = 64
	// MaxThreshold bounds Thresholds.Failures and Successes: a thousand
	// results in a row is already over sixteen minutes of a pull check
	// probed every second; more only hides an outage.
	MaxThreshold = 1000
	// MaxDuration bounds every duration of a check (period, grace,
	// min_run_time, thresholds.start_period): 365 days, healthchecks.io's
	// limit for timeout and grace, far inside time.Duration's range.
	MaxDuration = 365 * 24 * time.Hour
)

// Defaults applied by [Check.WithDefaults].
const (
	DefaultPeriod = 24 * time.Hour
	DefaultGrace  = time.Hour
	DefaultTZ     = "UTC"
)

// Check is the definition of one monitored thing, as configured (YAML, API
// or auto-provisioned by a slug ping). It is a value: copy it freely. The
// live facts about the check are in [State], kept apart so that a config
// reload which replaces the Check keeps its State.
type Check struct {
	// ID is the check's UUID: its identity, and for push checks the secret
	// in its ping URL /ping/<uuid>. Immutable.
	ID CheckID `json:"id"`
	// Name is for humans: at most MaxNameLen bytes of UTF-8 text without
	// control characters (see Validate). Required.
	Name string `json:"name"`
	// Slug is the check's name in slug ping URLs /ping/<ping-key>/<slug>:
	// a-z, 0-9, '-' and '_'; at most MaxSlugLen. Optional; not necessarily
	// unique (an ambiguous slug is answered with 409, as healthchecks.io does).
	Slug string `json:"slug,omitempty"`
	// PingKey is the key under which the slug is reachable: slug URLs
	// resolve (PingKey, Slug). Empty disables slug URLs for this check.
	PingKey string `json:"ping_key,omitempty"`
	// Tags are free labels (for filtering and the status page): at most
	// MaxTags, each 1 to MaxTagLen bytes of text as for Name.
	Tags []string `json:"tags,omitempty"`
	// Desc is a free description: UTF-8 text, which unlike Name may hold
	// tabs and line breaks.
	Desc string `json:"desc,omitempty"`
	// Kind is push or pull. Required.
	Kind Kind `json:"kind"`
	// Schedule says when a push check must ping, or how often a pull check
	// is probed (Period is then the interval).
	Schedule Schedule `json:"schedule"`
	// MinRunTime, when positive, makes a run that finishes (success ping
	// with a matching start) faster than it a failure: "finished too fast".
	// At most MaxDuration. Default 0: off.
	MinRunTime time.Duration `json:"min_run_time,omitempty"`
	// Thresholds damp the decision; the zero value decides on every result.
	Thresholds Thresholds `json:"thresholds"`
	// ManualResume keeps a paused check paused when a ping arrives (the ping
	// is still recorded); by default a ping resumes a paused push check, as
	// healthchecks.io's "manual_resume" = false.
	ManualResume bool `json:"manual_resume,omitempty"`
	// PostOnly makes GET and HEAD pings be recorded but otherwise ignored
	// (healthchecks.io's methods = "POST"), against link prefetchers.
	PostOnly bool `json:"post_only,omitempty"`
	// Routes are the channels the check's flips go to (see [Routes]).
	// Empty: the check never alerts (the API and the status page say so).
	Routes Routes `json:"routes,omitzero"`
	// Filters are healthchecks.io's keyword filters, kept without effect.
	Filters Filters `json:"filters,omitzero"`
	// Probe is the pull check's probe definition, opaque to this package
	// (the pull scheduler owns its format, e.g. a JSON-encoded probe spec).
	// Empty for push checks.
	Probe []byte `json:"probe,omitempty"`
	// Source says who owns the definition: SourceConfig (the YAML file:
	// a reload deletes the config checks it no longer lists), SourceAPI,
	// SourceAuto (created by a ?create=1 slug ping). Empty means SourceAPI.
	Source string `json:"source,omitempty"`
	// Created and Updated are set by the engine (UTC).
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Secrets are the values the definition took from the environment
	// (${NAME} in the config file). They live in memory only: a store
	// writes [Check.Redacted], with each value replaced by its ${NAME},
	// and read-only views show that form too. Not encoded.
	Secrets []Secret `json:"-"`
}

// Schedule is either a period (every Period, with Grace extra time) or a cron
// expression interpreted in an explicit time zone (with Grace extra time).
// Exactly one of Period and Cron is set after [Check.WithDefaults].
type Schedule struct {
	// Period is the expected time between pings (push) or between probes
	// (pull): 1s to MaxDuration. Default DefaultPeriod for push checks
	// without Cron.
	Period time.Duration `json:"period,omitempty"`
	// Cron is a standard 5-field cron expression (minute hour dom month dow,
	// or a descriptor such as @daily), parsed by github.com/robfig/cron/v3.
	// A "CRON_TZ=" or "TZ=" prefix is refused: use TZ.
	Cron string `json:"cron,omitempty"`
	// TZ is the IANA time zone Cron is evaluated in. Default "UTC".
	// "Local" is refused: it is whatever zone the daemon's host has, so
	// the schedule would change with the machine.
	TZ string `json:"tz,omitempty"`
	// Grace is how late a ping may be before the check is down, and how
	// long a started run may last; at most MaxDuration. Push default
	// DefaultGrace; pull checks use it as the probe timeout budget and it
	// may be 0.
	Grace time.Duration `json:"grace,omitempty"`
}

// Thresholds damp flapping results into decisions. The zero value decides on
// every result and never reports flapping.
type Thresholds struct {
	// Failures is how many consecutive failures make an up check down:
	// 1 to MaxThreshold. Default (0) means 1.
	Failures int `json:"failures,omitempty"`
	// Successes is how many consecutive successes make a down check up:
	// 1 to MaxThreshold. Default (0) means 1. A new check goes up on its
	// first success.
	Successes int `json:"successes,omitempty"`
	// StartPeriod is a time, from creation or resume, during which failures
	// do not make the check down (the target is still starting; like
	// Docker's --start-period). A success ends it early. At most
	// MaxDuration. Default 0.
	StartPeriod time.Duration `json:"start_period,omitempty"`
	// FlapChanges and FlapWindow enable flapping detection: when at least
	// FlapChanges of the last FlapWindow results differ from the result
	// before them, the check is "flapping"; it leaves flapping (to up or
	// down, by the thresholds above) once fewer than FlapChanges changes
	// remain in the window. FlapWindow at most MaxFlapWindow. Default 0: off.
	FlapChanges int `json:"flap_changes,omitempty"`
	FlapWindow  int `json:"flap_window,omitempty"`
}

// FailuresOrDefault returns Failures, or 1 when unset.
func (t Thresholds) FailuresOrDefault() int { return max(t.Failures, 1) }

// SuccessesOrDefault returns Successes, or 1 when unset.
func (t Thresholds) SuccessesOrDefault() int { return max(t.Successes, 1) }

// FlapEnabled reports whether flapping detection is on.
func (t Thresholds) FlapEnabled() bool { return t.FlapWindow > 0 && t.FlapChanges > 0 }

// ErrInvalidCheck is wrapped by every error of [Check.Validate], with the
// field's name and the problem: errors.Is(err, ErrInvalidCheck) tells a
// bad definition (an API's 400) from other failures.
var ErrInvalidCheck = errors.New("invalid check")

var slugRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

// ValidSlug reports whether s is a valid slug: 1 to MaxSlugLen characters
// among a-z, 0-9, '-' and '_' (healthchecks.io's rule).
func ValidSlug(s string) bool { return len(s) <= MaxSlugLen && slugRE.MatchString(s) }

// WithDefaults returns c with the documented defaults filled in: TZ "UTC",
// and for a push check without Cron, Period DefaultPeriod; for a push check
// without Grace, DefaultGrace.
func (c Check) WithDefaults() Check {
	if c.Schedule.TZ == "" {
		c.Schedule.TZ = DefaultTZ
	}
	if c.Kind == KindPush {
		if c.Schedule.Cron == "" && c.Schedule.Period == 0 {
			c.Schedule.Period = DefaultPeriod
		}
		if c.Schedule.Grace == 0 {
			c.Schedule.Grace = DefaultGrace
		}
	}
	return c
}

// Validate reports every problem with c, joined with errors.Join; each
// wraps ErrInvalidCheck and a *FieldError naming the field
// ("invalid check: field: problem"). It does not apply defaults:
// call WithDefaults first.
func (c Check) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, checkError{&FieldError{Field: field, Err: fmt.Errorf(format, args...)}})
	}
	if c.ID.IsZero() {
		bad("id", "must be a non-nil UUID")
	}
	if c.Name == "" {
		bad("name", "is required")
	} else if len(c.Name) > MaxNameLen {
		bad("name", "longer than %d bytes", MaxNameLen)
	} else if err := checkText(c.Name, false); err != nil {
		bad("name", "%v", err)
	}
	if c.Slug != "" && !ValidSlug(c.Slug) {
		bad("slug", "%q must be 1-%d characters of a-z, 0-9, '-' and '_'", c.Slug, MaxSlugLen)
	}
	if len(c.Tags) > MaxTags {
		bad("tags", "more than %d", MaxTags)
	}
	for _, t := range c.Tags {
		if err := checkText(t, false); err != nil {
			bad("tags", "%v", err)
		} else if t == "" || len(t) > MaxTagLen {
			bad("tags", "%q must be 1-%d bytes", t, MaxTagLen)
		}
	}
	if err := checkText(c.Desc, true); err != nil {
		bad("desc", "%v", err)
	}
	switch c.Kind {
	case KindPush, KindPull:
	default:
		bad("kind", "%q must be %q or %q", c.Kind, KindPush, KindPull)
	}
	s := c.Schedule
	switch {
	case s.Cron != "" && s.Period != 0:
		bad("schedule", "period and cron are exclusive")
	case s.Cron != "":
		if c.Kind == KindPull {
			bad("schedule.cron", "pull checks take a period, not a cron expression")
		} else if _, err := s.parse(); err != nil {
			bad("schedule.cron", "%v", err)
		}
	case s.Period <= 0:
		bad("schedule.period", "must be positive")
	case s.Period < time.Second:
		bad("schedule.period", "%v is under 1s", s.Period)
	case s.Period > MaxDuration:
		bad("schedule.period", "%v is over %s", s.Period, maxDurationText)
	}
	if s.Grace < 0 {
		bad("schedule.grace", "must not be negative")
	} else if s.Grace > MaxDuration {
		bad("schedule.grace", "%v is over %s", s.Grace, maxDurationText)
	}
	if c.Kind == KindPush && s.Grace <= 0 {
		bad("schedule.grace", "must be positive for push checks")
	}
	if s.TZ == "Local" {
		// time.LoadLocation("Local") is the daemon host's zone: the
		// schedule would change meaning with the machine or container.
		bad("schedule.tz", `"Local" is not allowed: name an IANA zone, such as "Europe/Paris" or "UTC"`)
	} else if _, err := loadLocation(s.TZ); err != nil {
		bad("schedule.tz", "%v", err)
	}
	if c.MinRunTime < 0 {
		bad("min_run_time", "must not be negative")
	} else if c.MinRunTime > MaxDuration {
		bad("min_run_time", "%v is over %s", c.MinRunTime, maxDurationText)
	}
	t := c.Thresholds
	if t.Failures < 0 || t.Failures > MaxThreshold {
		bad("thresholds.failures", "must be between 1 and %d (0 or unset means 1)", MaxThreshold)
	}
	if t.Successes < 0 || t.Successes > MaxThreshold {
		bad("thresholds.successes", "must be between 1 and %d (0 or unset means 1)", MaxThreshold)
	}
	if t.StartPeriod < 0 {
		bad("thresholds.start_period", "must not be negative")
	} else if t.StartPeriod > MaxDuration {
		bad("thresholds.start_period", "%v is over %s", t.StartPeriod, maxDurationText)
	}
	if t.FlapWindow < 0 || t.FlapWindow > MaxFlapWindow {
		bad("thresholds.flap_window", "must be 0-%d", MaxFlapWindow)
	}
	if t.FlapChanges < 0 || (t.FlapWindow > 0 && t.FlapChanges > t.FlapWindow-1) {
		bad("thresholds.flap_changes", "must be 0-%d (changes between %d results)", max(t.FlapWindow-1, 0), t.FlapWindow)
	}
	if (t.FlapWindow > 0) != (t.FlapChanges > 0) {
		bad("thresholds", "flap_changes and flap_window are set together")
	}
	if c.Kind == KindPush && len(c.Probe) > 0 {
		bad("probe", "push checks take no probe")
	}
	return errors.Join(errs...)
}

// maxDurationText is MaxDuration as the error messages name it.
const maxDurationText = "365 days"

// checkText refuses text that would corrupt the places a check's words go
// (logs, /metrics labels, the status page, JSON): invalid UTF-8, control
// characters (C0, DEL, C1; a multiline description may keep tab, newline
// and carriage return), the Unicode line and paragraph separators, and the
// bidirectional overrides and isolates that make a name read differently
// from what it is. The error names the character and its byte offset, never
// echoing the text raw.
func checkText(s string, multiline bool) error {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return fmt.Errorf("invalid UTF-8 at byte %d", i)
			}
		case multiline && (r == '\t' || r == '\n' || r == '\r'):
		case unicode.IsControl(r), r == '\u2028', r == '\u2029', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			return fmt.Errorf("character %U at byte %d is not allowed (no control, line-separator or bidi-override characters)", r, i)
		}
	}
	return nil
}

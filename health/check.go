package health

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Checker checks one dependency or one property of the process. Check
// returns nil when the dependency is healthy and an error describing the
// problem otherwise. Check must respect ctx: the Monitor cancels it when the
// check's timeout passes (a check that ignores its context is abandoned, not
// waited for, and counts as failed).
//
// A Checker may attach an observed value to its result with [Observe].
type Checker interface {
	Check(ctx context.Context) error
}

// CheckerFunc adapts a function to a [Checker], so that methods such as
// (*sql.DB).PingContext plug in as they are:
//
//	m.Register(health.Check{Name: "db", Checker: health.CheckerFunc(db.PingContext)})
type CheckerFunc func(ctx context.Context) error

// Check calls f(ctx).
func (f CheckerFunc) Check(ctx context.Context) error { return f(ctx) }

// Kind says which probes a check takes part in. Kinds combine with |.
type Kind uint8

// The kinds of probes.
const (
	// Liveness checks fail only for what a restart fixes: a stalled worker
	// loop, a deadlock, an exhausted process. They never depend on other
	// services.
	Liveness Kind = 1 << iota
	// Readiness checks fail when this instance cannot do its job now: its own
	// data stores and brokers do not answer, it is draining, it is overloaded.
	Readiness
	// Startup checks fail until initialisation has finished. While any
	// critical startup check has not passed, liveness and readiness are DOWN
	// too; once all have passed, startup is complete for good and checks that
	// are only startup checks stop running.
	Startup

	allKinds = Liveness | Readiness | Startup
)

// String returns the kinds joined by "+", such as "liveness+readiness".
func (k Kind) String() string {
	if k == 0 {
		return "none"
	}
	var parts []string
	for _, p := range []struct {
		k    Kind
		name string
	}{{Liveness, "liveness"}, {Readiness, "readiness"}, {Startup, "startup"}} {
		if k&p.k != 0 {
			parts = append(parts, p.name)
		}
	}
	if k&^allKinds != 0 {
		parts = append(parts, fmt.Sprintf("Kind(%#x)", uint8(k&^allKinds)))
	}
	return strings.Join(parts, "+")
}

// Status is the health of one check or of a whole probe.
type Status uint8

// The statuses, from best to worst.
const (
	// StatusUp means healthy. HTTP 200, IETF "pass".
	StatusUp Status = iota
	// StatusDegraded means only non-critical checks fail, or a check with a
	// [Baseline] succeeds but far slower than its normal. HTTP 200, IETF
	// "warn".
	StatusDegraded
	// StatusDown means unhealthy. HTTP 503, IETF "fail".
	StatusDown
)

// String returns "UP", "DEGRADED" or "DOWN".
func (s Status) String() string {
	switch s {
	case StatusUp:
		return "UP"
	case StatusDegraded:
		return "DEGRADED"
	case StatusDown:
		return "DOWN"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// IETF returns the status in the vocabulary of the IETF health check draft:
// "pass", "warn" or "fail".
func (s Status) IETF() string {
	switch s {
	case StatusUp:
		return "pass"
	case StatusDegraded:
		return "warn"
	}
	return "fail"
}

// MarshalText encodes the status as its String form.
func (s Status) MarshalText() ([]byte, error) {
	if s > StatusDown {
		return nil, fmt.Errorf("health: invalid status %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes "UP", "DEGRADED" or "DOWN" (any case) and the IETF
// words "pass", "warn" and "fail".
func (s *Status) UnmarshalText(b []byte) error {
	switch strings.ToUpper(string(b)) {
	case "UP", "PASS":
		*s = StatusUp
	case "DEGRADED", "WARN":
		*s = StatusDegraded
	case "DOWN", "FAIL":
		*s = StatusDown
	default:
		return fmt.Errorf("health: unknown status %q", b)
	}
	return nil
}

// HTTPCode returns the HTTP status code for s: 200 for UP and DEGRADED, 503
// for DOWN.
func (s Status) HTTPCode() int {
	if s == StatusDown {
		return 503
	}
	return 200
}

// Check is the registration of a [Checker] with a [Monitor]. Its zero values
// are useful defaults: a critical readiness check run every 10 seconds with a
// 5-second timeout.
type Check struct {
	// Name identifies the check in results and URLs (/readyz/<name>). It must
	// be non-empty, unique within a Monitor, and made of letters, digits and
	// "-_.:".
	Name string

	// Checker is what runs. Required.
	Checker Checker

	// Kinds says which probes the check takes part in. Default: Readiness.
	Kinds Kind

	// NonCritical makes a failure degrade the probes this check takes part in
	// (DEGRADED, still HTTP 200) instead of taking them DOWN. Default: false,
	// the check is critical.
	NonCritical bool

	// Timeout bounds one run. Default: 5 seconds.
	Timeout time.Duration

	// Interval is the time between the end of one run and the start of the
	// next. For on-demand checks it is the minimum age of a result before a
	// request runs the check again. Default: 10 seconds.
	Interval time.Duration

	// InitialDelay delays the first run after Start. A random stagger of up to
	// one Interval is added to it unless NoStagger is set, so that many checks
	// do not fire in the same instant. Default: 0.
	InitialDelay time.Duration

	// NoStagger disables the random stagger of the first run.
	NoStagger bool

	// FailureThreshold is the number of consecutive failures that takes a
	// check that is UP to DOWN. Default: 1.
	FailureThreshold int

	// SuccessThreshold is the number of consecutive successes that takes a
	// check that is DOWN back to UP. A check that has never succeeded becomes
	// UP on its first success. Default: 1.
	SuccessThreshold int

	// OnDemand runs the check on the request path instead of in the
	// background: a request finding a result older than Interval runs the
	// check once, and concurrent requests share that one run. Use it only for
	// checks that are cheap; background checks are the default because a
	// burst of probes then never reaches a dependency.
	OnDemand bool

	// ComponentType is the IETF draft's componentType, such as "datastore",
	// "component" or "system". Optional.
	ComponentType string
	// Baseline, when set, learns the check's normal duration and makes the
	// check DEGRADED (HTTP 200, "warn") while its successful runs stay far
	// slower than that normal; see [Baseline]. Default: nil, duration is not
	// judged.
	Baseline *Baseline
}

// Defaults for [Check] fields left zero.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultInterval = 10 * time.Second
)

func (c Check) withDefaults() Check {
	if c.Kinds == 0 {
		c.Kinds = Readiness
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.FailureThreshold <= 0 {
		c.FailureThreshold = 1
	}
	if c.SuccessThreshold <= 0 {
		c.SuccessThreshold = 1
	}
	return c
}

func (c Check) validate() error {
	if c.Name == "" {
		return fmt.Errorf("health: check name is empty")
	}
	for _, r := range c.Name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)
		if !ok {
			return fmt.Errorf("health: check name %q: character %q is not allowed (use letters, digits and -_.:)", c.Name, r)
		}
	}
	if c.Checker == nil {
		return fmt.Errorf("health: check %q: Checker is nil", c.Name)
	}
	if c.Kinds&^allKinds != 0 {
		return fmt.Errorf("health: check %q: unknown kinds %s", c.Name, c.Kinds)
	}
	return nil
}

// Observation is a measured value attached to a check result, such as the
// percentage of a connection pool in use.
type Observation struct {
	Value float64
	// Unit such as "percent", "bytes", "ms". Optional.
	Unit string
}

type observationKey struct{}

// observer receives the observation of one run. It is only touched by the
// goroutine running the check until the run's result is collected.
type observer struct {
	obs *Observation
}

// Observe attaches an observed value and unit to the result of the check
// running with ctx, such as a pool's saturation or the free space of a disk.
// It shows in verbose and IETF output. Outside a check run it does nothing.
// The last call in a run wins.
func Observe(ctx context.Context, value float64, unit string) {
	if o, ok := ctx.Value(observationKey{}).(*observer); ok {
		o.obs = &Observation{Value: value, Unit: unit}
	}
}

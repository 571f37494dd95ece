// Package restart bounds restart loops: an exponential delay between
// restarts, at most MaxRestarts restarts in a sliding Window, then "give
// up" (reported once, so that one alert is raised), and a reset of all of
// it once the target has been stable for StableAfter.
//
// A Limiter is pure bookkeeping: it takes the time as an argument and starts
// no goroutines, so callers drive it from their own loop and tests drive it
// with any clock.
package restart

import (
	"fmt"
	"time"
)

// Policy configures a Limiter. The zero value gets the defaults listed on
// each field (WithDefaults).
type Policy struct {
	// Initial is the delay before the second restart of a streak (the first
	// one is immediate). Default 1s.
	Initial time.Duration `yaml:"initial" json:"initial,omitempty"`
	// Max caps the delay. Default 5m.
	Max time.Duration `yaml:"max" json:"max,omitempty"`
	// Multiplier grows the delay after each restart of a streak. Default 2.
	Multiplier float64 `yaml:"multiplier" json:"multiplier,omitempty"`
	// MaxRestarts is how many restarts are allowed within Window; the next
	// one gives up instead. Default 5.
	MaxRestarts int `yaml:"max_restarts" json:"max_restarts,omitempty"`
	// Window is the sliding window MaxRestarts counts in. Default 10m.
	Window time.Duration `yaml:"window" json:"window,omitempty"`
	// StableAfter is how long the target must stay up (running, or its
	// check up) for the streak, the window and a give-up to be forgotten.
	// Default 5m.
	StableAfter time.Duration `yaml:"stable_after" json:"stable_after,omitempty"`
}

// Defaults of Policy.
const (
	DefaultInitial     = time.Second
	DefaultMax         = 5 * time.Minute
	DefaultMultiplier  = 2.0
	DefaultMaxRestarts = 5
	DefaultWindow      = 10 * time.Minute
	DefaultStableAfter = 5 * time.Minute
)

// WithDefaults returns p with every zero field set to its default.
func (p Policy) WithDefaults() Policy {
	if p.Initial <= 0 {
		p.Initial = DefaultInitial
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	if p.Multiplier == 0 {
		p.Multiplier = DefaultMultiplier
	}
	if p.MaxRestarts == 0 {
		p.MaxRestarts = DefaultMaxRestarts
	}
	if p.Window <= 0 {
		p.Window = DefaultWindow
	}
	if p.StableAfter <= 0 {
		p.StableAfter = DefaultStableAfter
	}
	return p
}

// Validate reports a policy that cannot work, naming the field.
func (p Policy) Validate() error {
	switch {
	case p.Multiplier != 0 && p.Multiplier < 1:
		return fmt.Errorf("multiplier: %v is below 1", p.Multiplier)
	case p.MaxRestarts < 0:
		return fmt.Errorf("max_restarts: %d is negative", p.MaxRestarts)
	case p.Max < 0 || p.Window < 0 || p.StableAfter < 0:
		return fmt.Errorf("max, window, stable_after: must not be negative")
	}
	return nil
}

// Delay is the delay before restart number k (0-based) of a streak: 0 for
// the first, then min(Max, Initial × Multiplier^(k-1)): 0, 1s, 2s, 4s… with
// the defaults.
func (p Policy) Delay(k int) time.Duration {
	if k <= 0 {
		return 0
	}
	p = p.WithDefaults()
	d := float64(p.Initial)
	for i := 1; i < k && d < float64(p.Max); i++ {
		d *= p.Multiplier
	}
	return min(time.Duration(d), p.Max)
}

// Decision is the answer of Limiter.Next.
type Decision struct {
	// At is when the restart may happen (now or later). Zero when GaveUp.
	At time.Time
	// GaveUp: do not restart; the target stays down until Reset.
	GaveUp bool
	// First is true the one time the limiter gives up (until a reset):
	// raise the "gave up" alert then.
	First bool
	// Restarts is how many restarts are in the window now.
	Restarts int
}

// Limiter applies a Policy to one target. Not safe for concurrent use: its
// owner (one goroutine, or a caller holding a lock) drives it.
type Limiter struct {
	p        Policy
	restarts []time.Time // within the window, oldest first
	streak   int
	last     time.Time // the last restart of the streak
	gaveUp   bool
	upSince  time.Time
}

// New returns a limiter for p (with defaults applied).
func New(p Policy) *Limiter { return &Limiter{p: p.WithDefaults()} }

// Policy returns the policy in force, defaults applied.
func (l *Limiter) Policy() Policy { return l.p }

// Next decides, at now, on a restart the caller wants to do: it may happen
// at now + Delay(k), k the restarts since the last reset, or the limiter
// has given up (MaxRestarts restarts already in the window). It does not record a restart:
// call Record when the restart is done.
func (l *Limiter) Next(now time.Time) Decision {
	l.prune(now)
	if l.gaveUp {
		return Decision{GaveUp: true, Restarts: len(l.restarts)}
	}
	if len(l.restarts) >= l.p.MaxRestarts {
		l.gaveUp = true
		return Decision{GaveUp: true, First: true, Restarts: len(l.restarts)}
	}
	at := now
	if !l.last.IsZero() {
		if t := l.last.Add(l.p.Delay(l.streak)); t.After(at) {
			at = t
		}
	}
	return Decision{At: at, Restarts: len(l.restarts)}
}

// Record notes a restart done at t.
func (l *Limiter) Record(t time.Time) {
	l.restarts = append(l.restarts, t)
	l.streak++
	l.last = t
	l.upSince = time.Time{}
}

// Up notes that the target is up (running, check up) at now; once it has
// been up for StableAfter without a restart, everything is forgotten and
// Up returns true (the caller may log it).
func (l *Limiter) Up(now time.Time) (reset bool) {
	if l.upSince.IsZero() {
		l.upSince = now
	}
	if now.Sub(l.upSince) >= l.p.StableAfter && (l.streak > 0 || l.gaveUp || len(l.restarts) > 0) {
		l.Reset()
		l.upSince = now
		return true
	}
	return false
}

// Down notes that the target is down again: the stable time starts over.
func (l *Limiter) Down() { l.upSince = time.Time{} }

// StableAt returns when the target will count as stable if it stays up,
// or the zero time when it is not up.
func (l *Limiter) StableAt() time.Time {
	if l.upSince.IsZero() {
		return time.Time{}
	}
	return l.upSince.Add(l.p.StableAfter)
}

// Reset forgets the window, the streak and a give-up (an operator's
// "try again", or stability).
func (l *Limiter) Reset() {
	l.restarts, l.streak, l.last, l.gaveUp = nil, 0, time.Time{}, false
}

// GaveUp reports whether the limiter has given up (until Reset).
func (l *Limiter) GaveUp() bool { return l.gaveUp }

func (l *Limiter) prune(now time.Time) {
	i := 0
	for i < len(l.restarts) && now.Sub(l.restarts[i]) >= l.p.Window {
		i++
	}
	l.restarts = l.restarts[i:]
}

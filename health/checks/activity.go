package checks

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/health"
)

// Activity fails when the last unit of work ("last message consumed", "last
// job done") is older than a bound: the instance is connected but not
// keeping up, which no polling of the broker shows. The worker calls
// [Activity.Touch] after each unit of work.
//
// Register it as a Readiness check, or NonCritical to only degrade. With a
// Pending predicate, a quiet period without work is not held against the
// instance: the bound counts from the later of the last Touch and the last
// check that found no work pending.
//
// Touch is lock-free (one monotonic clock read and one atomic store) and
// safe from any goroutine; Check is safe for concurrent use. A new Activity
// counts as touched when it is created.
type Activity struct {
	name    string
	maxAge  time.Duration
	pending func() bool
	epoch   time.Time
	last    atomic.Int64 // nanoseconds from epoch to the last Touch
	idle    atomic.Int64 // nanoseconds from epoch to the last check that found no work
}

var _ health.Checker = (*Activity)(nil)

// ActivityOptions configures [NewActivity]. The zero value is ready to use.
type ActivityOptions struct {
	// Pending reports whether there is work waiting (such as a queue that
	// is not empty). When it returns false the check passes. It is called
	// by Check, never by Touch. Default: nil, work is always expected.
	Pending func() bool
}

// DefaultActivityMaxAge is the bound of an [Activity] created with none.
const DefaultActivityMaxAge = 5 * time.Minute

// NewActivity returns an activity tracker called name (used in error
// texts) that fails when no Touch happened within maxAge. A maxAge of 0 or
// less is DefaultActivityMaxAge (5 minutes).
//
//	a := checks.NewActivity("orders-consumer", 2*time.Minute, checks.ActivityOptions{}) // after each message: a.Touch()
func NewActivity(name string, maxAge time.Duration, opts ActivityOptions) *Activity {
	if maxAge <= 0 {
		maxAge = DefaultActivityMaxAge
	}
	return &Activity{name: name, maxAge: maxAge, pending: opts.Pending, epoch: time.Now()}
}

// Touch records a unit of work done now.
func (a *Activity) Touch() { a.last.Store(int64(time.Since(a.epoch))) }

// LastTouch returns the time of the last Touch (or of the creation).
func (a *Activity) LastTouch() time.Time { return a.epoch.Add(time.Duration(a.last.Load())) }

// Check fails with [ErrInactive] when the last Touch is older than the
// bound while work is pending; the error says how long ago. It observes the
// seconds since the last Touch.
func (a *Activity) Check(ctx context.Context) error {
	now := time.Since(a.epoch)
	if a.pending != nil && !a.pending() {
		a.idle.Store(int64(now))
		health.Observe(ctx, (now - time.Duration(a.last.Load())).Seconds(), "s")
		return nil
	}
	last := time.Duration(max(a.last.Load(), a.idle.Load()))
	touched := now - time.Duration(a.last.Load())
	health.Observe(ctx, touched.Seconds(), "s")
	if age := now - last; age > a.maxAge {
		return fmt.Errorf("activity %q: %w: last done %s ago, allowed %s", a.name, ErrInactive, formatAge(touched), a.maxAge)
	}
	return nil
}

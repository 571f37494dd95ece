package checks

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/health"
)

// InFlight counts the requests in flight and turns readiness DOWN while
// the count stays above a limit for longer than a grace time, so that the
// orchestrator stops sending traffic to an overloaded instance (load
// shedding; the "heavy load: alive, not ready" row of the health matrix).
// Liveness is unaffected: register it as a Readiness check only.
//
// Count requests with [InFlight.Middleware], or with [InFlight.Enter] and
// [InFlight.Leave] for other protocols. With HardLimit set, the middleware
// also answers requests beyond it with 503 at once.
//
// Mount the health endpoints outside the middleware (or on their own
// listener), so that probes are neither counted nor shed.
//
// Overload is judged over time, not at an instant: the count is over the
// limit from the moment it first goes above it until it has stayed at or
// under the limit for a tenth of the grace time. Under sustained overload
// the count dips to the limit for microseconds between requests (every
// client waits for its answer before it sends again); such dips do not
// start the grace time over, and a check that runs during one still
// fails. Once the count has stayed at or under the limit for that tenth,
// the check passes and the next overload starts a new grace time.
//
// All methods are safe for concurrent use. The request path is lock-free:
// an atomic add on entry and on exit; a clock read only when the count
// crosses the limit (at most twice per dip while overloaded, never while
// the count stays at or under the limit). Entries and exits racing at the
// limit can shift the start of the grace time or of a dip by the length
// of that race; the count itself is exact.
type InFlight struct {
	limit     int64
	hardLimit int64
	grace     time.Duration
	dip       time.Duration // a dip at or under the limit shorter than this does not end an overload
	epoch     time.Time

	n          atomic.Int64
	overSince  atomic.Int64 // nanoseconds from epoch+1 when the count went over limit; 0 while not overloaded
	underSince atomic.Int64 // nanoseconds from epoch+1 when the count fell back to the limit during an overload; 0 while over
}

var _ health.Checker = (*InFlight)(nil)

// InFlightOptions configures [NewInFlight]. The zero value is ready to use.
type InFlightOptions struct {
	// Grace is how long the count may stay above the limit before the
	// check fails, so that a short burst does not flip readiness; dips to
	// the limit shorter than a tenth of it do not start it over.
	// Default: 5 seconds; a negative value means none (and every dip ends
	// the overload).
	Grace time.Duration
	// HardLimit, when above 0, makes the middleware answer a request that
	// would bring the count above it with 503 Service Unavailable and
	// "Retry-After: 1", without calling the handler. Default: 0, no request
	// is rejected.
	HardLimit int
}

// DefaultInFlightGrace is the default [InFlightOptions.Grace].
const DefaultInFlightGrace = 5 * time.Second

// NewInFlight returns a limiter whose check fails while more than limit
// requests are in flight for longer than the grace time. A limit of 0 or
// less means 1.
//
//	lim := checks.NewInFlight(200, checks.InFlightOptions{}); handler = lim.Middleware(handler)
func NewInFlight(limit int, opts InFlightOptions) *InFlight {
	if opts.Grace == 0 {
		opts.Grace = DefaultInFlightGrace
	}
	return &InFlight{
		limit:     int64(max(limit, 1)),
		hardLimit: int64(opts.HardLimit),
		grace:     max(opts.Grace, 0),
		dip:       max(opts.Grace, 0) / 10,
		epoch:     time.Now(),
	}
}

// Enter counts one request in. Every Enter must be followed by one Leave.
func (l *InFlight) Enter() { l.enter() }

func (l *InFlight) enter() int64 {
	n := l.n.Add(1)
	if n <= l.limit {
		return n
	}
	if u := l.underSince.Load(); u != 0 {
		// The end of a dip: one long enough ends the overload, and this
		// entry starts the next one.
		if now := l.clock(); now-u >= int64(l.dip) {
			l.overSince.Store(now)
		}
		l.underSince.CompareAndSwap(u, 0)
	}
	if l.overSince.Load() == 0 {
		l.overSince.CompareAndSwap(0, l.clock())
	}
	return n
}

// clock is the time since epoch in nanoseconds, plus one so that it is
// never the zero that means "unset".
func (l *InFlight) clock() int64 { return int64(time.Since(l.epoch)) + 1 }

// Leave counts one request out.
func (l *InFlight) Leave() {
	if n := l.n.Add(-1); n <= l.limit && l.overSince.Load() != 0 && l.underSince.Load() == 0 {
		l.underSince.CompareAndSwap(0, l.clock())
	}
}

// Len returns the number of requests in flight.
func (l *InFlight) Len() int { return int(l.n.Load()) }

// Middleware counts the requests served by next, and sheds those beyond the
// HardLimit when one is set.
func (l *InFlight) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := l.enter()
		defer l.Leave()
		if l.hardLimit > 0 && n > l.hardLimit {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "overloaded, retry later", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Check fails with [ErrOverloaded] while the count is over the limit (dips
// shorter than a tenth of the grace time included) and has been for longer
// than the grace time. It observes the count.
func (l *InFlight) Check(ctx context.Context) error {
	n := l.n.Load()
	health.Observe(ctx, float64(n), "requests")
	now := l.clock()
	since := l.overSince.Load()
	if n <= l.limit {
		u := l.underSince.Load()
		if since == 0 || u != 0 && now-u >= int64(l.dip) {
			// Not overloaded, or the dip has lasted: the overload is over.
			if since != 0 {
				l.overSince.CompareAndSwap(since, 0)
			}
			return nil
		}
		if u == 0 {
			// A Leave that has not marked its dip yet: this is one.
			l.underSince.CompareAndSwap(0, now)
		}
	} else if since == 0 {
		// Over the limit, but an Enter racing a Leave has not marked it
		// yet: start the grace now.
		l.overSince.CompareAndSwap(0, now)
		return nil
	}
	over := time.Duration(now - since)
	if over <= l.grace {
		return nil
	}
	return fmt.Errorf("in-flight requests: %w: %d in flight, over the limit of %d for %s (grace %s)",
		ErrOverloaded, n, l.limit, formatAge(over), l.grace)
}

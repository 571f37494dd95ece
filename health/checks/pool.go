package checks

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/vitals-go/vitals/health"
)

// SQLPool reports an exhausted connection pool: the application's
// [*sql.DB] has every one of its MaxOpenConnections in use, and requests
// keep queueing for one. It is the "connection pool exhausted" row of the
// health matrix (a leak of connections never returned, a pool sized too
// small for the load, transactions held open): the database itself answers,
// so a ping through a dedicated connection would pass, but this instance
// cannot serve. Register it as a Readiness check; it never queries the
// database, it only reads [sql.DB.Stats].
//
// Contract: each run samples the pool. The check fails with an error
// wrapping [ErrPoolExhausted] when, at every run for at least Window, all
// MaxOpenConnections were in use, and since the first of those runs new
// requests had to wait for a connection (WaitCount grew) or waits ended
// (WaitDuration grew, timeouts included). A run that sees a free
// connection starts over, unless requests waited for a connection since
// the run before it: then the pool ran out in between, and the free
// connection is a moment between two waiters (under sustained overload a
// sample often lands on one). A saturated pool with nobody waiting is
// fully used, not exhausted, and passes; a pool without a limit
// (SetMaxOpenConns(0)) cannot be exhausted and always passes. Because the
// pool is only sampled, a pool that frees connections between runs and
// saturates again by the next one looks saturated throughout.
//
// Each run observes the connections in use as a percentage of
// MaxOpenConnections (unit "percent"), or their count when the pool is
// unlimited (unit "connections"), like [SQL].
//
// Create it with [NewSQLPool]; it is safe for concurrent use.
type SQLPool struct {
	db     *sql.DB
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	since time.Time   // first run of the current saturation; zero when not saturated
	base  sql.DBStats // the pool's stats at since
	prev  sql.DBStats // the pool's stats at the run before
}

var _ health.Checker = (*SQLPool)(nil)

// SQLPoolOptions configures [NewSQLPool]. The zero value is ready to use.
type SQLPoolOptions struct {
	// Window is how long the pool must stay saturated, with requests
	// waiting, before the check fails, so that a burst that fills the pool
	// for a moment does not flip readiness. Default: 5 seconds; a negative
	// value means the second saturated run with new waits fails.
	Window time.Duration
	// Now is the clock of the check. Default: time.Now.
	Now func() time.Time
}

// DefaultSQLPoolWindow is the default [SQLPoolOptions.Window].
const DefaultSQLPoolWindow = 5 * time.Second

// NewSQLPool returns a checker of db's pool saturation.
//
//	checks.NewSQLPool(db, checks.SQLPoolOptions{Window: 5 * time.Second})
func NewSQLPool(db *sql.DB, opts SQLPoolOptions) *SQLPool {
	p := &SQLPool{db: db, window: opts.Window, now: opts.Now}
	if p.window == 0 {
		p.window = DefaultSQLPoolWindow
	}
	p.window = max(p.window, 0)
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// Check samples the pool's stats and judges them; see [SQLPool]. The error
// names the connections in use, for how long, and the waits since.
func (p *SQLPool) Check(ctx context.Context) error {
	st := p.db.Stats()
	value, unit := poolSaturation(st)
	health.Observe(ctx, value, unit)
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.prev
	p.prev = st
	waitedSince := st.WaitCount > prev.WaitCount || st.WaitDuration > prev.WaitDuration
	if st.MaxOpenConnections <= 0 || st.InUse < st.MaxOpenConnections && (p.since.IsZero() || !waitedSince) {
		p.since = time.Time{}
		return nil
	}
	now := p.now()
	if p.since.IsZero() {
		p.since, p.base = now, st
		return nil
	}
	waits := st.WaitCount - p.base.WaitCount
	waited := st.WaitDuration - p.base.WaitDuration
	if over := now.Sub(p.since); over >= p.window && (waits > 0 || waited > 0) {
		return fmt.Errorf("sql pool: %w: all %d connections in use for %s, with %d new waits for a connection (%s waited) meanwhile, window %s",
			ErrPoolExhausted, st.MaxOpenConnections, formatAge(over), waits, formatAge(waited), p.window)
	}
	return nil
}

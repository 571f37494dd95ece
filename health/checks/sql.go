package checks

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/vitals-go/vitals/health"
)

// SQL checks a database through the application's own [*sql.DB], so the
// check uses the connection pool the service really uses and never opens a
// database of its own. It works with any database/sql driver (PostgreSQL
// through pgx or lib/pq, MySQL and MariaDB through go-sql-driver/mysql,
// SQLite, ...). Create it with [NewSQL]; it is safe for concurrent use.
//
// Each run first reads the pool's saturation from [sql.DB.Stats] and
// attaches it with [health.Observe]: the connections in use as a percentage
// of SetMaxOpenConns (unit "percent"), or their count when the pool is
// unlimited (unit "connections"). It then pings the database, or runs
// [SQLOptions.Query] instead when one is set.
type SQL struct {
	db   *sql.DB
	opts SQLOptions
}

var _ health.Checker = (*SQL)(nil)

// SQLOptions configures [NewSQL]. The zero value pings the database and
// only observes the pool's saturation.
type SQLOptions struct {
	// Query, when not empty, is run with QueryContext instead of the ping,
	// such as "SELECT 1", or "SELECT pg_is_in_recovery()" with CheckRow to
	// accept only a primary. Its rows are read to the end, so a query must
	// be cheap. Default: empty, the check pings (the driver's own ping,
	// one round trip with pgx and go-sql-driver/mysql).
	Query string

	// Args are Query's arguments. Default: none.
	Args []any

	// CheckRow, when set, is called with the Scan of the query's first row,
	// and the check fails with the error it returns; a query that returns no
	// row then fails with an error wrapping [sql.ErrNoRows]. Default: nil,
	// any result (even no rows) passes as long as the query and reading its
	// rows succeed. It is ignored without Query.
	CheckRow func(scan func(dest ...any) error) error

	// MaxPoolSaturation, when above zero, fails the check when the
	// connections in use, as a percentage of the pool's MaxOpenConnections,
	// are at or above it (before the check takes a connection itself), with
	// an error wrapping [ErrThreshold]. A pool without a limit never fails
	// this way. Default: 0, saturation is observed only (an exhausted pool
	// still fails the check when no connection frees up before its timeout).
	MaxPoolSaturation float64
}

// NewSQL returns a checker of db with opts. It does not touch the database
// until Check runs.
//
//	checks.NewSQL(db, checks.SQLOptions{Query: "SELECT 1"})
func NewSQL(db *sql.DB, opts SQLOptions) *SQL {
	return &SQL{db: db, opts: opts}
}

// Check observes the pool's saturation, then pings the database or runs the
// query. Its deadline comes from ctx (the Monitor's per-check timeout); the
// drivers cancel a query in flight when it passes.
func (c *SQL) Check(ctx context.Context) error {
	st := c.db.Stats()
	value, unit := poolSaturation(st)
	health.Observe(ctx, value, unit)
	if limit := c.opts.MaxPoolSaturation; limit > 0 && st.MaxOpenConnections > 0 && value >= limit {
		return &ThresholdError{
			Subject:  "sql pool: connections in use",
			Observed: fmt.Sprintf("%s (%d of %d, %d waits so far)", formatPercent1(value), st.InUse, st.MaxOpenConnections, st.WaitCount),
			Allowed:  "below " + formatPercent(limit),
		}
	}

	if c.opts.Query == "" {
		if err := c.db.PingContext(ctx); err != nil {
			return fmt.Errorf("sql ping: %w", err)
		}
		return nil
	}
	if err := c.query(ctx); err != nil {
		return fmt.Errorf("sql query %s: %w", strconv.Quote(c.opts.Query), err)
	}
	return nil
}

func (c *SQL) query(ctx context.Context) (err error) {
	rows, err := c.db.QueryContext(ctx, c.opts.Query, c.opts.Args...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}()
	if c.opts.CheckRow != nil {
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return err
			}
			return sql.ErrNoRows
		}
		if err := c.opts.CheckRow(rows.Scan); err != nil {
			return err
		}
	}
	for rows.Next() {
	}
	return rows.Err()
}

// poolSaturation returns the connections in use in percent of the pool's
// limit, or their count when the pool has no limit.
func poolSaturation(st sql.DBStats) (float64, string) {
	if st.MaxOpenConnections <= 0 {
		return float64(st.InUse), "connections"
	}
	return float64(st.InUse) * 100 / float64(st.MaxOpenConnections), "percent"
}

package main

import (
	"context"
	"database/sql/driver"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// latencyConnector opens SQLite connections that wait for an injected
// latency before every round trip (ping, query, exec, prepare, begin): the
// TEST-ONLY "slow database" fault, as if the database were behind a slow
// network. With no latency set it adds nothing but an atomic load.
type latencyConnector struct {
	dsn     string
	latency *atomic.Int64 // nanoseconds
}

func (c latencyConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &latencyConn{Conn: conn, latency: c.latency}, nil
}

func (c latencyConnector) Driver() driver.Driver { return &sqlite.Driver{} }

// latencyConn is a modernc.org/sqlite connection behind the injected
// latency. It offers the context-aware interfaces that connection has.
type latencyConn struct {
	driver.Conn
	latency *atomic.Int64
}

// wait sleeps for the injected latency, or until ctx ends.
func (c *latencyConn) wait(ctx context.Context) error {
	d := time.Duration(c.latency.Load())
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *latencyConn) Ping(ctx context.Context) error {
	if err := c.wait(ctx); err != nil {
		return err
	}
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *latencyConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return e.ExecContext(ctx, query, args)
}

func (c *latencyConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return q.QueryContext(ctx, query, args)
}

func (c *latencyConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *latencyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	//lint:ignore SA1019 the fallback database/sql itself uses for such drivers
	return c.Conn.Begin()
}

func (c *latencyConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *latencyConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Package natscheck checks NATS through the application's own connection of
// github.com/nats-io/nats.go, so the check sees the connection the service
// really uses, reconnects included. It lives apart from package checks to
// keep the NATS client out of the standard-library core.
//
//	m.Register(health.Check{Name: "nats", Checker: natscheck.New(nc, natscheck.Options{})})
package natscheck

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vitals-go/vitals/health"
)

// ErrNotConnected is matched (errors.Is) by the error of a check whose
// connection is not in the CONNECTED state, such as RECONNECTING or CLOSED.
var ErrNotConnected = errors.New("nats: not connected")

// DefaultFlushTimeout bounds the round trip when Check's context has no
// deadline (the Monitor always sets one).
const DefaultFlushTimeout = 5 * time.Second

// Conn is what the checker needs of a connection. *nats.Conn has both
// methods.
type Conn interface {
	Status() nats.Status
	FlushWithContext(ctx context.Context) error
}

// Options configures [New]. The zero value checks the state and makes a
// round trip.
type Options struct {
	// SkipRoundTrip leaves out the PING/PONG round trip (a flush) and only
	// checks that the connection is CONNECTED. The client notices a dead
	// server only at its next ping interval (nats.PingInterval, 2 minutes by
	// default), so the round trip is what catches a server that stopped
	// answering. Default: false, the round trip is made and observed in
	// milliseconds.
	SkipRoundTrip bool
}

// Checker checks a NATS connection. Create it with [New]; it is safe for
// concurrent use.
type Checker struct {
	conn Conn
	opts Options
}

var _ health.Checker = (*Checker)(nil)

// New returns a checker of conn with opts. It never closes conn.
func New(conn Conn, opts Options) *Checker { return &Checker{conn: conn, opts: opts} }

// Check fails with an error wrapping [ErrNotConnected] and naming the state
// when the connection is not CONNECTED, and with the flush's error when the
// round trip does not finish before ctx's deadline.
func (c *Checker) Check(ctx context.Context) error {
	if st := c.conn.Status(); st != nats.CONNECTED {
		return fmt.Errorf("%w: connection is %s", ErrNotConnected, st)
	}
	if c.opts.SkipRoundTrip {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFlushTimeout)
		defer cancel()
	}
	start := time.Now()
	if err := c.conn.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("nats: round trip: %w", err)
	}
	health.Observe(ctx, float64(time.Since(start).Microseconds())/1000, "ms")
	return nil
}

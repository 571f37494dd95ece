// Package amqpcheck checks RabbitMQ (or any AMQP 0-9-1 broker) through the
// application's own connection of github.com/rabbitmq/amqp091-go, so the
// check sees the connection the service really uses. It lives apart from
// package checks to keep the AMQP client out of the standard-library core.
//
//	m.Register(health.Check{Name: "rabbitmq", Checker: amqpcheck.New(conn, amqpcheck.Options{})})
//
// amqp091-go does not reconnect by itself: an application that redials keeps
// its current connection somewhere, and hands the checker a function that
// returns it with [ConnectionFunc].
package amqpcheck

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vitals-go/vitals/health"
)

// Errors returned by [Checker.Check], matched with errors.Is.
var (
	// ErrClosed is returned when the connection is closed (or, with
	// [ConnectionFunc], there is no connection now).
	ErrClosed = errors.New("amqp: connection is closed")
	// ErrBusy is returned while the previous run's channel open has not
	// returned yet. The checker never has more than one such call outstanding, so a broker
	// that stopped answering cannot pile up goroutines.
	ErrBusy = errors.New("amqp: previous check still waiting for the broker")
)

// Connection is what the checker needs of a connection. *amqp.Connection
// has both methods.
type Connection interface {
	IsClosed() bool
	Channel() (*amqp.Channel, error)
}

// ConnectionFunc adapts a function returning the application's current
// connection to [Connection], for applications that redial after a
// connection is lost. A nil connection counts as closed.
type ConnectionFunc func() *amqp.Connection

// IsClosed reports whether there is no current connection or it is closed.
func (f ConnectionFunc) IsClosed() bool {
	c := f()
	return c == nil || c.IsClosed()
}

// Channel opens a channel on the current connection.
func (f ConnectionFunc) Channel() (*amqp.Channel, error) {
	c := f()
	if c == nil {
		return nil, ErrClosed
	}
	return c.Channel()
}

// Options configures [New]. The zero value opens and closes a channel.
type Options struct {
	// Queue, when not empty, is declared passively on the channel: the check
	// fails when the queue does not exist (the broker answers NOT_FOUND), and
	// observes the queue's ready messages (unit "messages"). Default: empty;
	// the check observes the channel round trip in milliseconds.
	Queue string
}

// Checker checks that an AMQP connection is open and that the broker
// answers on it: it opens a channel (a round trip to the broker), optionally
// declares a queue passively, and closes the channel. Create it with [New];
// it is safe for concurrent use.
//
// amqp091-go's channel calls take no context, so the round trip runs in a
// goroutine and Check returns at ctx's deadline even if the broker does not
// answer; that goroutine ends when the broker answers or the connection's
// heartbeat closes the connection, and until then later runs fail with
// [ErrBusy] instead of starting another.
type Checker struct {
	conn  Connection
	opts  Options
	inUse atomic.Bool
}

var _ health.Checker = (*Checker)(nil)

// New returns a checker of conn with opts. It never closes conn.
func New(conn Connection, opts Options) *Checker {
	return &Checker{conn: conn, opts: opts}
}

type result struct {
	messages int
	err      error
}

// Check fails with [ErrClosed] when the connection is closed, and otherwise
// with the broker's error or ctx's error when the round trip does not
// finish in time.
func (c *Checker) Check(ctx context.Context) error {
	if c.conn.IsClosed() {
		return ErrClosed
	}
	if !c.inUse.CompareAndSwap(false, true) {
		return ErrBusy
	}
	start := time.Now()
	done := make(chan result, 1) // the goroutine never blocks on sending
	go func() {
		r := c.roundTrip()
		c.inUse.Store(false) // before the send, so the next run never sees a finished one as busy
		done <- r
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return r.err
		}
		if c.opts.Queue != "" {
			health.Observe(ctx, float64(r.messages), "messages")
		} else {
			health.Observe(ctx, float64(time.Since(start).Microseconds())/1000, "ms")
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("amqp: broker did not answer: %w", ctx.Err())
	}
}

func (c *Checker) roundTrip() result {
	ch, err := c.conn.Channel()
	if err != nil {
		return result{err: fmt.Errorf("amqp: open channel: %w", err)}
	}
	var r result
	if c.opts.Queue != "" {
		q, err := ch.QueueDeclarePassive(c.opts.Queue, false, false, false, false, nil)
		if err != nil {
			// The broker closed the channel with the error; Close is a no-op.
			ch.Close()
			return result{err: fmt.Errorf("amqp: queue %q: %w", c.opts.Queue, err)}
		}
		r.messages = q.Messages
	}
	if err := ch.Close(); err != nil {
		return result{err: fmt.Errorf("amqp: close channel: %w", err)}
	}
	return r
}

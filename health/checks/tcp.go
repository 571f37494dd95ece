package checks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vitals-go/vitals/health"
)

// TCP checks that a TCP connection to an address can be opened. It observes
// the connect time in milliseconds. Create it with [NewTCP]; it is safe for
// concurrent use.
type TCP struct {
	address string
	network string
	dialer  *net.Dialer
}

var _ health.Checker = (*TCP)(nil)

// TCPOptions configures [NewTCP]. The zero value is ready to use.
type TCPOptions struct {
	// Network is "tcp", "tcp4" or "tcp6". Default: "tcp".
	Network string
	// Dialer opens the connection, for a local address or a control
	// function. Its Timeout, if set, applies on top of the check's context
	// deadline. Default: a zero net.Dialer (the context bounds the dial).
	Dialer *net.Dialer
}

// NewTCP returns a checker that connects to address ("host:port") and
// closes the connection at once.
//
//	checks.NewTCP("127.0.0.1:5432", checks.TCPOptions{})
func NewTCP(address string, opts TCPOptions) *TCP {
	c := &TCP{address: address, network: opts.Network, dialer: opts.Dialer}
	if c.network == "" {
		c.network = "tcp"
	}
	if c.dialer == nil {
		c.dialer = &net.Dialer{}
	}
	return c
}

// Check dials the address and closes the connection. The error names the
// address and the reason, such as "tcp 127.0.0.1:1: connect: connection
// refused".
func (c *TCP) Check(ctx context.Context) error {
	start := time.Now()
	conn, err := c.dialer.DialContext(ctx, c.network, c.address)
	if err != nil {
		return fmt.Errorf("tcp %s: %w", c.address, unwrapOpError(err))
	}
	health.Observe(ctx, float64(time.Since(start).Microseconds())/1000, "ms")
	return conn.Close()
}

// unwrapOpError drops the "dial tcp ADDR:" prefix of a *net.OpError, whose
// address the caller already names, and keeps the cause in the chain.
func unwrapOpError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

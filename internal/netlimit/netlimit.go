// Package netlimit bounds the connections a server holds open at once, in
// total and per client, at accept time.
//
// A Limiter is shared by the listeners of one server (Listen wraps each);
// the bound on the total is across all of them. A connection over a bound
// is closed by Accept at once, after an optional short reply, and Accept
// goes on to the next one: a rejected connection costs no goroutine, no
// buffer and no time after the close, so a flood of them cannot hold
// memory. An accepted connection counts until it is closed.
//
// The client of a connection is its remote IP address; for IPv6 the /64
// prefix, because one host usually has a whole /64 and can pick any address
// in it. Behind a reverse proxy every connection comes from the proxy, so
// the per-client bound applies to the proxy: bound real clients in the proxy
// (e.g. nginx limit_conn) and raise or lift the bound here.
package netlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Limits are the bounds a Limiter enforces. Zero or negative is no bound.
type Limits struct {
	// Total bounds the connections open at once across the Limiter's
	// listeners.
	Total int
	// PerClient bounds the connections open at once from one client
	// address (an IPv4 address, or the /64 prefix of an IPv6 address).
	PerClient int
}

// Reason says which bound rejected a connection.
type Reason int

const (
	// OverTotal: Limits.Total connections were open.
	OverTotal Reason = iota
	// OverPerClient: Limits.PerClient connections from the same client
	// were open.
	OverPerClient
)

func (r Reason) String() string {
	if r == OverPerClient {
		return "per_client"
	}
	return "total"
}

// Options configure a Limiter.
type Options struct {
	// Limits returns the bounds in effect. It is called for every accepted
	// connection, so the bounds can change at run time (a config reload);
	// it must be cheap and safe for concurrent use. Required.
	Limits func() Limits
	// Reply, when set, returns the bytes written to a connection rejected
	// for reason r before it is closed (e.g. an HTTP 503 answer), so a
	// well-behaved client learns why. The write is best effort and bounded
	// by ReplyTimeout. Default nil: the connection is closed without a word.
	Reply func(r Reason) []byte
	// ReplyTimeout bounds writing Reply. A new connection's send buffer is
	// empty, so a short reply never waits for it. Default 50ms.
	ReplyTimeout time.Duration
}

// Stats are a Limiter's counters since New.
type Stats struct {
	// Open is the number of connections accepted and not yet closed.
	Open int64
	// Accepted counts the connections handed to the server.
	Accepted uint64
	// RejectedTotal and RejectedPerClient count the connections closed
	// at accept time, by the bound that refused them.
	RejectedTotal, RejectedPerClient uint64
}

// Limiter counts open connections by client and rejects those over its
// Limits. It is safe for concurrent use.
type Limiter struct {
	opts Options

	accepted, rejectedTotal, rejectedPerClient atomic.Uint64

	mu      sync.Mutex
	open    int
	clients map[netip.Addr]int // open connections by client key; no zero entries
}

// New returns a Limiter. See Options for defaults.
func New(opts Options) *Limiter {
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = 50 * time.Millisecond
	}
	return &Limiter{opts: opts, clients: map[netip.Addr]int{}}
}

// Listen wraps ln: its Accept returns only connections within the
// Limiter's bounds. Closing the returned listener closes ln.
func (l *Limiter) Listen(ln net.Listener) net.Listener { return &listener{Listener: ln, l: l} }

// Stats returns the counters.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	open := l.open
	l.mu.Unlock()
	return Stats{Open: int64(open), Accepted: l.accepted.Load(),
		RejectedTotal: l.rejectedTotal.Load(), RejectedPerClient: l.rejectedPerClient.Load()}
}

// ClientKey returns the client a remote address counts against: the IP
// address of a TCP peer (an IPv4-mapped IPv6 address as IPv4), the /64
// prefix of an IPv6 one. Other addresses (a unix socket) all share the
// zero key.
func ClientKey(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.Addr{}
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// admit counts a new connection from key, or says which bound refuses it.
func (l *Limiter) admit(key netip.Addr) (Reason, bool) {
	lim := l.opts.Limits()
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim.Total > 0 && l.open >= lim.Total {
		return OverTotal, false
	}
	n := l.clients[key]
	if lim.PerClient > 0 && n >= lim.PerClient {
		return OverPerClient, false
	}
	l.open++
	l.clients[key] = n + 1
	return 0, true
}

func (l *Limiter) release(key netip.Addr) {
	l.mu.Lock()
	l.open--
	if n := l.clients[key] - 1; n > 0 {
		l.clients[key] = n
	} else {
		delete(l.clients, key)
	}
	l.mu.Unlock()
}

func (l *Limiter) reject(c net.Conn, r Reason) {
	if r == OverPerClient {
		l.rejectedPerClient.Add(1)
	} else {
		l.rejectedTotal.Add(1)
	}
	if l.opts.Reply != nil {
		if msg := l.opts.Reply(r); len(msg) > 0 {
			c.SetWriteDeadline(time.Now().Add(l.opts.ReplyTimeout))
			c.Write(msg)
		}
	}
	c.Close()
}

type listener struct {
	net.Listener
	l *Limiter
}

// Accept returns the next connection within the bounds, closing those
// over them on the way.
func (ln *listener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := ClientKey(c.RemoteAddr())
		if r, ok := ln.l.admit(key); !ok {
			ln.l.reject(c, r)
			continue
		}
		ln.l.accepted.Add(1)
		return &conn{Conn: c, l: ln.l, key: key}, nil
	}
}

// conn releases its place when closed (once, however often Close is
// called).
type conn struct {
	net.Conn
	l      *Limiter
	key    netip.Addr
	closed atomic.Bool
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	if c.closed.CompareAndSwap(false, true) {
		c.l.release(c.key)
	}
	return err
}

// CloseWrite half-closes a TCP connection, as net/http does before it
// closes a connection whose request it did not read to the end (so the
// client reads the answer before a reset).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

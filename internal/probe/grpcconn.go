package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// errNoH2 is the dial error for a TLS server that does not offer HTTP/2.
var errNoH2 = errors.New("TLS server did not negotiate HTTP/2 (ALPN h2)")

// connWatch watches the one connection of a gRPC probe. net/http's HTTP/2
// client reports little when a connection dies before the first response
// ("http2: client conn could not be established"), yet that is exactly when
// the user has made a mistake worth naming: a cleartext probe of an HTTP/1
// or TLS server, or a TLS server that wants a client certificate. The watch
// keeps the first bytes and the first read error of the raw connection, and
// the TLS connection, whose read error is sticky.
type connWatch struct {
	overTLS bool // set at creation: the probe is grpcs

	mu       sync.Mutex
	first    []byte    // first bytes the server sent, up to 8
	firstErr error     // first read error of the raw connection
	tlsConn  *tls.Conn // the TLS connection after a successful handshake
}

// dial dials a TCP connection that reports to w.
func (w *connWatch) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: c, watch: w}, nil
}

func (w *connWatch) noteRead(b []byte, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := min(len(b), 8-len(w.first)); n > 0 {
		w.first = append(w.first, b[:n]...)
	}
	if err != nil && w.firstErr == nil {
		w.firstErr = err
	}
}

func (w *connWatch) setTLS(tc *tls.Conn) {
	w.mu.Lock()
	w.tlsConn = tc
	w.mu.Unlock()
}

// diagnose classifies err, the error of the HTTP/2 round trip, using what
// the watch saw. conf is the Prober's TLS configuration (nil if none).
func (w *connWatch) diagnose(ctx context.Context, err error, conf *tls.Config) error {
	settle(ctx)
	if context.Cause(ctx) != nil {
		return classify(ctx, err)
	}
	if errors.Is(err, errNoH2) {
		return fail(ErrProtocol, "not a gRPC server: "+errNoH2.Error(), err)
	}
	w.mu.Lock()
	first, firstErr, tc := w.first, w.firstErr, w.tlsConn
	w.mu.Unlock()

	switch {
	case !w.overTLS && bytes.HasPrefix(first, []byte("HTTP/")):
		return fail(ErrProtocol, "not a gRPC server: it answered in HTTP/1", err)
	case !w.overTLS && len(first) >= 2 && first[0] == 0x15 && first[1] == 0x03:
		// A TLS alert record: a TLS server read our cleartext preface.
		return fail(ErrProtocol, "the server speaks TLS: use grpcs://", err)
	}
	if tc != nil {
		// A tls.Conn returns the error that broke it on every later Read;
		// the deadline keeps a healthy connection from blocking.
		_ = tc.SetReadDeadline(time.Now())
		if _, rerr := tc.Read(make([]byte, 1)); rerr != nil && !errors.Is(rerr, os.ErrDeadlineExceeded) && !errors.Is(rerr, net.ErrClosed) {
			if e := classify(ctx, rerr); errors.Is(e, ErrTLS) {
				return e
			}
		}
	}
	if strings.Contains(err.Error(), "client conn could not be established") && firstErr != nil {
		err = firstErr // the transport's error names no cause; the connection's does
	}
	e := classify(ctx, err)
	var pe *probeError
	if !errors.As(e, &pe) || pe.kind != ErrConnect {
		return e
	}
	if strings.HasPrefix(pe.reason, "http2: ") {
		return fail(ErrProtocol, pe.reason, err)
	}
	closed := pe.reason == "connection closed by server" || pe.reason == "connection reset by peer" ||
		strings.Contains(pe.reason, "client conn could not be established")
	switch {
	case !closed:
		return e
	case !w.overTLS:
		return fail(ErrProtocol, "connection closed by server (not a cleartext HTTP/2 server? for TLS use grpcs://)", err)
	case tc == nil:
		return e // during the TLS handshake
	case conf == nil || len(conf.Certificates) == 0:
		return fail(ErrConnect, "connection closed by server after the TLS handshake (does it require a client certificate?)", err)
	}
	return fail(ErrConnect, "connection closed by server after the TLS handshake", err)
}

// dialTLSH2 returns a DialTLSContext for grpcs targets that insists on
// HTTP/2 and reports the connection to watch.
func (p *Prober) dialTLSH2(watch *connWatch) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := watch.dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conf := &tls.Config{MinVersion: tls.VersionTLS12}
		if p.tls != nil {
			conf = p.tls.Clone()
		}
		conf.NextProtos = []string{"h2"}
		if conf.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			conf.ServerName = host
		}
		tc := tls.Client(raw, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		if tc.ConnectionState().NegotiatedProtocol != "h2" {
			tc.Close()
			return nil, errNoH2
		}
		watch.setTLS(tc)
		return tc, nil
	}
}

// watchedConn is a connection that reports what it reads to a connWatch.
type watchedConn struct {
	net.Conn
	watch *connWatch
}

func (c *watchedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.watch.noteRead(b[:n], err)
	return n, err
}

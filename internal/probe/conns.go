package probe

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"sync"
	"time"
)

// Defaults of a Conns.
const (
	// DefaultMaxIdlePerTarget bounds the idle connections kept per target.
	DefaultMaxIdlePerTarget = 8
	// DefaultIdleTimeout closes a connection idle that long.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultMaxConnAge bounds how long connections are reused before the
	// idle ones are closed, so that a probe handshakes again at least that
	// often (a renewed server certificate is seen within it).
	DefaultMaxConnAge = 5 * time.Minute
)

// drainLimit is how much of a response body beyond what a probe keeps is
// read so that its connection can be reused; a longer body closes it.
const drainLimit = 64 << 10

// forgetAfter: a target's transport unused for that long is dropped (its
// connections are closed long before, by the idle timeout).
const forgetAfter = 10 * time.Minute

// Conns keeps HTTP connections open between probes, one keep-alive
// transport per target: scheme, address (or socket) and TLS settings,
// those of the files the settings name included. The HTTP probes of
// every Prober whose Options.Conns is the same Conns share them: probes
// of one target, from any number of checks, reuse a few connections
// instead of dialing (and handshaking) each time. Connections idle for
// IdleTimeout are closed, at most MaxIdlePerTarget are kept per target,
// and every MaxConnAge the idle ones are closed so that the next probe
// connects (and, over TLS, verifies the server's certificate) afresh.
// A response of a reused TLS connection carries the certificates the
// server presented at its handshake, so certificate checks hold; a
// renewed certificate is seen once the connection is replaced (within
// MaxConnAge). gRPC and TCP probes always connect afresh. Safe for
// concurrent use; Close closes the idle connections (probes may go on
// using it, connecting again).
type Conns struct {
	maxIdle          int
	idleTimeout, age time.Duration
	mu               sync.Mutex
	byKey            map[connKey]*pooled
	lastPrune        time.Time
}

type connKey struct {
	scheme Scheme
	addr   string
	tls    TLSOptions
	files  string // digest of the TLS files' contents
}

type pooled struct {
	tr       *http.Transport
	since    time.Time // when the idle connections were last closed
	lastUsed time.Time
}

// ConnsOptions configure a Conns; zero fields take the defaults.
type ConnsOptions struct {
	MaxIdlePerTarget int
	IdleTimeout      time.Duration
	MaxConnAge       time.Duration
}

// NewConns returns an empty Conns.
func NewConns(o ConnsOptions) *Conns {
	if o.MaxIdlePerTarget <= 0 {
		o.MaxIdlePerTarget = DefaultMaxIdlePerTarget
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxConnAge <= 0 {
		o.MaxConnAge = DefaultMaxConnAge
	}
	return &Conns{maxIdle: o.MaxIdlePerTarget, idleTimeout: o.IdleTimeout, age: o.MaxConnAge, byKey: map[connKey]*pooled{}}
}

// Close closes every idle connection and forgets the transports.
func (c *Conns) Close() {
	c.mu.Lock()
	all := c.byKey
	c.byKey = map[connKey]*pooled{}
	c.mu.Unlock()
	for _, p := range all {
		p.tr.CloseIdleConnections()
	}
}

// transport returns the shared transport of p's probes of t.
func (c *Conns) transport(p *Prober, t Target) *http.Transport {
	now := time.Now()
	key := connKey{scheme: t.Scheme, addr: t.Addr, tls: p.opts.TLS, files: p.tlsFiles}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastPrune) > forgetAfter {
		c.lastPrune = now
		for k, e := range c.byKey {
			if now.Sub(e.lastUsed) > forgetAfter {
				e.tr.CloseIdleConnections()
				delete(c.byKey, k)
			}
		}
	}
	e := c.byKey[key]
	if e == nil {
		tr := p.newTransport(t)
		tr.DisableKeepAlives = false
		tr.MaxIdleConns = c.maxIdle
		tr.MaxIdleConnsPerHost = c.maxIdle
		tr.IdleConnTimeout = c.idleTimeout
		e = &pooled{tr: tr, since: now}
		c.byKey[key] = e
	}
	if now.Sub(e.since) > c.age {
		e.tr.CloseIdleConnections()
		e.since = now
	}
	e.lastUsed = now
	return e.tr
}

// filesDigest names the contents of the TLS files o names ("" for none),
// so that probes share a transport only when their TLS settings are the
// same, files included.
func filesDigest(o TLSOptions) string {
	if o.CAFile == "" && o.CertFile == "" && o.KeyFile == "" {
		return ""
	}
	h := sha256.New()
	for _, f := range []string{o.CAFile, o.CertFile, o.KeyFile} {
		if f == "" {
			h.Write([]byte{0})
			continue
		}
		b, _ := os.ReadFile(f) // read by config already; an error there fails New
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

package testenv

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy on 127.0.0.1 in front of a real server. A test points
// its client at [Proxy.Addr] and can then take the server away ([Proxy.Down]),
// make it stop answering ([Proxy.Hang]) and give it back ([Proxy.Up]) within
// milliseconds, without stopping the server that other tests share.
//
// The methods are safe for concurrent use. The proxy is closed by the test's
// cleanup; Close blocks until every goroutine of the proxy has exited.
type Proxy struct {
	tb     testing.TB
	target string
	addr   string // fixed by the first listen, reused by Up
	wg     sync.WaitGroup

	mu     sync.Mutex
	state  proxyState
	ln     net.Listener // nil while down
	conns  map[net.Conn]struct{}
	kill   chan struct{} // closed by Down and Close: waiters give up
	resume chan struct{} // closed when a hang ends
	delay  time.Duration // added before forwarding each chunk, in both directions
}

type proxyState int

const (
	proxyUp proxyState = iota
	proxyHung
	proxyDown
	proxyClosed
)

// NewProxy starts a proxy to target (host:port) on a free loopback port. It
// is closed when the test ends.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p := &Proxy{
		tb:     tb,
		target: target,
		addr:   "127.0.0.1:0",
		conns:  make(map[net.Conn]struct{}),
		kill:   make(chan struct{}),
		resume: make(chan struct{}),
	}
	close(p.resume)
	if err := p.listenLocked(); err != nil {
		tb.Fatalf("testenv: proxy: %v", err)
	}
	tb.Cleanup(p.Close)
	return p
}

// Addr returns the proxy's host:port, the same for the proxy's whole life.
func (p *Proxy) Addr() string { return p.addr }

// Down closes the proxy's listener and every proxied connection: clients see
// their connections drop and new ones refused, as when the server stops.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == proxyDown || p.state == proxyClosed {
		return
	}
	p.state = proxyDown
	p.cutLocked()
}

// Hang keeps the proxy listening and the connections open but stops
// forwarding bytes in both directions, and holds new connections before they
// reach the server: clients see a server that accepts and never answers, so
// only their timeouts end their calls. Up forwards what was held.
func (p *Proxy) Hang() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != proxyUp {
		return
	}
	p.state = proxyHung
	p.resume = make(chan struct{})
}

// Delay makes the proxy wait d before forwarding each chunk of bytes, in
// both directions: a slow server (a round trip costs at least 2d). Zero
// removes the delay. It applies to chunks read from now on.
func (p *Proxy) Delay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Up undoes Down or Hang: the proxy listens on the same address again and
// forwards to the server.
func (p *Proxy) Up() {
	p.tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case proxyHung:
		close(p.resume)
	case proxyDown:
		p.kill = make(chan struct{})
		if err := p.listenLocked(); err != nil {
			p.tb.Fatalf("testenv: proxy: listen again: %v", err)
		}
	default:
		return
	}
	p.state = proxyUp
}

// Close stops the proxy and waits for its goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.state != proxyClosed {
		if p.state != proxyDown {
			p.cutLocked()
		}
		p.state = proxyClosed
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) listenLocked() error {
	var ln net.Listener
	var err error
	// The old listener's port is free again at once (SO_REUSEADDR); the retry
	// only covers another process grabbing it in between, which is rare.
	for range 20 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.ln = ln
	p.addr = ln.Addr().String()
	p.wg.Go(func() { p.accept(ln) })
	return nil
}

// cutLocked closes the listener and all connections and wakes every waiter.
func (p *Proxy) cutLocked() {
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	close(p.kill)
}

func (p *Proxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			continue
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// track registers c so that Down closes it; it closes c and returns false when
// the proxy is already down.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == proxyDown || p.state == proxyClosed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// untrack closes c and forgets it.
func (p *Proxy) untrack(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// waitForward blocks while the proxy hangs, then for the delay, and reports
// whether bytes may be forwarded (false once the proxy is down or closed).
func (p *Proxy) waitForward() bool {
	for {
		p.mu.Lock()
		state, resume, kill, delay := p.state, p.resume, p.kill, p.delay
		p.mu.Unlock()
		switch state {
		case proxyUp:
			if delay <= 0 {
				return true
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
				return true
			case <-kill:
				t.Stop()
				return false
			}
		case proxyHung:
			select {
			case <-resume:
			case <-kill:
				return false
			}
		default:
			return false
		}
	}
}

func (p *Proxy) serve(client net.Conn) {
	if !p.waitForward() {
		client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(server) {
		client.Close()
		if server != nil {
			server.Close()
		}
		return
	}
	p.wg.Go(func() { p.pipe(server, client) })
	p.pipe(client, server)
}

// pipe copies src to dst until either fails, then closes both.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.untrack(dst)
	defer p.untrack(src)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitForward() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

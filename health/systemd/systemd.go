// Package systemd tells systemd about a service's health through the
// sd_notify protocol, with the standard library only: READY=1 once the
// service is up, WATCHDOG=1 while it is alive, STOPPING=1 when it drains.
//
// Use it with Type=notify and, optionally, WatchdogSec= in the unit:
//
//	n, err := systemd.Start(m, systemd.Options{})
//	if err != nil { ... }          // nil, nil when not run by systemd
//	defer n.Stop()
//
// systemd then restarts the service when its liveness stays DOWN for longer
// than WatchdogSec, and knows it is ready only when readiness is UP.
//
// A service that decides itself when to notify uses the protocol alone:
// [Notify] sends one message and [WatchdogInterval] says how often systemd
// wants WATCHDOG=1.
package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/vitals-go/vitals/health"
)

// Options configure a Notifier. The zero value reads everything from the
// environment systemd sets.
type Options struct {
	// Socket is the notification socket. Default: $NOTIFY_SOCKET.
	Socket string
	// WatchdogInterval is how often WATCHDOG=1 is sent while liveness is
	// UP. Default: half of $WATCHDOG_USEC; no watchdog pings when that is
	// unset.
	WatchdogInterval time.Duration
}

// Notifier sends sd_notify messages driven by a Monitor's probes.
type Notifier struct {
	m      *health.Monitor
	conn   *net.UnixConn
	every  time.Duration
	cancel func() // ends the Monitor subscription
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	ready  bool // READY=1 sent
	closed bool
}

// Start connects to the notification socket and starts notifying: READY=1
// the first time readiness is UP (checked at once and on every readiness
// change), STOPPING=1 when the Monitor drains, and WATCHDOG=1 every
// WatchdogInterval while liveness is UP. It returns (nil, nil) when there is
// no socket: the service was not started by systemd. Stop ends it.
func Start(m *health.Monitor, opts Options) (*Notifier, error) {
	if opts.Socket == "" {
		opts.Socket = os.Getenv("NOTIFY_SOCKET")
	}
	if opts.Socket == "" {
		return nil, nil
	}
	if opts.WatchdogInterval <= 0 {
		opts.WatchdogInterval = halfWatchdogUSEC()
	}
	conn, err := dial(opts.Socket)
	if err != nil {
		return nil, err
	}
	n := &Notifier{m: m, conn: conn, every: opts.WatchdogInterval, stop: make(chan struct{}), done: make(chan struct{})}
	n.cancel = m.Subscribe(health.Subscriber{OnStatus: n.onStatus})
	if m.Peek(health.Readiness).Status != health.StatusDown {
		n.markReady()
	}
	go n.watchdog()
	return n, nil
}

func (n *Notifier) onStatus(e health.StatusEvent) {
	if e.Kinds != health.Readiness {
		return
	}
	switch {
	case e.To != health.StatusDown:
		n.markReady()
	case e.Reason == "draining":
		n.send("STOPPING=1\nSTATUS=draining")
	}
}

func (n *Notifier) markReady() {
	n.mu.Lock()
	first := !n.ready
	n.ready = true
	n.mu.Unlock()
	if first {
		n.send("READY=1\nSTATUS=ready")
	}
}

func (n *Notifier) watchdog() {
	defer close(n.done)
	if n.every <= 0 {
		<-n.stop
		return
	}
	t := time.NewTicker(n.every)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			if n.m.Peek(health.Liveness).Status != health.StatusDown {
				n.send("WATCHDOG=1")
			}
		}
	}
}

// send writes one notification; errors are ignored, as sd_notify does: the
// service must not fail because systemd is not listening.
func (n *Notifier) send(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.conn.Write([]byte(msg)) //nolint:errcheck // best effort, like sd_notify
}

// Stop cancels the Notifier's subscription to the Monitor, stops the
// watchdog pings, waits for its goroutine and closes the socket. It is
// idempotent, and a nil Notifier's Stop returns nil.
func (n *Notifier) Stop() error {
	if n == nil {
		return nil
	}
	var err error
	n.once.Do(func() {
		n.cancel()
		close(n.stop)
		<-n.done
		n.mu.Lock()
		n.closed = true
		err = n.conn.Close()
		n.mu.Unlock()
	})
	return err
}

// Notify sends one notification, such as "READY=1", "STOPPING=1" or
// "WATCHDOG=1", to the socket in $NOTIFY_SOCKET, as sd_notify(3) does. It
// does nothing and returns nil when $NOTIFY_SOCKET is unset (the process
// was not started by systemd). The protocol is best effort: callers may
// ignore the error.
func Notify(state string) error {
	socket := os.Getenv("NOTIFY_SOCKET")
	if socket == "" {
		return nil
	}
	conn, err := dial(socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("systemd: notify: %w", err)
	}
	return nil
}

// WatchdogInterval is how often systemd wants WATCHDOG=1: half of
// $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises. It is 0 when systemd
// enabled no watchdog for the process ($WATCHDOG_USEC or $NOTIFY_SOCKET
// unset).
func WatchdogInterval() time.Duration {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return 0
	}
	return halfWatchdogUSEC()
}

// halfWatchdogUSEC is half of $WATCHDOG_USEC, 0 when unset or invalid.
func halfWatchdogUSEC() time.Duration {
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0
	}
	return time.Duration(us) * time.Microsecond / 2
}

// dial connects to the notification socket at path; a leading '@' names an
// abstract socket.
func dial(path string) (*net.UnixConn, error) {
	name := path
	if name[0] == '@' {
		name = "\x00" + name[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("systemd: notify socket %s: %w", path, err)
	}
	return conn, nil
}

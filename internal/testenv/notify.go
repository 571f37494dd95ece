//go:build unix

package testenv

import (
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// NotifySocket is a real unixgram socket standing where systemd's
// $NOTIFY_SOCKET would be, for tests of sd_notify senders.
type NotifySocket struct {
	// Path is the socket's file, the value for NOTIFY_SOCKET.
	Path string
	conn *net.UnixConn
}

// ListenNotify listens on a fresh socket in a temporary directory; the test's
// cleanup closes it.
func ListenNotify(tb testing.TB) *NotifySocket {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &NotifySocket{Path: path, conn: conn}
}

// Queued returns the notifications waiting on the socket now, without
// waiting for more. A datagram is queued by the time the sender's write
// returns, so once the sender is known to have finished a step, what it sent
// in that step is here: no timing is involved.
func (s *NotifySocket) Queued(tb testing.TB) []string {
	tb.Helper()
	raw, err := s.conn.SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	var got []string
	buf := make([]byte, 4096)
	for {
		var n int
		var rerr error
		if err := raw.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true // never wait for readiness
		}); err != nil {
			tb.Fatal(err)
		}
		if errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK) {
			return got
		}
		if rerr != nil {
			tb.Fatal(rerr)
		}
		got = append(got, string(buf[:n]))
	}
}

// Next waits for the next notification and returns it, failing the test
// after a generous bound (10s) rather than asserting how long it took.
func (s *NotifySocket) Next(tb testing.TB) string {
	tb.Helper()
	buf := make([]byte, 4096)
	s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := s.conn.Read(buf)
	if err != nil {
		tb.Fatalf("no notification on %s: %v", s.Path, err)
	}
	return string(buf[:n])
}

// Count consumes the queued notifications and returns how many are exactly
// msg (such as "WATCHDOG=1").
func (s *NotifySocket) Count(tb testing.TB, msg string) int {
	tb.Helper()
	n := 0
	for _, m := range s.Queued(tb) {
		if m == msg {
			n++
		}
	}
	return n
}

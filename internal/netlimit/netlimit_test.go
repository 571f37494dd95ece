package netlimit

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// server accepts from ln until it is closed and keeps the connections
// open; the test's cleanup closes the listener and every connection and
// waits for the accept loop.
func server(t *testing.T, ln net.Listener) <-chan net.Conn {
	accepted := make(chan net.Conn, 100)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		close(accepted)
		for c := range accepted {
			c.Close()
		}
	})
	return accepted
}

func listen(t *testing.T, l *Limiter) (net.Listener, string) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l.Listen(raw), raw.Addr().String()
}

// rejected reads what a rejected connection got before its close.
func rejected(t *testing.T, c net.Conn) string {
	t.Helper()
	b, _ := io.ReadAll(c) // EOF or a reset once closed
	return string(b)
}

func TestPerClientAndTotal(t *testing.T) {
	lims := Limits{Total: 3, PerClient: 2}
	var mu sync.Mutex
	l := New(Options{
		Limits: func() Limits { mu.Lock(); defer mu.Unlock(); return lims },
		Reply:  func(r Reason) []byte { return []byte("no: " + r.String()) },
	})
	ln, addr := listen(t, l)
	accepted := server(t, ln)

	dialFrom(t, "127.0.0.2", addr)
	dialFrom(t, "127.0.0.2", addr)
	s1, s2 := <-accepted, <-accepted
	if got := rejected(t, dialFrom(t, "127.0.0.2", addr)); got != "no: per_client" {
		t.Fatalf("third connection from 127.0.0.2 got %q, want the per-client rejection", got)
	}
	dialFrom(t, "127.0.0.3", addr) // another client still gets in
	s3 := <-accepted
	if got := rejected(t, dialFrom(t, "127.0.0.4", addr)); got != "no: total" {
		t.Fatalf("fourth connection got %q, want the total rejection", got)
	}
	st := l.Stats()
	if st.Open != 3 || st.Accepted != 3 || st.RejectedPerClient != 1 || st.RejectedTotal != 1 {
		t.Fatalf("stats %+v", st)
	}

	// Closing (twice) releases the place once.
	s1.Close()
	s1.Close()
	if st := l.Stats(); st.Open != 2 {
		t.Fatalf("open after a close: %d", st.Open)
	}
	dialFrom(t, "127.0.0.2", addr)
	<-accepted
	if st := l.Stats(); st.Open != 3 || st.Accepted != 4 {
		t.Fatalf("stats %+v", st)
	}

	// The limits are read at each accept.
	mu.Lock()
	lims = Limits{}
	mu.Unlock()
	for range 3 {
		dialFrom(t, "127.0.0.2", addr)
		<-accepted
	}
	if st := l.Stats(); st.Open != 6 || st.RejectedPerClient != 1 || st.RejectedTotal != 1 {
		t.Fatalf("stats with no bounds %+v", st)
	}
	s2.Close()
	s3.Close()
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.2", "127.0.0.2"},
		{"::ffff:10.1.2.3", "10.1.2.3"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::"},
		{"2001:db8:1:2:bbbb::9", "2001:db8:1:2::"},
		{"::1", "::"},
	} {
		got := ClientKey(&net.TCPAddr{IP: net.ParseIP(tc.addr), Port: 1234})
		if got != netip.MustParseAddr(tc.want) {
			t.Errorf("ClientKey(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
	if got := ClientKey(&net.UnixAddr{Name: "/x", Net: "unix"}); got.IsValid() {
		t.Errorf("unix: %s", got)
	}
}

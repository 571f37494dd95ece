package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// echoServer accepts connections on loopback and echoes every line back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends one line over c and reads it back, with a deadline.
func roundTrip(c net.Conn, r *bufio.Reader, msg string, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	if _, err := fmt.Fprintln(c, msg); err != nil {
		return err
	}
	got, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(got) != msg {
		return fmt.Errorf("got %q, want %q", got, msg)
	}
	return nil
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestProxyDownUp(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c, r := dial(t, p.Addr())
	if err := roundTrip(c, r, "one", 5*time.Second); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}

	p.Down()
	if err := roundTrip(c, r, "two", 5*time.Second); err == nil {
		t.Fatal("an open connection still works after Down")
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second); err == nil {
		t.Fatal("a new connection was accepted after Down")
	}

	p.Up()
	c2, r2 := dial(t, p.Addr())
	if err := roundTrip(c2, r2, "three", 5*time.Second); err != nil {
		t.Fatalf("after Up: %v", err)
	}
}

func TestProxyHang(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c, r := dial(t, p.Addr())
	if err := roundTrip(c, r, "one", 5*time.Second); err != nil {
		t.Fatal(err)
	}

	p.Hang()
	err := roundTrip(c, r, "held", 100*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("while hung: got %v, want a timeout", err)
	}
	// A connection opened while hung is accepted but not served.
	c2, r2 := dial(t, p.Addr())
	if err := roundTrip(c2, r2, "new", 100*time.Millisecond); err == nil {
		t.Fatal("a new connection was served while hung")
	}

	p.Up()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "held\n" {
		t.Fatalf("held bytes after Up: %q, %v", got, err)
	}
	c3, r3 := dial(t, p.Addr())
	if err := roundTrip(c3, r3, "after", 5*time.Second); err != nil {
		t.Fatalf("after Up: %v", err)
	}
}

func TestProxyDownWhileHung(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c, r := dial(t, p.Addr())
	p.Hang()
	fmt.Fprintln(c, "held")
	p.Down() // must release the goroutines waiting on the hang
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("read succeeded after Down")
	}
	p.Close() // waits for every goroutine
}

// fakeTB records how Require ended a test.
type fakeTB struct {
	testing.TB
	how string
}

func (f *fakeTB) Helper() {}

// Fatalf and Skipf end a real test; the fake keeps the first call only.
func (f *fakeTB) Fatalf(string, ...any) {
	if f.how == "" {
		f.how = "fatal"
	}
}

func (f *fakeTB) Skipf(msg string, a ...any) {
	if f.how == "" {
		f.how = "skip: " + fmt.Sprintf(msg, a...)
	}
}

func TestRequire(t *testing.T) {
	cases := []struct {
		integration string
		err         error
		want        string
	}{
		{"", nil, ""},
		{"1", nil, ""},
		{"", errors.New("refused"), "skip"},
		{"0", errors.New("refused"), "skip"},
		{"1", errors.New("refused"), "fatal"},
	}
	for _, c := range cases {
		t.Setenv(IntegrationEnv, c.integration)
		f := &fakeTB{TB: t}
		Require(f, "postgres", c.err)
		if !strings.HasPrefix(f.how, c.want) || (c.want == "" && f.how != "") {
			t.Errorf("VITALS_INTEGRATION=%q err=%v: got %q, want %q", c.integration, c.err, f.how, c.want)
		}
		if c.want == "skip" && !strings.Contains(f.how, "scripts/services.sh start") {
			t.Errorf("skip message %q does not say how to start the servers", f.how)
		}
	}
}

func TestEnvDefaults(t *testing.T) {
	t.Setenv("VITALS_REDIS_ADDR", "")
	if got := RedisAddr(); got != "127.0.0.1:56379" {
		t.Errorf("RedisAddr() = %q", got)
	}
	t.Setenv("VITALS_REDIS_ADDR", "127.0.0.1:1")
	if got := RedisAddr(); got != "127.0.0.1:1" {
		t.Errorf("RedisAddr() = %q", got)
	}
}

func TestProxyDelay(t *testing.T) {
	p := NewProxy(t, echoServer(t))
	c, r := dial(t, p.Addr())
	if err := roundTrip(c, r, "fast", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Delay(200 * time.Millisecond)
	err := roundTrip(c, r, "slow", 50*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("with a 200ms delay and a 50ms deadline: got %v, want a timeout", err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "slow\n" {
		t.Fatalf("delayed bytes: %q, %v", got, err)
	}
	p.Delay(0)
	if err := roundTrip(c, r, "fast again", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Delay(time.Hour)
	fmt.Fprintln(c, "never")
	p.Close() // must not wait for the delay
}

package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/config"
)

// clientFrom returns an HTTP client whose connections come from the
// loopback address src (127.0.0.0/8 is all loopback on Linux).
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 30 * time.Second}
}

// dialFrom opens a raw connection to addr from src, closed at the end of
// the test. A read deadline bounds every read, so that a server that holds
// the connection fails the test instead of hanging it.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSlowBodiesAreBounded: a client that opens many connections and sends
// its bodies a byte at a time (slowloris) holds at most
// max_connections_per_client of them, each only until body_timeout, while
// another client's pings keep being answered and the status page's live
// stream (which outlives every timeout) stays open.
func TestSlowBodiesAreBounded(t *testing.T) {
	const perClient, extra = 4, 20
	checks := "  - {name: a, period: 1h}\n  - {name: b, period: 1h}\n  - {name: streamed, period: 1h}\n"
	h := start(t, checks)
	// Small bounds, applied by a reload (they apply to new connections and
	// requests at once).
	writeConfig(t, h.file, checks)
	b, err := os.ReadFile(h.file)
	if err != nil {
		t.Fatal(err)
	}
	bounds := fmt.Sprintf("server:\n  max_connections: 16\n  max_connections_per_client: %d\n  body_timeout: 1s\n  write_timeout: 1s\n", perClient)
	if err := os.WriteFile(h.file, []byte(strings.Replace(string(b), "server:\n", bounds, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := h.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := h.d.Addrs()[0].String()

	// A live stream of the status page, open through the whole attack,
	// opened as a browser does: after loading the page (the stream
	// carries changes to the rows the page rendered).
	if code, _ := h.do("GET", "/status/", roKey); code != 200 {
		t.Fatalf("/status/: %d", code)
	}
	streamCtx, cancelStream := context.WithTimeout(context.Background(), time.Minute) // bounds the reads below
	defer cancelStream()
	req, _ := http.NewRequestWithContext(streamCtx, "GET", h.base+"/status/events", nil)
	req.Header.Set("X-Api-Key", roKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	events := bufio.NewReader(resp.Body)

	normal := clientFrom("127.0.0.3")
	defer normal.CloseIdleConnections()
	pingB := func(what string) {
		t.Helper()
		resp, err := normal.Post(h.base+"/ping/"+h.d.CheckID("b").Secret(), "text/plain", strings.NewReader("ok"))
		if err != nil {
			t.Fatalf("%s: the normal client's ping: %v", what, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: the normal client's ping: %d", what, resp.StatusCode)
		}
	}
	pingB("before")

	// The attacker's connections: perClient are accepted (they sit in the
	// header phase until told to go on)... The server accepts in the
	// order the connections were made, so these are counted before the
	// next ones are looked at.
	slow := make([]net.Conn, perClient)
	for i := range slow {
		slow[i] = dialFrom(t, "127.0.0.2", addr)
	}
	// ... and every further one is refused at once, with a reason.
	for i := range extra {
		c := dialFrom(t, "127.0.0.2", addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d over the per-client bound: %v (want a 429 answer and a close)", perClient+i, err)
		}
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(resp.Header.Get("X-Vitals-Reason"), "max_connections_per_client") {
			t.Fatalf("connection %d over the per-client bound: %d %q", perClient+i, resp.StatusCode, resp.Header.Get("X-Vitals-Reason"))
		}
		c.Close()
	}
	pingB("while the attacker holds its connections")

	// The accepted ones send a ping's headers and trickle its body, a byte
	// every 50ms: the body deadline cuts them off (trickling does not
	// extend it), each with a 408.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for _, c := range slow {
		fmt.Fprintf(c, "POST /ping/%s/fail HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\nP", h.d.CheckID("a").Secret())
		wg.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		})
	}
	for i, c := range slow {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("slow connection %d: %v (want a 408 at the body deadline)", i, err)
		}
		if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Fatalf("slow connection %d: %d close=%v, want 408 and a close", i, resp.StatusCode, resp.Close)
		}
		pingB(fmt.Sprintf("after %d slow bodies timed out", i+1))
	}

	// Their places are free again: the same address is served.
	waitFor(t, "127.0.0.2 to be served again", func() bool {
		resp, err := clientFrom("127.0.0.2").Get(h.base + "/livez")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	// The live stream outlived body_timeout and write_timeout and still
	// carries updates: the first ping of check "streamed" is streamed.
	resp2, err := normal.Post(h.base+"/ping/"+h.d.CheckID("streamed").Secret(), "text/plain", nil)
	if err != nil || resp2.StatusCode != 200 {
		t.Fatalf("ping: %v", err)
	}
	resp2.Body.Close()
	var seen []string
	for {
		line, err := events.ReadString('\n')
		if err != nil {
			t.Fatalf("the live stream ended: %v; it carried:\n%s", err, strings.Join(seen, ""))
		}
		seen = append(seen, line)
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `\u003estreamed\u003c/a`) { // the row's link, JSON-escaped
			break
		}
	}

	_, body := h.do("GET", "/metrics", "")
	for _, want := range []string{
		fmt.Sprintf(`vitals_http_connections_rejected_total{reason="per_client"} %d`, extra),
		`vitals_http_connections_rejected_total{reason="total"} 0`,
		fmt.Sprintf("vitals_http_body_timeouts_total %d", perClient),
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestWriteTimeoutDropsNonReader: a client that stops reading an answer is
// dropped once a write has waited write_timeout, while an answer that
// keeps moving is not cut (the live stream in TestSlowBodiesAreBounded).
func TestWriteTimeoutDropsNonReader(t *testing.T) {
	cfg, err := config.Parse("x.yaml", []byte("server: {write_timeout: 200ms}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{}
	d.cfg.Store(cfg)
	writeErr := make(chan error, 1)
	srv := httptest.NewServer(d.bounded(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for { // far more than the socket buffers hold: a write blocks
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
	})))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // and read nothing
	tm := time.NewTimer(time.Minute)
	defer tm.Stop()
	select {
	case err := <-writeErr:
		if !isTimeout(err) {
			t.Fatalf("write error %v, want a timeout", err)
		}
	case <-tm.C:
		t.Fatal("the handler's writes to a client that reads nothing never failed")
	}
}

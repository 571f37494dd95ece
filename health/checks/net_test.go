package checks_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health/checks"
	"github.com/vitals-go/vitals/internal/testenv"
)

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	c := checks.NewTCP(addr, checks.TCPOptions{})
	r := runOnce(t, c)
	if r.Error != "" || r.Observation == nil || r.Observation.Unit != "ms" {
		t.Fatalf("up: result %+v, want pass with a ms observation", r)
	}
	ln.Close()
	<-accepted
	err = c.Check(context.Background())
	wantErr(t, err, syscall.ECONNREFUSED, "tcp "+addr+": ", "connection refused")
	if strings.Count(err.Error(), addr) != 1 {
		t.Errorf("err %q names the address more than once", err)
	}
}

func TestTCPCanceled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = checks.NewTCP(ln.Addr().String(), checks.TCPOptions{}).Check(ctx)
	wantErr(t, err, context.Canceled, "tcp "+ln.Addr().String())
}

// dnsServer answers A queries on 127.0.0.1 over UDP: names in answers get
// their addresses, "nx." gets NXDOMAIN, others an empty answer.
func dnsServer(t *testing.T, answers map[string][]net.IP) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], answers); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func dnsAnswer(q []byte, answers map[string][]net.IP) []byte {
	if len(q) < 12 {
		return nil
	}
	// Question: labels, then type and class.
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qend := i + 5
	qtype := binary.BigEndian.Uint16(q[i+1:])
	name := strings.ToLower(strings.Join(labels, ".")) + "."
	resp := append([]byte(nil), q[:qend]...)
	resp[2] = 0x84 | q[2]&0x01 // QR, AA, RD copied
	resp[3] = 0x80             // RA, rcode 0
	binary.BigEndian.PutUint16(resp[6:], 0)
	binary.BigEndian.PutUint16(resp[8:], 0)
	binary.BigEndian.PutUint16(resp[10:], 0)
	if name == "nx." || strings.HasPrefix(name, "nx.") {
		resp[3] |= 3 // NXDOMAIN
		return resp
	}
	var count uint16
	for _, ip := range answers[name] {
		ip4 := ip.To4()
		if qtype != 1 || ip4 == nil {
			continue // only A records
		}
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		resp = append(resp, ip4...)
		count++
	}
	binary.BigEndian.PutUint16(resp[6:], count)
	return resp
}

func TestDNS(t *testing.T) {
	addr := dnsServer(t, map[string][]net.IP{
		"one.test.": {net.IPv4(10, 0, 0, 1)},
		"two.test.": {net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2)},
	})
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
	ctx := context.Background()
	if err := checks.NewDNS("two.test", checks.DNSOptions{Resolver: res, Network: "ip4"}).Check(ctx); err != nil {
		t.Errorf("two.test: %v", err)
	}
	if err := checks.NewDNS("two.test", checks.DNSOptions{Resolver: res, Network: "ip4", MinAddresses: 2}).Check(ctx); err != nil {
		t.Errorf("two.test, min 2: %v", err)
	}
	err := checks.NewDNS("one.test", checks.DNSOptions{Resolver: res, Network: "ip4", MinAddresses: 2}).Check(ctx)
	wantErr(t, err, checks.ErrTooFewAddresses, "dns one.test:", "resolved 1", "want at least 2")
	err = checks.NewDNS("nx.test", checks.DNSOptions{Resolver: res, Network: "ip4"}).Check(ctx)
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("nx.test: err = %v, want a not-found *net.DNSError", err)
	}
	wantErr(t, err, nil, "dns nx.test:")

	r := runOnce(t, checks.NewDNS("two.test", checks.DNSOptions{Resolver: res, Network: "ip4"}))
	if r.Error != "" || r.Observation == nil || r.Observation.Value != 2 {
		t.Errorf("result %+v, want pass observing 2 addresses", r)
	}
}

func TestDNSLocalhost(t *testing.T) {
	// The default resolver, through /etc/hosts or the system's DNS.
	if err := checks.NewDNS("localhost", checks.DNSOptions{}).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Token") != "" {
			w.Header().Set("X-Seen-Token", r.Header.Get("X-Token"))
		}
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, `{"status":"UP"}`)
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "database\x00 unreachable\n"+strings.Repeat("x", 10000))
		case "/created":
			w.WriteHeader(http.StatusCreated)
		case "/token":
			if r.Header.Get("X-Token") != "s3cret" {
				w.WriteHeader(http.StatusUnauthorized)
			}
		case "/hang":
			<-r.Context().Done()
		}
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	tests := []struct {
		name   string
		url    string
		opts   checks.HTTPOptions
		target error
		parts  []string
	}{
		{name: "ok", url: srv.URL + "/ok"},
		{name: "503", url: srv.URL + "/down", target: checks.ErrUnexpectedStatus,
			parts: []string{"http GET " + srv.URL + "/down: unexpected status 503 Service Unavailable, want 2xx", `body "database. unreachable xxx`, "…"}},
		{name: "statuses", url: srv.URL + "/created", opts: checks.HTTPOptions{Statuses: []int{200}}, target: checks.ErrUnexpectedStatus,
			parts: []string{"201 Created, want 200"}},
		{name: "statuses ok", url: srv.URL + "/created", opts: checks.HTTPOptions{Statuses: []int{200, 201}}},
		{name: "header", url: srv.URL + "/token", opts: checks.HTTPOptions{Header: http.Header{"X-Token": {"s3cret"}}}},
		{name: "no header", url: srv.URL + "/token", target: checks.ErrUnexpectedStatus, parts: []string{"401"}},
		{name: "body predicate", url: srv.URL + "/ok", opts: checks.HTTPOptions{Body: func(b []byte) error {
			if !strings.Contains(string(b), `"UP"`) {
				return fmt.Errorf("status not UP")
			}
			return nil
		}}},
		{name: "body predicate fails", url: srv.URL + "/ok", opts: checks.HTTPOptions{Body: func(b []byte) error {
			return fmt.Errorf("got %s", b)
		}}, parts: []string{`body: got {"status":"UP"}`}},
		{name: "bad scheme", url: "ftp://x/", parts: []string{`http: invalid URL: scheme "ftp" is not http or https`}},
		{name: "credentials redacted", url: "http://user:hunter2@127.0.0.1:1/", parts: []string{"http GET http://user:xxxxx@127.0.0.1:1/: ", "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checks.NewHTTP(tt.url, tt.opts).Check(ctx)
			if tt.target == nil && len(tt.parts) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tt.target, tt.parts...)
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("err %q leaks the password", err)
			}
			if len(err.Error()) > 600 {
				t.Errorf("err is %d bytes, want the body capped", len(err.Error()))
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		err := checks.NewHTTP(srv.URL+"/hang", checks.HTTPOptions{}).Check(ctx)
		wantErr(t, err, context.DeadlineExceeded, "http GET "+srv.URL+"/hang")
	})
	t.Run("observed", func(t *testing.T) {
		r := runOnce(t, checks.NewHTTP(srv.URL+"/ok", checks.HTTPOptions{}))
		if r.Error != "" || r.Observation == nil || r.Observation.Unit != "ms" {
			t.Errorf("result %+v, want pass with a ms observation", r)
		}
	})
}

// TestHTTPNoLeak runs many HTTP checks and sees the goroutine count come
// back: the default client keeps no connection (and no goroutine) alive.
func TestHTTPNoLeak(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	before := runtime.NumGoroutine()
	c := checks.NewHTTP(srv.URL, checks.HTTPOptions{})
	for range 50 {
		if err := c.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, "goroutines back to the baseline", 10*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > before+1 {
			return fmt.Errorf("%d goroutines, %d before the checks", n, before)
		}
		return nil
	})
}

func TestInFlightConcurrent(t *testing.T) {
	l := checks.NewInFlight(3, checks.InFlightOptions{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				l.Enter()
				l.Leave()
			}
		})
	}
	wg.Go(func() {
		for range 2000 {
			l.Check(context.Background())
		}
	})
	wg.Wait()
	if l.Len() != 0 {
		t.Errorf("Len = %d after balanced Enter/Leave, want 0", l.Len())
	}
	if err := l.Check(context.Background()); err != nil {
		t.Errorf("idle: %v", err)
	}
}

package pull

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/probe"
)

func compile(t *testing.T, s Spec) *Prober {
	t.Helper()
	p, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProbeHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/up":
			w.Write([]byte(`{"status":"UP","queue":{"depth":12}}`))
		case "/down":
			w.WriteHeader(503)
			w.Write([]byte(`{"status":"DOWN"}`))
		case "/text":
			w.Write([]byte(`hello`))
		case "/slow":
			time.Sleep(50 * time.Millisecond)
		case "/auth":
			if r.Header.Get("Authorization") != "Bearer t" {
				w.WriteHeader(401)
			}
		}
	}))
	defer srv.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tls.Close()
	tests := []struct {
		name string
		spec Spec
		ok   bool
		err  string // substring of the failure
	}{
		{"up", Spec{URL: srv.URL + "/up"}, true, ""},
		{"status", Spec{URL: srv.URL + "/down"}, false, "503"},
		{"status accepted", Spec{URL: srv.URL + "/down", Status: "503"}, true, ""},
		{"json ok", Spec{URL: srv.URL + "/up", JSON: []string{`$.status == "UP"`, `$.queue.depth < 100`}}, true, ""},
		{"json fails", Spec{URL: srv.URL + "/up", JSON: []string{`$.queue.depth < 10`}}, false, `$.queue.depth < 10: found 12`},
		{"not json", Spec{URL: srv.URL + "/text", JSON: []string{`$.a`}}, false, "body is not JSON"},
		{"latency", Spec{URL: srv.URL + "/slow", MaxLatency: Duration(time.Millisecond)}, false, "latency"},
		{"header", Spec{URL: srv.URL + "/auth", Header: map[string]string{"Authorization": "Bearer t"}}, true, ""},
		{"no header", Spec{URL: srv.URL + "/auth"}, false, "401"},
		{"cert ok", Spec{URL: tls.URL, TLS: TLS{InsecureSkipVerify: true}, MinCertValidity: Duration(24 * time.Hour)}, true, ""},
		{"cert expiring", Spec{URL: tls.URL, TLS: TLS{InsecureSkipVerify: true}, MinCertValidity: Duration(200 * 365 * 24 * time.Hour)}, false, "certificate expires"},
		{"refused", Spec{URL: "http://" + closedAddr(t) + "/"}, false, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := compile(t, tt.spec).Probe(context.Background())
			if r.OK != tt.ok || !strings.Contains(r.Error, tt.err) || r.Time.IsZero() || r.Duration <= 0 {
				t.Errorf("%+v", r)
			}
		})
	}
}

func TestProbeTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if r := compile(t, Spec{URL: "tcp://" + ln.Addr().String()}).Probe(context.Background()); !r.OK {
		t.Errorf("%+v", r)
	}
}

func TestProbeCommand(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		ok   bool
		err  string
	}{
		{"true", Spec{Command: []string{"true"}}, true, ""},
		{"exit 3 with output", Spec{Command: []string{"sh", "-c", "echo starting; echo disk full >&2; exit 3"}}, false, "exit status 3: starting\ndisk full"},
		{"env and dir", Spec{Command: []string{"sh", "-c", `test "$FOO" = bar && test "$(pwd)" = /`}, Env: []string{"FOO=bar"}, Dir: "/"}, true, ""},
		{"timeout kills the group", Spec{Command: []string{"sh", "-c", "sleep 30 & sleep 30"}, Timeout: Duration(100 * time.Millisecond)}, false, "timeout after 100ms"},
		{"missing program", Spec{Command: []string{"/nonexistent/x"}}, false, "no such file"},
		{"output capped", Spec{Command: []string{"sh", "-c", "yes line | head -n 10000; exit 1"}, MaxOutput: 100}, false, "exit status 1: line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := compile(t, tt.spec).Probe(context.Background())
			if r.OK != tt.ok || !strings.Contains(r.Error, tt.err) {
				t.Errorf("%+v", r)
			}
			if len(r.Error) > 400 {
				t.Errorf("error not capped: %d bytes", len(r.Error))
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("the timeout did not stop the command")
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{}, "url: is required"},
		{Spec{URL: "ftp://x"}, `url: bad target`},
		{Spec{URL: "tcp://x:1", Status: "200"}, "url: method, status and json conditions need an HTTP target, not tcp"},
		{Spec{URL: "http://x", Status: "999"}, "status: "},
		{Spec{URL: "http://x", JSON: []string{"x"}}, `json[0]: bad condition "x"`},
		{Spec{URL: "http://x", MinCertValidity: Duration(time.Hour)}, "min_cert_validity: needs an https or grpcs target, not http"},
		{Spec{URL: "https://x", CertNotice: Duration(time.Hour)}, "cert_notice: needs min_cert_validity"},
		{Spec{URL: "https://x", MinCertValidity: Duration(time.Hour), CertNotice: Duration(time.Hour)}, "cert_notice: must be longer than min_cert_validity (1h0m0s)"},
		{Spec{URL: "http://x", Command: []string{"x"}}, "command: a probe is a URL or a command, not both"},
		{Spec{Command: []string{""}}, "command[0]: the program must not be empty"},
		{Spec{Command: []string{"x"}, Env: []string{"NOEQ"}}, `env[0]: "NOEQ" is not KEY=VALUE`},
		{Spec{URL: "http://x", Timeout: Duration(-1)}, "timeout: must not be negative"},
		// Secrets are never echoed.
		{Spec{Command: []string{"x"}, Env: []string{"=PRODPASS"}}, "env[0]: is not KEY=VALUE: the name before '=' is empty"},
		{Spec{URL: "http://produser:PRODPASS@db.example/?token=PRODPASS"}, `url: bad target "http://xxxxx@db.example/?token=xxxxx": credentials in the URL are not supported`},
	}
	for _, tt := range tests {
		_, err := Compile(tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: got %v, want %q", tt.spec, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRODPASS") {
			t.Errorf("the error echoes a secret: %v", err)
		}
	}
}

func TestSpecJSON(t *testing.T) {
	s := Spec{URL: "https://x/", JSON: []string{`$.a`}, Timeout: Duration(2 * time.Second), TLS: TLS{CAFile: "/ca.pem"}}
	b := s.Encode()
	if !strings.Contains(string(b), `"timeout":"2s"`) || !strings.Contains(string(b), `"ca_file":"/ca.pem"`) {
		t.Errorf("%s", b)
	}
	got, err := Decode(b)
	if err != nil || got.Timeout != s.Timeout || got.TLS != s.TLS {
		t.Errorf("%+v %v", got, err)
	}
	if err := ValidateProbe([]byte(`{"url":"http://x","bogus":1}`)); err == nil {
		t.Error("unknown field accepted")
	}
	if err := ValidateProbe([]byte(`{"url":"http://x","timeout":"3s"}`)); err != nil {
		t.Error(err)
	}
}

func TestTailBuffer(t *testing.T) {
	b := &TailBuffer{Max: 5}
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	if b.String() != "cdefg" || !b.Truncated {
		t.Errorf("%q %v", b.String(), b.Truncated)
	}
	b.Write([]byte("0123456789"))
	if b.String() != "56789" {
		t.Errorf("%q", b.String())
	}
}

func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// HTTP probes compiled with one probe.Conns share a connection to their
// target across checks; fresh_connection connects each time.
func TestCompileWithSharesConnections(t *testing.T) {
	var accepts atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"status":"UP"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepts.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	conns := probe.NewConns(probe.ConnsOptions{})
	t.Cleanup(conns.Close)
	run := func(s Spec, n int) int64 {
		t.Helper()
		accepts.Store(0)
		var ps []*Prober
		for range 2 { // two checks of one target
			p, err := CompileWith(s, conns)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		for i := range n {
			if r := ps[i%2].Probe(context.Background()); !r.OK {
				t.Fatalf("probe %d: %s", i, r.Error)
			}
		}
		return accepts.Load()
	}
	spec := Spec{URL: srv.URL + "/readyz", JSON: []string{`$.status == "UP"`}}
	if got := run(spec, 10); got != 1 {
		t.Fatalf("10 probes of two checks made %d connections, want 1", got)
	}
	spec.FreshConnection = true
	if got := run(spec, 10); got != 10 {
		t.Fatalf("10 probes with fresh_connection made %d connections, want 10", got)
	}
	if _, err := Compile(Spec{URL: "tcp://127.0.0.1:1", FreshConnection: true}); err == nil || !strings.Contains(err.Error(), "fresh_connection") {
		t.Fatalf("fresh_connection on a tcp probe: %v", err)
	}
}

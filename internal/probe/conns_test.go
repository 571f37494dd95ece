package probe

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer starts srv (over TLS when tlsConf is set) and returns a
// counter of the connections it accepted.
func countingServer(t *testing.T, tlsConf *tls.Config) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var accepts atomic.Int64
	srv := httptest.NewUnstartedServer(statusHandler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepts.Add(1)
		}
	}
	if tlsConf != nil {
		srv.TLS = tlsConf
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &accepts
}

func probeN(t *testing.T, p *Prober, raw string, n int) []Result {
	t.Helper()
	target, err := ParseTarget(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Result, n)
	for i := range out {
		out[i] = p.Probe(context.Background(), target)
		if !out[i].Healthy {
			t.Fatalf("probe %d: %s", i, out[i].Reason)
		}
	}
	return out
}

// Probes of one target by two Probers (two checks) sharing a Conns use
// one connection; with Fresh, or without Conns, each probe connects.
func TestConnsReuseConnectionsPerTarget(t *testing.T) {
	srv, accepts := countingServer(t, nil)
	conns := NewConns(ConnsOptions{})
	t.Cleanup(conns.Close)
	a := mustProber(t, Options{Conns: conns})
	b := mustProber(t, Options{Conns: conns, MaxBody: -1})
	probeN(t, a, srv.URL+"/status/200", 10)
	probeN(t, b, srv.URL+"/big", 10) // a body the probe does not keep is drained: still reused
	if n := accepts.Load(); n != 1 {
		t.Fatalf("20 probes through a shared Conns made %d connections, want 1", n)
	}

	accepts.Store(0)
	fresh := mustProber(t, Options{Conns: conns, Fresh: true})
	probeN(t, fresh, srv.URL+"/status/200", 5)
	if n := accepts.Load(); n != 5 {
		t.Fatalf("5 fresh probes made %d connections, want 5", n)
	}

	accepts.Store(0)
	probeN(t, mustProber(t, Options{}), srv.URL+"/status/200", 5)
	if n := accepts.Load(); n != 5 {
		t.Fatalf("5 probes without Conns made %d connections, want 5", n)
	}

	// Closing the Conns closes the idle connection: the next probe connects.
	conns.Close()
	accepts.Store(0)
	probeN(t, a, srv.URL+"/status/200", 3)
	if n := accepts.Load(); n != 1 {
		t.Fatalf("after Close: %d connections, want 1", n)
	}
}

// Over TLS a reused connection still reports the server's certificate
// (expiry and fingerprint) on every probe; Probers with different TLS
// settings do not share connections.
func TestConnsKeepCertificatesOverTLS(t *testing.T) {
	ca := newCA(t)
	server := newServerCert(t, ca)
	srv, accepts := countingServer(t, &tls.Config{Certificates: []tls.Certificate{server.tls}})
	conns := NewConns(ConnsOptions{})
	t.Cleanup(conns.Close)
	p := mustProber(t, Options{Conns: conns, TLS: TLSOptions{CAFile: ca.certFile}})
	res := probeN(t, p, srv.URL+"/status/200", 5)
	for i, r := range res {
		if r.CertExpiry.IsZero() || r.CertFingerprint == "" || r.CertFingerprint != res[0].CertFingerprint {
			t.Fatalf("probe %d over a reused connection: expiry %v fingerprint %q", i, r.CertExpiry, r.CertFingerprint)
		}
	}
	if !res[0].CertExpiry.Equal(server.x509.NotAfter) {
		t.Fatalf("cert expiry %v, want the server's %v", res[0].CertExpiry, server.x509.NotAfter)
	}
	if n := accepts.Load(); n != 1 {
		t.Fatalf("5 TLS probes made %d connections, want 1", n)
	}
	other := mustProber(t, Options{Conns: conns, TLS: TLSOptions{CAFile: ca.certFile, ServerName: "probe.test"}})
	probeN(t, other, srv.URL+"/status/200", 2)
	if n := accepts.Load(); n != 2 {
		t.Fatalf("other TLS settings shared the connection (%d connections, want 2)", n)
	}
}

// Past MaxConnAge the idle connections are closed: the next probe
// connects (and handshakes) afresh, so a renewed certificate is seen.
func TestConnsRenewConnectionsPastMaxAge(t *testing.T) {
	srv, accepts := countingServer(t, nil)
	conns := NewConns(ConnsOptions{MaxConnAge: time.Nanosecond})
	t.Cleanup(conns.Close)
	probeN(t, mustProber(t, Options{Conns: conns}), srv.URL+"/status/200", 4)
	if n := accepts.Load(); n != 4 {
		t.Fatalf("4 probes past MaxConnAge made %d connections, want 4", n)
	}
}

package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// statusHandler answers /status/N with status N and echoes what the probe
// sent on /echo.
func statusHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if code >= 300 && code < 400 {
			w.Header().Set("Location", "/status/500")
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "status %d", code)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s host=%s ua=%s x=%s", r.Method, r.URL.RequestURI(), r.Host,
			r.Header.Get("User-Agent"), strings.Join(r.Header.Values("X-Probe"), "|"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 10<<10))
	})
	return mux
}

func TestHTTPStatus(t *testing.T) {
	srv := httptest.NewServer(statusHandler())
	t.Cleanup(srv.Close)
	tests := []struct {
		code    int
		status  StatusRanges
		healthy bool
	}{
		{200, nil, true},
		{204, nil, true},
		{301, nil, true}, // not followed: judged as it is, like the kubelet
		{399, nil, true},
		{400, nil, false},
		{404, nil, false},
		{503, nil, false},
		{301, StatusRanges{{200, 299}}, false},
		{503, StatusRanges{{200, 299}, {503, 503}}, true},
		{200, StatusRanges{{204, 204}}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d in %v", tt.code, tt.status), func(t *testing.T) {
			res := probeURL(t, fmt.Sprintf("%s/status/%d", srv.URL, tt.code), Options{Status: tt.status, Timeout: 5 * time.Second})
			want := fmt.Sprintf("status %d", tt.code)
			if res.Healthy != tt.healthy || res.Reason != want || res.StatusCode != tt.code {
				t.Fatalf("got %v %q %d, want %v %q", res.Healthy, res.Reason, res.StatusCode, tt.healthy, want)
			}
			if tt.healthy != (res.Err == nil) || !tt.healthy && !errors.Is(res.Err, ErrStatus) {
				t.Fatalf("err = %v", res.Err)
			}
			if string(res.Body) != want && tt.code != 204 {
				t.Errorf("body = %q, want %q", res.Body, want)
			}
		})
	}
}

func TestHTTPRequest(t *testing.T) {
	srv := httptest.NewServer(statusHandler())
	t.Cleanup(srv.Close)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"defaults", Options{}, "GET /echo?a=1 host=" + srv.Listener.Addr().String() + " ua=vitals-probe/1 x="},
		{"method", Options{Method: "POST"}, "POST /echo?a=1 host=" + srv.Listener.Addr().String() + " ua=vitals-probe/1 x="},
		{"headers", Options{Header: http.Header{
			"X-Probe":    {"one", "two"},
			"user-agent": {"kube-probe/1.33"},
			"Host":       {"app.example"},
		}}, "GET /echo?a=1 host=app.example ua=kube-probe/1.33 x=one|two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Timeout = 5 * time.Second
			res := probeURL(t, srv.URL+"/echo?a=1", tt.opts)
			if !res.Healthy || string(res.Body) != tt.want {
				t.Fatalf("got %v %q body %q, want body %q", res.Healthy, res.Reason, res.Body, tt.want)
			}
		})
	}
	t.Run("HEAD", func(t *testing.T) {
		res := probeURL(t, srv.URL+"/status/200", Options{Method: http.MethodHead})
		if !res.Healthy || len(res.Body) != 0 {
			t.Fatalf("got %v %q body %q", res.Healthy, res.Reason, res.Body)
		}
	})
}

func TestHTTPBodyCap(t *testing.T) {
	srv := httptest.NewServer(statusHandler())
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		max       int
		wantLen   int
		truncated bool
	}{
		{0, DefaultMaxBody, true},
		{100, 100, true},
		{20 << 10, 10 << 10, false},
		{-1, 0, false},
	} {
		res := probeURL(t, srv.URL+"/big", Options{MaxBody: tt.max})
		if !res.Healthy || len(res.Body) != tt.wantLen || res.Truncated != tt.truncated {
			t.Errorf("MaxBody %d: healthy %v, %d bytes, truncated %v; want %d bytes, truncated %v",
				tt.max, res.Healthy, len(res.Body), res.Truncated, tt.wantLen, tt.truncated)
		}
	}
}

func TestHTTPFailures(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		res := probeURL(t, "http://"+refusedAddr(t)+"/healthz", Options{})
		if res.Healthy || res.Reason != "connection refused" || !errors.Is(res.Err, ErrRefused) || res.StatusCode != 0 {
			t.Fatalf("got %v %q (%v)", res.Healthy, res.Reason, res.Err)
		}
	})
	t.Run("server never answers", func(t *testing.T) {
		res := probeURL(t, "http://"+silentServer(t)+"/healthz", Options{Timeout: 150 * time.Millisecond})
		if res.Healthy || res.Reason != "timeout after 150ms" || !errors.Is(res.Err, ErrTimeout) {
			t.Fatalf("got %v %q (%v)", res.Healthy, res.Reason, res.Err)
		}
	})
	t.Run("handler hangs", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		res := probeURL(t, srv.URL, Options{Timeout: 100 * time.Millisecond})
		if res.Healthy || res.Reason != "timeout after 100ms" || !errors.Is(res.Err, ErrTimeout) {
			t.Fatalf("got %v %q (%v)", res.Healthy, res.Reason, res.Err)
		}
	})
	t.Run("body stalls", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		res := probeURL(t, srv.URL, Options{Timeout: time.Second})
		if res.Healthy || res.Reason != "timeout after 1s" || res.StatusCode != 200 || string(res.Body) != "partial" {
			t.Fatalf("got %v %q %d %q (%v)", res.Healthy, res.Reason, res.StatusCode, res.Body, res.Err)
		}
	})
	t.Run("connection closed", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Read the request, then hang up without answering.
			_, _ = c.Read(make([]byte, 4096))
			c.Close()
		})
		t.Cleanup(func() { ln.Close(); wg.Wait() })
		res := probeURL(t, "http://"+ln.Addr().String(), Options{Timeout: 5 * time.Second})
		if res.Healthy || res.Reason != "connection closed by server" || !errors.Is(res.Err, ErrConnect) {
			t.Fatalf("got %v %q (%v)", res.Healthy, res.Reason, res.Err)
		}
	})
	t.Run("no such host", func(t *testing.T) {
		res := probeURL(t, "http://no-such-host.invalid/", Options{Timeout: 5 * time.Second})
		if res.Healthy || !strings.HasPrefix(res.Reason, "lookup no-such-host.invalid: ") || !errors.Is(res.Err, ErrConnect) {
			t.Fatalf("got %v %q (%v)", res.Healthy, res.Reason, res.Err)
		}
	})
	t.Run("caller's deadline", func(t *testing.T) {
		target, _ := ParseTarget("http://" + silentServer(t))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		res := mustProber(t, Options{Timeout: time.Minute}).Probe(ctx, target)
		if res.Healthy || res.Reason != "deadline exceeded" || !errors.Is(res.Err, ErrTimeout) {
			t.Fatalf("got %v %q (%v)", res.Healthy, res.Reason, res.Err)
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		target, _ := ParseTarget("http://" + silentServer(t))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res := mustProber(t, Options{}).Probe(ctx, target)
		if res.Healthy || res.Reason != "canceled" || !errors.Is(res.Err, ErrCanceled) {
			t.Fatalf("got %v %q (%v)", res.Healthy, res.Reason, res.Err)
		}
	})
}

func TestHTTPS(t *testing.T) {
	ca := newCA(t)
	server := newServerCert(t, ca)
	client := newClientCert(t, ca)
	pool := x509.NewCertPool()
	pool.AddCert(ca.x509)

	quiet := log.New(io.Discard, "", 0) // rejected handshakes are the point here

	srv := httptest.NewUnstartedServer(statusHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{server.tls}}
	srv.Config.ErrorLog = quiet
	srv.StartTLS()
	t.Cleanup(srv.Close)

	mtls := httptest.NewUnstartedServer(statusHandler())
	mtls.TLS = &tls.Config{Certificates: []tls.Certificate{server.tls}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	mtls.Config.ErrorLog = quiet
	mtls.StartTLS()
	t.Cleanup(mtls.Close)

	plain := httptest.NewServer(statusHandler())
	t.Cleanup(plain.Close)

	tests := []struct {
		name    string
		url     string
		tls     TLSOptions
		healthy bool
		reason  string
	}{
		{"trusted CA", srv.URL + "/status/200", TLSOptions{CAFile: ca.certFile}, true, "status 200"},
		{"unhealthy over TLS", srv.URL + "/status/503", TLSOptions{CAFile: ca.certFile}, false, "status 503"},
		{"unknown CA", srv.URL + "/status/200", TLSOptions{}, false, "TLS: x509: certificate signed by unknown authority"},
		{"insecure", srv.URL + "/status/200", TLSOptions{InsecureSkipVerify: true}, true, "status 200"},
		{"server name", srv.URL + "/status/200", TLSOptions{CAFile: ca.certFile, ServerName: "probe.test"}, true, "status 200"},
		{"wrong server name", srv.URL + "/status/200", TLSOptions{CAFile: ca.certFile, ServerName: "other.test"}, false,
			"TLS: x509: certificate is valid for localhost, probe.test, not other.test"},
		{"client certificate", mtls.URL + "/status/200", TLSOptions{CAFile: ca.certFile, CertFile: client.certFile, KeyFile: client.keyFile}, true, "status 200"},
		{"no client certificate", mtls.URL + "/status/200", TLSOptions{CAFile: ca.certFile}, false, "TLS: remote error: certificate required"},
		{"plain HTTP server", strings.Replace(plain.URL, "http:", "https:", 1), TLSOptions{CAFile: ca.certFile}, false,
			"TLS: server did not answer with TLS (is it plain HTTP?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := probeURL(t, tt.url, Options{TLS: tt.tls, Timeout: 5 * time.Second})
			if res.Healthy != tt.healthy || res.Reason != tt.reason {
				t.Fatalf("got %v %q (%v), want %v %q", res.Healthy, res.Reason, res.Err, tt.healthy, tt.reason)
			}
			if strings.HasPrefix(tt.reason, "TLS: ") && !errors.Is(res.Err, ErrTLS) {
				t.Fatalf("err %v does not wrap ErrTLS", res.Err)
			}
			if tt.healthy && !res.CertExpiry.Equal(server.x509.NotAfter) {
				t.Errorf("CertExpiry %v, want the server certificate's %v", res.CertExpiry, server.x509.NotAfter)
			}
		})
	}
}

func TestUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "app.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("unix sockets unavailable: %v", err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: statusHandler()}}
	srv.Start()
	t.Cleanup(srv.Close)

	for _, tt := range []struct {
		target  string
		healthy bool
		reason  string
	}{
		{"unix://" + sock + ":/status/200", true, "status 200"},
		{"unix://" + sock + ":/status/503", false, "status 503"},
		{"unix://" + sock + ":/echo?x=1", true, "status 200"},
		{"unix://" + sock, false, "status 404"},
		{"unix://" + sock + ".missing:/status/200", false, "socket: no such file"},
	} {
		t.Run(tt.target, func(t *testing.T) {
			res := probeURL(t, tt.target, Options{Timeout: 5 * time.Second})
			if res.Healthy != tt.healthy || res.Reason != tt.reason {
				t.Fatalf("got %v %q (%v), want %v %q", res.Healthy, res.Reason, res.Err, tt.healthy, tt.reason)
			}
		})
	}
	res := probeURL(t, "unix://"+sock+":/echo?x=1", Options{})
	if want := "GET /echo?x=1 host=localhost ua=vitals-probe/1 x="; string(res.Body) != want {
		t.Fatalf("body %q, want %q", res.Body, want)
	}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	res := probeURL(t, "tcp://"+ln.Addr().String(), Options{})
	if !res.Healthy || res.Reason != "connected" || res.Err != nil {
		t.Fatalf("open port: %v %q (%v)", res.Healthy, res.Reason, res.Err)
	}
	res = probeURL(t, "tcp://"+refusedAddr(t), Options{})
	if res.Healthy || res.Reason != "connection refused" || !errors.Is(res.Err, ErrRefused) {
		t.Fatalf("closed port: %v %q (%v)", res.Healthy, res.Reason, res.Err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"negative timeout", Options{Timeout: -time.Second}, "timeout -1s is negative"},
		{"bad method", Options{Method: "GE T"}, `method "GE T" is not a valid HTTP method`},
		{"bad header name", Options{Header: http.Header{"X Y": {"1"}}}, `header name "X Y" is not valid`},
		{"header injection", Options{Header: http.Header{"X-A": {"1\r\nX-B: 2"}}}, "header X-A: value contains a line break or NUL"},
		{"bad status", Options{Status: StatusRanges{{600, 700}}}, "status range 600-700 is not within 100-599"},
		{"missing CA", Options{TLS: TLSOptions{CAFile: filepath.Join(dir, "nope.pem")}}, "CA file: open " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"cert without key", Options{TLS: TLSOptions{CertFile: "c.pem"}}, "client certificate given without its key"},
		{"key without cert", Options{TLS: TLSOptions{KeyFile: "k.pem"}}, "client key given without its certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestResultErrIsReason(t *testing.T) {
	res := probeURL(t, "tcp://"+refusedAddr(t), Options{})
	if res.Err.Error() != res.Reason {
		t.Fatalf("Err %q != Reason %q", res.Err, res.Reason)
	}
}

// TestNoGoroutineLeak checks that probes leave no goroutine behind: every
// probe's connection is closed before Probe returns.
func TestNoGoroutineLeak(t *testing.T) {
	srv := httptest.NewServer(statusHandler())
	t.Cleanup(srv.Close)
	grpcAddr := startHealth(t)
	targets := []string{srv.URL + "/status/200", srv.URL + "/status/503", "grpc://" + grpcAddr, "grpc://" + grpcAddr + "/billing",
		"tcp://" + grpcAddr, "http://" + refusedAddr(t)}
	p := mustProber(t, Options{Timeout: 5 * time.Second})
	probeAll := func() {
		for _, raw := range targets {
			target, err := ParseTarget(raw)
			if err != nil {
				t.Fatal(err)
			}
			p.Probe(context.Background(), target)
		}
	}
	probeAll() // warm up: the servers' own goroutines
	before := runtime.NumGoroutine()
	for range 20 {
		probeAll()
	}
	// Connections close asynchronously on the servers' side; wait a bounded time.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after 120 probes:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

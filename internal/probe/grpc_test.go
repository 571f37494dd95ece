package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// startGRPC serves a real grpc-go server on a loopback port and returns its
// address. register adds services; the server is stopped at the end of the test.
func startGRPC(t testing.TB, register func(*grpc.Server), opts ...grpc.ServerOption) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	register(srv)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() { srv.Stop(); wg.Wait() })
	return ln.Addr().String()
}

// startHealth serves grpc-go's own health server with "" SERVING,
// "orders" SERVING and "billing" NOT_SERVING.
func startHealth(t testing.TB, opts ...grpc.ServerOption) string {
	t.Helper()
	return startGRPC(t, func(s *grpc.Server) {
		hs := health.NewServer()
		hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
		hs.SetServingStatus("billing", healthpb.HealthCheckResponse_NOT_SERVING)
		hs.SetServingStatus("warming", healthpb.HealthCheckResponse_UNKNOWN)
		healthpb.RegisterHealthServer(s, hs)
	}, opts...)
}

// hangingHealth is a health server whose Check blocks until its caller gives up.
type hangingHealth struct {
	healthpb.UnimplementedHealthServer
}

func (hangingHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

// tokenHealth answers SERVING only to callers sending "authorization: Bearer s3cret".
type tokenHealth struct {
	healthpb.UnimplementedHealthServer
}

func (tokenHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("authorization"); len(v) != 1 || v[0] != "Bearer s3cret" {
		return nil, status.Error(codes.Unauthenticated, "no token: 100% denied")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func TestGRPCHealth(t *testing.T) {
	addr := startHealth(t)
	tests := []struct {
		target  string
		healthy bool
		reason  string
		serving string
		kind    error
	}{
		{"grpc://" + addr, true, "SERVING", "SERVING", nil},
		{"grpc://" + addr + "/", true, "SERVING", "SERVING", nil},
		{"grpc://" + addr + "/orders", true, "SERVING", "SERVING", nil},
		{"grpc://" + addr + "/billing", false, "NOT_SERVING", "NOT_SERVING", ErrNotServing},
		{"grpc://" + addr + "/warming", false, "UNKNOWN", "UNKNOWN", ErrNotServing},
		{"grpc://" + addr + "/nope.v1.Nope", false, `SERVICE_UNKNOWN: service "nope.v1.Nope" (NOT_FOUND: unknown service)`, "", ErrServiceUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			res := probeURL(t, tt.target, Options{Timeout: 5 * time.Second})
			if res.Healthy != tt.healthy || res.Reason != tt.reason || res.ServingStatus != tt.serving {
				t.Fatalf("got healthy=%v reason=%q serving=%q, want %v %q %q (err %v)",
					res.Healthy, res.Reason, res.ServingStatus, tt.healthy, tt.reason, tt.serving, res.Err)
			}
			if tt.kind == nil && res.Err != nil || tt.kind != nil && !errors.Is(res.Err, tt.kind) {
				t.Fatalf("err = %v, want %v", res.Err, tt.kind)
			}
			if res.StatusCode != http.StatusOK {
				t.Errorf("StatusCode = %d, want 200", res.StatusCode)
			}
		})
	}
}

func TestGRPCNotImplemented(t *testing.T) {
	addr := startGRPC(t, func(*grpc.Server) {})
	res := probeURL(t, "grpc://"+addr, Options{Timeout: 5 * time.Second})
	want := "health service not implemented (UNIMPLEMENTED: unknown service grpc.health.v1.Health)"
	if res.Healthy || res.Reason != want || !errors.Is(res.Err, ErrGRPC) {
		t.Fatalf("got %v %q (%v), want unhealthy %q", res.Healthy, res.Reason, res.Err, want)
	}
}

func TestGRPCMetadata(t *testing.T) {
	addr := startGRPC(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, tokenHealth{}) })
	res := probeURL(t, "grpc://"+addr, Options{Timeout: 5 * time.Second})
	// grpc-message is percent-encoded on the wire ("100%25 denied").
	if want := "gRPC UNAUTHENTICATED: no token: 100% denied"; res.Reason != want {
		t.Fatalf("without token: %q, want %q", res.Reason, want)
	}
	res = probeURL(t, "grpc://"+addr, Options{
		Timeout: 5 * time.Second,
		Header:  http.Header{"Authorization": {"Bearer s3cret"}},
	})
	if !res.Healthy {
		t.Fatalf("with token: %q", res.Reason)
	}
}

func TestGRPCTimeout(t *testing.T) {
	t.Run("server hangs in Check", func(t *testing.T) {
		addr := startGRPC(t, func(s *grpc.Server) { healthpb.RegisterHealthServer(s, hangingHealth{}) })
		res := probeURL(t, "grpc://"+addr, Options{Timeout: 300 * time.Millisecond})
		if res.Healthy || !errors.Is(res.Err, ErrTimeout) || !strings.HasPrefix(res.Reason, "timeout after 300ms") {
			t.Fatalf("got %v %q (%v), want a timeout", res.Healthy, res.Reason, res.Err)
		}
	})
	t.Run("server never answers", func(t *testing.T) {
		res := probeURL(t, "grpc://"+silentServer(t), Options{Timeout: 200 * time.Millisecond})
		if res.Healthy || !errors.Is(res.Err, ErrTimeout) || res.Reason != "timeout after 200ms" {
			t.Fatalf("got %v %q (%v), want a timeout", res.Healthy, res.Reason, res.Err)
		}
	})
}

func TestGRPCRefused(t *testing.T) {
	res := probeURL(t, "grpc://"+refusedAddr(t), Options{})
	if res.Healthy || res.Reason != "connection refused" || !errors.Is(res.Err, ErrRefused) {
		t.Fatalf("got %v %q (%v)", res.Healthy, res.Reason, res.Err)
	}
}

func TestGRPCNotGRPC(t *testing.T) {
	t.Run("HTTP/1 server", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		t.Cleanup(srv.Close)
		res := probeURL(t, "grpc://"+srv.Listener.Addr().String(), Options{Timeout: 5 * time.Second})
		// The server answers "HTTP/1.1 400" and hangs up; when it hangs up
		// before the client has read the answer, all the client sees is a
		// closed connection.
		reasons := []string{
			"not a gRPC server: it answered in HTTP/1",
			"connection closed by server (not a cleartext HTTP/2 server? for TLS use grpcs://)",
		}
		if res.Healthy || !slices.Contains(reasons, res.Reason) || !errors.Is(res.Err, ErrProtocol) {
			t.Fatalf("got %v %q (%v), want one of %q", res.Healthy, res.Reason, res.Err, reasons)
		}
	})
	t.Run("h2c server that is not gRPC", func(t *testing.T) {
		var protocols http.Protocols
		protocols.SetUnencryptedHTTP2(true)
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("hello"))
		}))
		srv.Config.Protocols = &protocols
		srv.Start()
		t.Cleanup(srv.Close)
		res := probeURL(t, "grpc://"+srv.Listener.Addr().String(), Options{Timeout: 5 * time.Second})
		if want := `not a gRPC server: content-type "text/plain"`; res.Healthy || res.Reason != want || !errors.Is(res.Err, ErrProtocol) {
			t.Fatalf("got %v %q (%v), want %q", res.Healthy, res.Reason, res.Err, want)
		}
	})
}

func TestGRPCTLS(t *testing.T) {
	ca := newCA(t)
	server := newServerCert(t, ca)
	addr := startHealth(t, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{server.tls}})))

	tests := []struct {
		name    string
		target  string
		tls     TLSOptions
		healthy bool
		reason  string // prefix
		kind    error
	}{
		{"trusted CA", "grpcs://" + addr + "/orders", TLSOptions{CAFile: ca.certFile}, true, "SERVING", nil},
		{"server name", "grpcs://" + addr, TLSOptions{CAFile: ca.certFile, ServerName: "probe.test"}, true, "SERVING", nil},
		{"insecure", "grpcs://" + addr, TLSOptions{InsecureSkipVerify: true}, true, "SERVING", nil},
		{"not serving", "grpcs://" + addr + "/billing", TLSOptions{CAFile: ca.certFile}, false, "NOT_SERVING", ErrNotServing},
		{"unknown CA", "grpcs://" + addr, TLSOptions{}, false, "TLS: x509: certificate signed by unknown authority", ErrTLS},
		{"wrong name", "grpcs://" + addr, TLSOptions{CAFile: ca.certFile, ServerName: "other.test"}, false, "TLS: x509: certificate is valid for localhost, probe.test, not other.test", ErrTLS},
		{"cleartext to TLS server", "grpc://" + addr, TLSOptions{}, false, "", ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := probeURL(t, tt.target, Options{Timeout: 5 * time.Second, TLS: tt.tls})
			if res.Healthy != tt.healthy || !strings.HasPrefix(res.Reason, tt.reason) {
				t.Fatalf("got %v %q (%v), want %v %q", res.Healthy, res.Reason, res.Err, tt.healthy, tt.reason)
			}
			if tt.kind != nil && !errors.Is(res.Err, tt.kind) {
				t.Fatalf("err = %v, want %v", res.Err, tt.kind)
			}
			if tt.healthy && !res.CertExpiry.Equal(server.x509.NotAfter) {
				t.Errorf("CertExpiry %v, want the server certificate's %v", res.CertExpiry, server.x509.NotAfter)
			}
			if tt.name == "cleartext to TLS server" && !strings.Contains(res.Reason, "grpcs://") {
				t.Fatalf("reason %q lacks the grpcs hint", res.Reason)
			}
		})
	}
}

func TestGRPCMutualTLS(t *testing.T) {
	ca := newCA(t)
	server := newServerCert(t, ca)
	client := newClientCert(t, ca)
	pool := x509.NewCertPool()
	pool.AddCert(ca.x509)
	addr := startHealth(t, grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{server.tls},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	})))
	res := probeURL(t, "grpcs://"+addr, Options{Timeout: 5 * time.Second, TLS: TLSOptions{
		CAFile: ca.certFile, CertFile: client.certFile, KeyFile: client.keyFile,
	}})
	if !res.Healthy {
		t.Fatalf("with client certificate: %q", res.Reason)
	}
	res = probeURL(t, "grpcs://"+addr, Options{Timeout: 5 * time.Second, TLS: TLSOptions{CAFile: ca.certFile}})
	// Under TLS 1.3 the server rejects the client after the handshake;
	// when its alert is lost to a reset, the reason still names the cause.
	reasons := []string{
		"TLS: remote error: certificate required",
		"connection closed by server after the TLS handshake (does it require a client certificate?)",
	}
	if res.Healthy || !slices.Contains(reasons, res.Reason) {
		t.Fatalf("without client certificate: %v %q (%v), want one of %q", res.Healthy, res.Reason, res.Err, reasons)
	}
}

// TestGRPCResponses drives the response decoding with a hand-made h2c server
// sending what real servers and proxies send, well-formed or not.
func TestGRPCResponses(t *testing.T) {
	type reply struct {
		status  int
		header  map[string]string // response headers
		body    []byte
		trailer map[string]string
	}
	frame := func(msg ...byte) []byte { return append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...) }
	tests := []struct {
		name   string
		reply  reply
		reason string
		kind   error
	}{
		{"serving", reply{200, map[string]string{"Content-Type": "application/grpc"}, frame(0x08, 0x01), map[string]string{"Grpc-Status": "0"}}, "SERVING", nil},
		{"serving, content-type with suffix", reply{200, map[string]string{"Content-Type": "application/grpc+proto"}, frame(0x08, 0x01), map[string]string{"Grpc-Status": "0"}}, "SERVING", nil},
		{"empty message is UNKNOWN", reply{200, map[string]string{"Content-Type": "application/grpc"}, frame(), map[string]string{"Grpc-Status": "0"}}, "UNKNOWN", ErrNotServing},
		{"trailers-only from a proxy", reply{503, map[string]string{"Content-Type": "application/grpc", "Grpc-Status": "14", "Grpc-Message": "upstream%20connect%20error"}, nil, nil},
			"gRPC UNAVAILABLE: upstream connect error", ErrGRPC},
		{"message with a line break", reply{200, map[string]string{"Content-Type": "application/grpc"}, nil, map[string]string{"Grpc-Status": "13", "Grpc-Message": "a%0Ab"}},
			"gRPC INTERNAL: a b", ErrGRPC},
		{"unknown code", reply{200, map[string]string{"Content-Type": "application/grpc"}, nil, map[string]string{"Grpc-Status": "99"}}, "gRPC code 99", ErrGRPC},
		{"bad grpc-status", reply{200, map[string]string{"Content-Type": "application/grpc"}, nil, map[string]string{"Grpc-Status": "OK"}}, `bad grpc-status "OK"`, ErrProtocol},
		{"no grpc-status", reply{200, map[string]string{"Content-Type": "application/grpc"}, frame(0x08, 0x01), nil}, "gRPC response without grpc-status", ErrProtocol},
		{"HTTP error without grpc-status", reply{404, map[string]string{"Content-Type": "text/plain"}, []byte("not found"), nil}, "not a gRPC server: HTTP status 404", ErrProtocol},
		{"no message", reply{200, map[string]string{"Content-Type": "application/grpc"}, nil, map[string]string{"Grpc-Status": "0"}}, "bad gRPC response: no response message", ErrProtocol},
		{"compressed", reply{200, map[string]string{"Content-Type": "application/grpc"}, []byte{1, 0, 0, 0, 2, 8, 1}, map[string]string{"Grpc-Status": "0"}},
			"bad gRPC response: compressed message, but no compression was offered", ErrProtocol},
		{"status as a string", reply{200, map[string]string{"Content-Type": "application/grpc"}, frame(0x0a, 0x01, 0x31), map[string]string{"Grpc-Status": "0"}},
			"bad HealthCheckResponse: field 1 (status): wire type 2, want varint", ErrProtocol},
		{"too large", reply{200, map[string]string{"Content-Type": "application/grpc"}, make([]byte, maxGRPCResponse+10), map[string]string{"Grpc-Status": "0"}},
			"gRPC response larger than 65536 bytes", ErrProtocol},
	}
	var mu sync.Mutex
	var current reply
	var gotReq *http.Request
	var gotBody []byte
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		rep := current
		gotReq, gotBody = r, body
		mu.Unlock()
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		for k := range rep.trailer {
			w.Header().Add("Trailer", k)
		}
		w.WriteHeader(rep.status)
		_, _ = w.Write(rep.body)
		for k, v := range rep.trailer {
			w.Header().Set(k, v)
		}
	}))
	srv.Config.Protocols = &protocols
	srv.Start()
	t.Cleanup(srv.Close)

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			current = tt.reply
			mu.Unlock()
			res := probeURL(t, "grpc://"+srv.Listener.Addr().String()+"/svc", Options{Timeout: 5 * time.Second})
			if res.Reason != tt.reason || (tt.kind == nil) != res.Healthy || tt.kind != nil && !errors.Is(res.Err, tt.kind) {
				t.Fatalf("got %v %q (%v), want %q (%v)", res.Healthy, res.Reason, res.Err, tt.reason, tt.kind)
			}
		})
	}

	// What the probe sent: a real gRPC request.
	mu.Lock()
	defer mu.Unlock()
	current = reply{200, map[string]string{"Content-Type": "application/grpc"}, frame(0x08, 0x01), map[string]string{"Grpc-Status": "0"}}
	if gotReq.ProtoMajor != 2 || gotReq.Method != "POST" || gotReq.URL.Path != "/grpc.health.v1.Health/Check" ||
		gotReq.Header.Get("Content-Type") != "application/grpc" || gotReq.Header.Get("Te") != "trailers" ||
		!strings.HasSuffix(gotReq.Header.Get("Grpc-Timeout"), "m") {
		t.Errorf("request: %s %s %s, headers %v", gotReq.Proto, gotReq.Method, gotReq.URL.Path, gotReq.Header)
	}
	if want := []byte{0, 0, 0, 0, 5, 0x0a, 3, 's', 'v', 'c'}; !bytes.Equal(gotBody, want) {
		t.Errorf("request body % x, want % x", gotBody, want)
	}
	mu.Unlock()

	// Host sets :authority; grpc-* and protocol headers cannot be overridden.
	res := probeURL(t, "grpc://"+srv.Listener.Addr().String(), Options{Timeout: 5 * time.Second, Header: http.Header{
		"Host": {"orders.internal"}, "Grpc-Timeout": {"1S"}, "Content-Type": {"text/plain"}, "X-Token": {"t"},
	}})
	mu.Lock()
	if gotReq.Host != "orders.internal" || gotReq.Header.Get("Content-Type") != "application/grpc" ||
		gotReq.Header.Get("Grpc-Timeout") == "1S" || gotReq.Header.Get("X-Token") != "t" {
		t.Errorf("request with headers: host %q, headers %v (result %q)", gotReq.Host, gotReq.Header, res.Reason)
	}
}

package grpchealth

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks"
)

// echoService answers each call with the status code the request asks for
// (grpc_testing's EchoStatus), or panics for code 99.
type echoService struct {
	testpb.UnimplementedTestServiceServer
}

func echo(st *testpb.EchoStatus) error {
	if st.GetCode() == 99 {
		panic("handler panic")
	}
	if st.GetCode() == 0 {
		return nil
	}
	return status.Error(codes.Code(st.GetCode()), st.GetMessage())
}

func (echoService) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if err := echo(req.GetResponseStatus()); err != nil {
		return nil, err
	}
	return &testpb.SimpleResponse{}, nil
}

func (echoService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, ss grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	if err := ss.Send(&testpb.StreamingOutputCallResponse{}); err != nil {
		return err
	}
	return echo(req.GetResponseStatus())
}

// recoverer turns handler panics into codes.Internal, outside the passive
// interceptor, as a real server would.
func recoverer(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = status.Errorf(codes.Internal, "panic: %v", r)
		}
	}()
	return handler(ctx, req)
}

// clock is a manual clock for the passive window.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newPassive(clk *clock) *checks.Passive {
	return checks.NewPassive(checks.PassiveOptions{
		Window: 10 * time.Second, FailureRatio: 0.5, MinRequests: 10, EjectionTime: 30 * time.Second, Now: clk.Now,
	})
}

func unary(t *testing.T, c testpb.TestServiceClient, code codes.Code) {
	t.Helper()
	_, err := c.UnaryCall(testCtx(t), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(code)}})
	if status.Code(err) != code && !(code == 99 && status.Code(err) == codes.Internal) {
		t.Fatalf("UnaryCall(%v): %v", code, err)
	}
}

func streaming(t *testing.T, c testpb.TestServiceClient, code codes.Code) {
	t.Helper()
	s, err := c.StreamingOutputCall(testCtx(t), &testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(code)}})
	must(t, err)
	for {
		if _, err = s.Recv(); err != nil {
			break
		}
	}
	if err == io.EOF {
		err = nil
	}
	if status.Code(err) != code {
		t.Fatalf("StreamingOutputCall(%v): %v", code, err)
	}
}

func TestServerInterceptorsFeedThePassiveCheck(t *testing.T) {
	clk := &clock{now: time.Unix(1e9, 0)}
	p := newPassive(clk)
	_, addr := serve(t, nil, []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recoverer, UnaryServerInterceptor(p, InterceptorOptions{})),
		grpc.ChainStreamInterceptor(StreamServerInterceptor(p, InterceptorOptions{})),
	}, func(gs *grpc.Server) {
		testpb.RegisterTestServiceServer(gs, echoService{})
		healthpb.RegisterHealthServer(gs, healthServerFor(t))
	})
	cc := dial(t, addr)
	c := testpb.NewTestServiceClient(cc)
	ctx := testCtx(t)

	// The caller's errors, health probes: no failures.
	for range 10 {
		unary(t, c, codes.OK)
		unary(t, c, codes.NotFound)
		unary(t, c, codes.InvalidArgument)
		streaming(t, c, codes.OK)
		_, _ = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	}
	if total, failed := p.Counts(); total != 40 || failed != 0 {
		t.Fatalf("counts after caller errors: %d total, %d failed; want 40, 0 (health probes skipped)", total, failed)
	}
	must(t, p.Check(ctx))

	// The server's failures, on both kinds of RPC and through a panic.
	for _, code := range []codes.Code{codes.Unavailable, codes.Internal, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Unknown, codes.DataLoss} {
		for range 5 {
			unary(t, c, code)
			streaming(t, c, code)
		}
	}
	for range 5 {
		unary(t, c, 99)
	}
	if total, failed := p.Counts(); total != 105 || failed != 65 {
		t.Fatalf("counts: %d total, %d failed; want 105, 65", total, failed)
	}
	if err := p.Check(ctx); !errors.Is(err, checks.ErrEjected) {
		t.Fatalf("passive check after 65 of 105 failed: %v; want ErrEjected", err)
	}

	// After the ejection time the instance gets a chance again.
	clk.Add(31 * time.Second)
	must(t, p.Check(ctx))

	// Switched off: nothing is counted.
	p.SetEnabled(false)
	unary(t, c, codes.Unavailable)
	if total, _ := p.Counts(); total != 105 {
		t.Fatalf("counted %d requests while disabled; want 105", total)
	}
}

func healthServerFor(t *testing.T) healthpb.HealthServer {
	m := health.New(health.Options{Logger: quiet})
	hs, err := New(m, Options{})
	must(t, err)
	return hs
}

func TestInterceptorOptions(t *testing.T) {
	clk := &clock{now: time.Unix(1e9, 0)}
	p := newPassive(clk)
	opts := InterceptorOptions{
		Failed: func(c codes.Code) bool { return c == codes.NotFound },
		Skip:   func(m string) bool { return m == "/grpc.testing.TestService/StreamingOutputCall" },
	}
	_, addr := serve(t, nil, []grpc.ServerOption{
		grpc.UnaryInterceptor(UnaryServerInterceptor(p, opts)),
		grpc.StreamInterceptor(StreamServerInterceptor(p, opts)),
	}, func(gs *grpc.Server) { testpb.RegisterTestServiceServer(gs, echoService{}) })
	c := testpb.NewTestServiceClient(dial(t, addr))
	unary(t, c, codes.NotFound)
	unary(t, c, codes.Unavailable)
	streaming(t, c, codes.NotFound)
	if total, failed := p.Counts(); total != 2 || failed != 1 {
		t.Fatalf("counts: %d total, %d failed; want 2, 1", total, failed)
	}
}

func TestClientInterceptors(t *testing.T) {
	clk := &clock{now: time.Unix(1e9, 0)}
	p := newPassive(clk)
	_, addr := serve(t, nil, nil, func(gs *grpc.Server) { testpb.RegisterTestServiceServer(gs, echoService{}) })
	cc := dial(t, addr,
		grpc.WithUnaryInterceptor(UnaryClientInterceptor(p, InterceptorOptions{})),
		grpc.WithStreamInterceptor(StreamClientInterceptor(p, InterceptorOptions{})))
	c := testpb.NewTestServiceClient(cc)
	unary(t, c, codes.OK)
	unary(t, c, codes.Unavailable)
	streaming(t, c, codes.OK)
	streaming(t, c, codes.Internal)
	streaming(t, c, codes.InvalidArgument)
	if total, failed := p.Counts(); total != 5 || failed != 2 {
		t.Fatalf("counts: %d total, %d failed; want 5, 2", total, failed)
	}
	// A stream that cannot even start counts as a failure.
	dead := testpb.NewTestServiceClient(dial(t, "127.0.0.1:1",
		grpc.WithStreamInterceptor(StreamClientInterceptor(p, InterceptorOptions{}))))
	s, err := dead.StreamingOutputCall(testCtx(t), &testpb.StreamingOutputCallRequest{})
	for err == nil { // created lazily: the failure shows on Recv
		_, err = s.Recv()
	}
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("stream to no server: %v; want Unavailable", err)
	}
	if total, failed := p.Counts(); total != 6 || failed != 3 {
		t.Fatalf("counts: %d total, %d failed; want 6, 3", total, failed)
	}
}

// TestPassiveFlipsReadinessOverGRPC runs the whole loop: failing RPCs
// through the interceptor eject the instance, readiness turns DOWN, and the
// bridge tells a gRPC Watch NOT_SERVING; after the ejection time it is
// SERVING again.
func TestPassiveFlipsReadinessOverGRPC(t *testing.T) {
	clk := &clock{now: time.Unix(1e9, 0)}
	p := newPassive(clk)
	m := health.New(health.Options{Logger: quiet})
	must(t, m.Register(fastCheck("passive", p, false)))
	hs, err := New(m, Options{})
	must(t, err)
	_, addr := serve(t, hs, []grpc.ServerOption{
		grpc.UnaryInterceptor(UnaryServerInterceptor(p, InterceptorOptions{})),
	}, func(gs *grpc.Server) { testpb.RegisterTestServiceServer(gs, echoService{}) })
	startMonitor(t, m)
	must(t, hs.Start())
	cc := dial(t, addr)
	w, err := healthpb.NewHealthClient(cc).Watch(testCtx(t), &healthpb.HealthCheckRequest{})
	must(t, err)
	waitW(t, w, serving)

	c := testpb.NewTestServiceClient(cc)
	for range 20 {
		unary(t, c, codes.Unavailable)
	}
	waitW(t, w, notServing)
	clk.Add(31 * time.Second)
	waitW(t, w, serving)
}

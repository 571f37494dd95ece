package grpchealth

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vitals-go/vitals/health"
)

var quiet = slog.New(slog.DiscardHandler)

// switchable is a checker whose outcome the test sets, counting its runs.
type switchable struct {
	mu   sync.Mutex
	err  error
	runs atomic.Int64
}

func (s *switchable) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *switchable) Check(context.Context) error {
	s.runs.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

var errDown = errors.New("down")

// fastCheck is a check that runs every few milliseconds, so that tests
// wait for events, not for intervals.
func fastCheck(name string, c health.Checker, nonCritical bool) health.Check {
	return health.Check{Name: name, Checker: c, Interval: 2 * time.Millisecond, NoStagger: true, NonCritical: nonCritical}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// startMonitor starts m and stops it when the test ends.
func startMonitor(t testing.TB, m *health.Monitor) {
	t.Helper()
	must(t, m.Start())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		must(t, m.Stop(ctx))
	})
}

// serve starts a real grpc.Server on a loopback listener with the bridge
// registered (when hs is not nil) and extra registrations, and returns its
// address. The server is stopped when the test ends, after hs.
func serve(t testing.TB, hs *Server, opts []grpc.ServerOption, register ...func(*grpc.Server)) (*grpc.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	gs := grpc.NewServer(opts...)
	if hs != nil {
		hs.Register(gs)
	}
	for _, r := range register {
		r(gs)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(ln)
	}()
	t.Cleanup(func() {
		if hs != nil {
			hs.Stop()
		}
		gs.GracefulStop() // must not hang: Stop ended the Watch streams
		<-done
	})
	return gs, ln.Addr().String()
}

// dial returns a client connection to addr, closed when the test ends.
func dial(t testing.TB, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	cc, err := grpc.NewClient(addr, opts...)
	must(t, err)
	t.Cleanup(func() { cc.Close() })
	return cc
}

// testCtx is a context bounded by a generous deadline, so that a broken
// test fails instead of hanging.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the test deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// goroutinesOf returns the stacks of goroutines running code matching pkg,
// other than the test's own.
func goroutinesOf(pkg string) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, pkg) && !strings.Contains(g, "testing.tRunner") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

package grpchealth

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	grpchealthsrv "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vitals-go/vitals/health"
)

// restartable is a real gRPC server on a fixed loopback address that the
// test can stop and start again.
type restartable struct {
	t    *testing.T
	addr string
	gs   *grpc.Server
	done chan struct{}
}

func newRestartable(t *testing.T) *restartable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	r := &restartable{t: t, addr: ln.Addr().String()}
	r.serve(ln)
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) serve(ln net.Listener) {
	r.gs = grpc.NewServer()
	healthpb.RegisterHealthServer(r.gs, grpchealthsrv.NewServer())
	r.done = make(chan struct{})
	gs, done := r.gs, r.done
	go func() {
		defer close(done)
		_ = gs.Serve(ln)
	}()
}

func (r *restartable) stop() {
	if r.gs == nil {
		return
	}
	r.gs.Stop()
	<-r.done
	r.gs = nil
}

func (r *restartable) start() {
	ln, err := net.Listen("tcp", r.addr)
	must(r.t, err)
	r.serve(ln)
}

func TestConnStateFollowsTheServer(t *testing.T) {
	srv := newRestartable(t)
	cc := dial(t, srv.addr)
	c := NewConnState(cc, ConnStateOptions{IdleMustConnect: true})
	ctx := testCtx(t)

	// A new client is IDLE: the check connects it and waits for READY.
	must(t, c.Check(ctx))
	if st := cc.GetState(); st != connectivity.Ready {
		t.Fatalf("state after a passing check: %v; want READY", st)
	}

	srv.stop()
	var err error
	eventually(t, "the check to fail after the server stopped", func() bool {
		err = c.Check(ctx)
		return err != nil
	})
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), srv.addr) {
		t.Fatalf("error %q: want ErrNotReady naming %s", err, srv.addr)
	}

	srv.start()
	eventually(t, "the check to pass after the server restarted", func() bool {
		return c.Check(ctx) == nil
	})
}

func TestConnStateIdle(t *testing.T) {
	srv := newRestartable(t)
	cc := dial(t, srv.addr)
	if st := cc.GetState(); st != connectivity.Idle {
		t.Fatalf("new client: %v; want IDLE", st)
	}
	// By default IDLE passes at once, and the check starts connecting.
	must(t, NewConnState(cc, ConnStateOptions{}).Check(testCtx(t)))
	eventually(t, "the connection to become READY", func() bool { return cc.GetState() == connectivity.Ready })
}

func TestConnStateTimesOutWhileConnecting(t *testing.T) {
	// A listener that accepts TCP but never speaks HTTP/2: the channel
	// stays CONNECTING until its handshake times out, far beyond the check's.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	cc := dial(t, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = NewConnState(cc, ConnStateOptions{IdleMustConnect: true}).Check(ctx)
	if !errors.Is(err, ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v: want ErrNotReady and DeadlineExceeded", err)
	}
}

func TestConnStateShutdown(t *testing.T) {
	srv := newRestartable(t)
	cc := dial(t, srv.addr)
	cc.Close()
	err := NewConnState(cc, ConnStateOptions{}).Check(testCtx(t))
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "SHUTDOWN") {
		t.Fatalf("closed connection: %v; want ErrNotReady, SHUTDOWN", err)
	}
}

func TestHealthCheck(t *testing.T) {
	// The remote server is the bridge itself, over a real connection.
	m := health.New(health.Options{Logger: quiet})
	db := &switchable{}
	must(t, m.Register(fastCheck("db", db, false)))
	startMonitor(t, m)
	hs, err := New(m, Options{Services: map[string][]string{accounts: {"db"}}})
	must(t, err)
	_, addr := serve(t, hs, nil)
	must(t, hs.Start())
	cc := dial(t, addr)
	ctx := testCtx(t)

	root, svc := NewHealthCheck(cc, ""), NewHealthCheck(cc, accounts, grpc.WaitForReady(true))
	eventually(t, "SERVING", func() bool { return root.Check(ctx) == nil && svc.Check(ctx) == nil })

	db.set(errDown)
	eventually(t, "NOT_SERVING", func() bool { return svc.Check(ctx) != nil })
	if err := svc.Check(ctx); !errors.Is(err, ErrNotServing) || !strings.Contains(err.Error(), "NOT_SERVING") {
		t.Fatalf("error %v: want ErrNotServing, NOT_SERVING", err)
	}
	if err := NewHealthCheck(cc, "nope").Check(ctx); !errors.Is(err, ErrNotServing) || !strings.Contains(err.Error(), "unknown service") {
		t.Fatalf("unknown service: %v; want ErrNotServing, unknown service", err)
	}

	// A server that is gone: the call's own error.
	cc2 := dial(t, "127.0.0.1:1")
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := NewHealthCheck(cc2, "").Check(short); err == nil || errors.Is(err, ErrNotServing) {
		t.Fatalf("no server: %v; want the call's error", err)
	}
}

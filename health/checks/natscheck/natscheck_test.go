package natscheck_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks/natscheck"
	"github.com/vitals-go/vitals/internal/testenv"
	"github.com/vitals-go/vitals/internal/testenv/checkrun"
)

func check(c health.Checker, d time.Duration) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return c.Check(ctx)
	}
}

// serverAddr returns the real NATS server's host:port, skipping the test
// when it is absent.
func serverAddr(t testing.TB) string {
	t.Helper()
	addr := strings.TrimPrefix(testenv.NATSURL(), "nats://")
	testenv.Require(t, "nats", testenv.Reachable(addr))
	return addr
}

// connect connects to addr the way a service would, reconnecting forever.
func connect(t testing.TB, addr string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect("nats://"+addr,
		nats.Timeout(time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.PingInterval(time.Second),
		nats.MaxPingsOutstanding(2),
	)
	testenv.Require(t, "nats", err)
	t.Cleanup(nc.Close)
	return nc
}

func TestNATSDownAndBack(t *testing.T) {
	proxy := testenv.NewProxy(t, serverAddr(t))
	nc := connect(t, proxy.Addr())
	for _, opts := range []natscheck.Options{{}, {SkipRoundTrip: true}} {
		c := natscheck.New(nc, opts)
		ok := check(c, 2*time.Second)
		testenv.WaitFor(t, "check passes", 30*time.Second, ok)

		proxy.Down()
		testenv.WaitFor(t, "check fails while NATS is down", 30*time.Second, testenv.Not(ok))
		if err := ok(); !errors.Is(err, natscheck.ErrNotConnected) {
			t.Errorf("while down: err = %v, want ErrNotConnected", err)
		}
		proxy.Up()
		testenv.WaitFor(t, "check passes once NATS is back (reconnected)", 30*time.Second, ok)
	}

	// A server that stops answering: the round trip ends at the deadline
	// while the client still believes it is connected.
	c := natscheck.New(nc, natscheck.Options{})
	proxy.Hang()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := c.Check(ctx)
	cancel()
	if err == nil || ctx.Err() == nil {
		t.Fatalf("while NATS hangs: err = %v, context err = %v; want the round trip to fail at its deadline", err, ctx.Err())
	}
	proxy.Up()
	testenv.WaitFor(t, "check passes once NATS answers again", 30*time.Second, check(c, 2*time.Second))
}

func TestNATSClosed(t *testing.T) {
	nc := connect(t, serverAddr(t))
	nc.Close()
	err := natscheck.New(nc, natscheck.Options{}).Check(context.Background())
	if !errors.Is(err, natscheck.ErrNotConnected) || !strings.Contains(err.Error(), "CLOSED") {
		t.Fatalf("closed connection: err = %v, want ErrNotConnected naming CLOSED", err)
	}
}

func TestNATSNoDeadline(t *testing.T) {
	nc := connect(t, serverAddr(t))
	// Without a deadline the checker bounds the flush itself.
	if err := natscheck.New(nc, natscheck.Options{}).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNATSObservesRoundTrip(t *testing.T) {
	nc := connect(t, serverAddr(t))
	r := checkrun.Once(t, natscheck.New(nc, natscheck.Options{}), 5*time.Second)
	if r.Status != health.StatusUp || r.Observation == nil || r.Observation.Unit != "ms" || r.Observation.Value <= 0 {
		t.Errorf("status %v, observation %+v, error %q; want UP with a round trip in ms", r.Status, r.Observation, r.Error)
	}
}

// TestNATSProcessKilledAndRestarted kills a real nats-server process of the
// test's own and starts it again on the same port: the check fails while it
// is dead and passes once the same connection has reconnected.
func TestNATSProcessKilledAndRestarted(t *testing.T) {
	port := testenv.FreePort(t)
	srv := testenv.StartServer(t, "nats-server", port, "nats-server", "-a", "127.0.0.1", "-p", fmt.Sprint(port))
	nc := connect(t, srv.Addr())
	ok := check(natscheck.New(nc, natscheck.Options{}), 2*time.Second)
	testenv.WaitFor(t, "check passes", 30*time.Second, ok)

	srv.Stop()
	testenv.WaitFor(t, "check fails while nats-server is dead", 30*time.Second, testenv.Not(ok))
	srv.Start()
	testenv.WaitFor(t, "check passes once nats-server runs again", 30*time.Second, ok)
}

// TestNATSOutageThroughMonitor: through a real Monitor, the check turns DOWN
// on the failure threshold's run and UP on the success threshold's run.
func TestNATSOutageThroughMonitor(t *testing.T) {
	proxy := testenv.NewProxy(t, serverAddr(t))
	nc := connect(t, proxy.Addr())
	checkrun.Outage(t, natscheck.New(nc, natscheck.Options{}), proxy.Down, proxy.Up)
}

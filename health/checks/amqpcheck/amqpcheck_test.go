package amqpcheck_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks/amqpcheck"
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

// brokerURL returns the real broker's URL and address, skipping the test
// when the broker is absent.
func brokerURL(t *testing.T) (*url.URL, string) {
	t.Helper()
	u, err := url.Parse(testenv.AMQPURL())
	if err != nil {
		t.Fatalf("VITALS_AMQP_URL: %v", err)
	}
	testenv.Require(t, "rabbitmq", testenv.Reachable(u.Host))
	return u, u.Host
}

// dial connects to the broker at addr with a short heartbeat, so a broker
// that stops answering closes the connection within a few seconds.
func dial(u *url.URL, addr string) (*amqp.Connection, error) {
	v := *u
	v.Host = addr
	return amqp.DialConfig(v.String(), amqp.Config{Heartbeat: time.Second, Dial: amqp.DefaultDial(time.Second)})
}

// redialer is how applications keep an AMQP connection: it redials after the
// connection closes, every 100 ms, until stopped.
type redialer struct {
	conn   atomic.Pointer[amqp.Connection]
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newRedialer(t *testing.T, u *url.URL, addr string) *redialer {
	t.Helper()
	first, err := dial(u, addr)
	testenv.Require(t, "rabbitmq", err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &redialer{cancel: cancel}
	r.conn.Store(first)
	r.wg.Go(func() { r.loop(ctx, u, addr, first) })
	t.Cleanup(func() {
		r.cancel()
		r.wg.Wait()
		if c := r.conn.Load(); c != nil {
			c.Close()
		}
	})
	return r
}

func (r *redialer) loop(ctx context.Context, u *url.URL, addr string, c *amqp.Connection) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		closed := c.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-ctx.Done():
			return
		case <-closed:
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			next, err := dial(u, addr)
			if err == nil {
				c = next
				r.conn.Store(c)
				break
			}
		}
	}
}

func TestAMQPDownAndBack(t *testing.T) {
	u, addr := brokerURL(t)
	proxy := testenv.NewProxy(t, addr)
	conns := newRedialer(t, u, proxy.Addr())
	c := amqpcheck.New(amqpcheck.ConnectionFunc(conns.conn.Load), amqpcheck.Options{})
	ok := check(c, 2*time.Second)
	if err := ok(); err != nil {
		t.Fatalf("broker up: %v", err)
	}

	proxy.Down()
	testenv.WaitFor(t, "check fails while the broker is down", 30*time.Second, testenv.Not(ok))
	proxy.Up()
	testenv.WaitFor(t, "check passes once the broker is back (redialed)", 30*time.Second, ok)

	// A broker that stops answering: Check returns at its deadline although
	// amqp091-go's channel open takes no context.
	proxy.Hang()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := c.Check(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while the broker hangs: err = %v, want the deadline", err)
	}
	// The abandoned round trip is still outstanding (or the heartbeat has
	// already closed the connection): no second goroutine is started.
	if err := ok(); !errors.Is(err, amqpcheck.ErrBusy) && !errors.Is(err, amqpcheck.ErrClosed) {
		t.Fatalf("second run while the broker hangs: err = %v, want ErrBusy or ErrClosed", err)
	}
	proxy.Up()
	testenv.WaitFor(t, "check passes once the broker answers again", 30*time.Second, ok)
}

func TestAMQPClosedConnection(t *testing.T) {
	u, addr := brokerURL(t)
	conn, err := dial(u, addr)
	testenv.Require(t, "rabbitmq", err)
	c := amqpcheck.New(conn, amqpcheck.Options{})
	if err := check(c, 5*time.Second)(); err != nil {
		t.Fatalf("open connection: %v", err)
	}
	conn.Close()
	if err := check(c, 5*time.Second)(); !errors.Is(err, amqpcheck.ErrClosed) {
		t.Fatalf("closed connection: err = %v, want ErrClosed", err)
	}
	if err := check(amqpcheck.New(amqpcheck.ConnectionFunc(func() *amqp.Connection { return nil }), amqpcheck.Options{}), time.Second)(); !errors.Is(err, amqpcheck.ErrClosed) {
		t.Fatalf("no connection: err = %v, want ErrClosed", err)
	}
}

func TestAMQPQueue(t *testing.T) {
	u, addr := brokerURL(t)
	conn, err := dial(u, addr)
	testenv.Require(t, "rabbitmq", err)
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	// Exclusive and auto-deleted: gone when the connection closes.
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		if err := ch.PublishWithContext(ctx, "", q.Name, false, false, amqp.Publishing{Body: fmt.Appendf(nil, "m%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	c := amqpcheck.New(conn, amqpcheck.Options{Queue: q.Name})
	testenv.WaitFor(t, "three messages ready", 10*time.Second, func() error {
		r := checkrun.Once(t, c, 5*time.Second)
		if r.Status != health.StatusUp || r.Observation == nil || *r.Observation != (health.Observation{Value: 3, Unit: "messages"}) {
			return fmt.Errorf("status %v, observation %+v, error %q", r.Status, r.Observation, r.Error)
		}
		return nil
	})

	err = amqpcheck.New(conn, amqpcheck.Options{Queue: "vitals-no-such-queue"}).Check(ctx)
	if err == nil || !strings.Contains(err.Error(), `queue "vitals-no-such-queue"`) || !strings.Contains(err.Error(), "NOT_FOUND") {
		t.Fatalf("missing queue: err = %v, want NOT_FOUND naming the queue", err)
	}
	// The failed declare closed only the checker's channel, not the connection.
	if err := amqpcheck.New(conn, amqpcheck.Options{}).Check(ctx); err != nil {
		t.Fatalf("after a missing queue: %v", err)
	}
}

func TestAMQPObservesRoundTrip(t *testing.T) {
	u, addr := brokerURL(t)
	conn, err := dial(u, addr)
	testenv.Require(t, "rabbitmq", err)
	defer conn.Close()
	r := checkrun.Once(t, amqpcheck.New(conn, amqpcheck.Options{}), 5*time.Second)
	if r.Status != health.StatusUp || r.Observation == nil || r.Observation.Unit != "ms" {
		t.Errorf("status %v, observation %+v, error %q; want UP with a round trip in ms", r.Status, r.Observation, r.Error)
	}
}

// TestAMQPOutageThroughMonitor: through a real Monitor, the check turns DOWN
// on the failure threshold's run and UP on the success threshold's run.
func TestAMQPOutageThroughMonitor(t *testing.T) {
	u, addr := brokerURL(t)
	proxy := testenv.NewProxy(t, addr)
	conns := newRedialer(t, u, proxy.Addr())
	checkrun.Outage(t, amqpcheck.New(amqpcheck.ConnectionFunc(conns.conn.Load), amqpcheck.Options{}), proxy.Down, proxy.Up)
}

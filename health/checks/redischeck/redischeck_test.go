package redischeck_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks/redischeck"
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

// newClient returns a go-redis client of the real Redis server through a new
// proxy, skipping the test when the server is absent.
func newClient(t *testing.T) (*redis.Client, *testenv.Proxy) {
	t.Helper()
	testenv.Require(t, "redis", testenv.Reachable(testenv.RedisAddr()))
	p := testenv.NewProxy(t, testenv.RedisAddr())
	rdb := redis.NewClient(&redis.Options{
		Addr:                  p.Addr(),
		DialTimeout:           time.Second,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
	})
	t.Cleanup(func() { rdb.Close() })
	return rdb, p
}

func TestRedisDownAndBack(t *testing.T) {
	rdb, proxy := newClient(t)
	c := redischeck.New(rdb)
	ok := check(c, 2*time.Second)
	if err := ok(); err != nil {
		t.Fatalf("server up: %v", err)
	}

	proxy.Down()
	testenv.WaitFor(t, "check fails while Redis is down", 30*time.Second, testenv.Not(ok))
	proxy.Up()
	testenv.WaitFor(t, "check passes once Redis is back", 30*time.Second, ok)

	proxy.Hang()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := c.Check(ctx)
	cancel()
	if err == nil || ctx.Err() == nil {
		t.Fatalf("while Redis hangs: err = %v, context err = %v; want the check to fail at its deadline", err, ctx.Err())
	}
	proxy.Up()
	testenv.WaitFor(t, "check passes once Redis answers again", 30*time.Second, ok)
}

func TestRedisObservesRoundTrip(t *testing.T) {
	rdb, _ := newClient(t)
	r := checkrun.Once(t, redischeck.New(rdb), 5*time.Second)
	if r.Status != health.StatusUp || r.Observation == nil || r.Observation.Unit != "ms" || r.Observation.Value <= 0 {
		t.Errorf("status %v, observation %+v, error %q; want UP with a round trip in ms", r.Status, r.Observation, r.Error)
	}
}

func TestRedisClosedClient(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	rdb.Close()
	err := redischeck.New(rdb).Check(context.Background())
	if err == nil || err.Error() != "redis ping: redis: client is closed" {
		t.Errorf("err = %v, want the closed client's error", err)
	}
}

// A UniversalClient, as returned by redis.NewUniversalClient, plugs in too.
func ExampleNew() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{testenv.RedisAddr()},
		ContextTimeoutEnabled: true,
	})
	defer rdb.Close()

	m := health.New(health.Options{})
	err := m.Register(health.Check{Name: "redis", Checker: redischeck.New(rdb), Timeout: time.Second})
	fmt.Println(err)
	// Output: <nil>
}

// TestRedisProcessKilledAndRestarted kills a real redis-server process of the
// test's own and starts it again on the same port: the check fails while it
// is dead and passes once the same client reconnects.
func TestRedisProcessKilledAndRestarted(t *testing.T) {
	port := testenv.FreePort(t)
	srv := testenv.StartServer(t, "redis-server", port, "redis-server",
		"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialTimeout: time.Second, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()
	ok := check(redischeck.New(rdb), 2*time.Second)
	testenv.WaitFor(t, "check passes", 30*time.Second, ok)

	srv.Stop()
	testenv.WaitFor(t, "check fails while redis-server is dead", 30*time.Second, testenv.Not(ok))
	srv.Start()
	testenv.WaitFor(t, "check passes once redis-server runs again", 30*time.Second, ok)
}

// TestRedisOutageThroughMonitor: through a real Monitor, the check turns DOWN
// on the failure threshold's run and UP on the success threshold's run.
func TestRedisOutageThroughMonitor(t *testing.T) {
	rdb, proxy := newClient(t)
	checkrun.Outage(t, redischeck.New(rdb), proxy.Down, proxy.Up)
}

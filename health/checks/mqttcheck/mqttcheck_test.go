package mqttcheck_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/checks/mqttcheck"
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

// connect connects to the broker at addr the way a service would, with
// automatic reconnects, skipping the test when the real broker is absent.
func connect(t testing.TB, addr string) mqtt.Client {
	t.Helper()
	testenv.Require(t, "mosquitto", testenv.Reachable(testenv.MQTTAddr()))
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("vitals-test-%d", time.Now().UnixNano())).
		SetConnectTimeout(time.Second).
		SetKeepAlive(2 * time.Second).
		SetPingTimeout(time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetWriteTimeout(time.Second)
	client := mqtt.NewClient(opts)
	tok := client.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		testenv.Require(t, "mosquitto", errors.New("connect timed out"))
	}
	testenv.Require(t, "mosquitto", tok.Error())
	t.Cleanup(func() { client.Disconnect(100) })
	return client
}

func TestMQTTDownAndBack(t *testing.T) {
	proxy := testenv.NewProxy(t, testenv.MQTTAddr())
	client := connect(t, proxy.Addr())
	for _, opts := range []mqttcheck.Options{{}, {RoundTrip: true}, {RoundTrip: true, QoS: 1, Topic: "vitals/test/"}} {
		t.Run(fmt.Sprintf("%+v", opts), func(t *testing.T) {
			ok := check(mqttcheck.New(client, opts), 2*time.Second)
			testenv.WaitFor(t, "check passes", 30*time.Second, ok)
			proxy.Down()
			testenv.WaitFor(t, "check fails while the broker is down", 30*time.Second, testenv.Not(ok))
			// A round trip may fail first on the broken socket; the client
			// then notices the lost connection.
			testenv.WaitFor(t, "check reports the lost connection", 30*time.Second, func() error {
				if err := ok(); !errors.Is(err, mqttcheck.ErrNotConnected) {
					return fmt.Errorf("err = %v, want ErrNotConnected", err)
				}
				return nil
			})
			proxy.Up()
			testenv.WaitFor(t, "check passes once the broker is back (reconnected)", 30*time.Second, ok)
		})
	}

	// A broker that stops answering: the client still believes it is
	// connected, and only the round trip notices, at its deadline.
	c := mqttcheck.New(client, mqttcheck.Options{RoundTrip: true})
	proxy.Hang()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := c.Check(ctx)
	cancel()
	if err == nil || ctx.Err() == nil {
		t.Fatalf("while the broker hangs: err = %v, context err = %v; want the round trip to fail at its deadline", err, ctx.Err())
	}
	proxy.Up()
	testenv.WaitFor(t, "check passes once the broker answers again", 30*time.Second, check(c, 2*time.Second))
}

func TestMQTTDisconnected(t *testing.T) {
	client := connect(t, testenv.MQTTAddr())
	client.Disconnect(100)
	if err := mqttcheck.New(client, mqttcheck.Options{}).Check(context.Background()); !errors.Is(err, mqttcheck.ErrNotConnected) {
		t.Fatalf("disconnected client: err = %v, want ErrNotConnected", err)
	}
}

func TestMQTTObservesRoundTrip(t *testing.T) {
	client := connect(t, testenv.MQTTAddr())
	r := checkrun.Once(t, mqttcheck.New(client, mqttcheck.Options{RoundTrip: true}), 5*time.Second)
	if r.Status != health.StatusUp || r.Observation == nil || r.Observation.Unit != "ms" || r.Observation.Value <= 0 {
		t.Errorf("status %v, observation %+v, error %q; want UP with a round trip in ms", r.Status, r.Observation, r.Error)
	}
	// Without a deadline the checker bounds the round trip itself.
	if err := mqttcheck.New(client, mqttcheck.Options{RoundTrip: true}).Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestMQTTProcessKilledAndRestarted kills a real mosquitto process of the
// test's own and starts it again on the same port: the check fails while it
// is dead and passes once the same client has reconnected.
func TestMQTTProcessKilledAndRestarted(t *testing.T) {
	port := testenv.FreePort(t)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "listener %d 127.0.0.1\nallow_anonymous true\n", port), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := testenv.StartServer(t, "mosquitto", port, "mosquitto", "-c", conf)
	client := connect(t, srv.Addr())
	ok := check(mqttcheck.New(client, mqttcheck.Options{RoundTrip: true}), 2*time.Second)
	testenv.WaitFor(t, "check passes", 30*time.Second, ok)

	srv.Stop()
	testenv.WaitFor(t, "check fails while mosquitto is dead", 30*time.Second, testenv.Not(ok))
	srv.Start()
	testenv.WaitFor(t, "check passes once mosquitto runs again", 30*time.Second, ok)
}

// TestMQTTOutageThroughMonitor: through a real Monitor, the check turns DOWN
// on the failure threshold's run and UP on the success threshold's run.
func TestMQTTOutageThroughMonitor(t *testing.T) {
	proxy := testenv.NewProxy(t, testenv.MQTTAddr())
	client := connect(t, proxy.Addr())
	checkrun.Outage(t, mqttcheck.New(client, mqttcheck.Options{RoundTrip: true}), proxy.Down, proxy.Up)
}

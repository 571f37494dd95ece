// Package mqttcheck checks an MQTT broker (Mosquitto, EMQX, HiveMQ, ...)
// through the application's own client of github.com/eclipse/paho.mqtt.golang,
// so the check sees the connection the service really uses, automatic
// reconnects included. It lives apart from package checks to keep the MQTT
// client out of the standard-library core.
//
//	m.Register(health.Check{Name: "mqtt", Checker: mqttcheck.New(client, mqttcheck.Options{})})
package mqttcheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/vitals-go/vitals/health"
)

// ErrNotConnected is returned when the client's connection is not open
// (never connected, lost and reconnecting, or disconnected).
var ErrNotConnected = errors.New("mqtt: not connected")

// DefaultTopic is the prefix of the round trip's topics.
const DefaultTopic = "vitals/health"

// DefaultRoundTripTimeout bounds the round trip when Check's context has no
// deadline (the Monitor always sets one).
const DefaultRoundTripTimeout = 5 * time.Second

// Options configures [New]. The zero value only checks that the connection
// is open.
type Options struct {
	// RoundTrip, when true, also subscribes to a topic of its own, publishes
	// a random payload to it, waits for that message to come back, and
	// unsubscribes; the round trip is observed in milliseconds. It catches a
	// broker that stopped answering before the client's keepalive does, but
	// needs the client to be allowed to publish and subscribe under Topic.
	// Default: false, only the connection state is checked.
	RoundTrip bool

	// Topic is the prefix of the round trip's topics: each run uses
	// Topic + "/" + a random suffix, so concurrent runs and instances never
	// see each other's messages. Default: [DefaultTopic].
	Topic string

	// QoS of the round trip's subscription and message: 0, 1 or 2.
	// Default: 0.
	QoS byte
}

// Checker checks an MQTT client's connection. Create it with [New]; it is
// safe for concurrent use.
type Checker struct {
	client mqtt.Client
	opts   Options
}

var _ health.Checker = (*Checker)(nil)

// New returns a checker of client with opts. It never connects or
// disconnects the client.
func New(client mqtt.Client, opts Options) *Checker {
	if opts.Topic == "" {
		opts.Topic = DefaultTopic
	}
	opts.Topic = strings.TrimSuffix(opts.Topic, "/")
	return &Checker{client: client, opts: opts}
}

// Check fails with [ErrNotConnected] when the connection is not open, and,
// with RoundTrip, when the message does not come back before ctx's
// deadline (the error names the step: subscribe, publish or receive).
func (c *Checker) Check(ctx context.Context) error {
	if !c.client.IsConnectionOpen() {
		return ErrNotConnected
	}
	if !c.opts.RoundTrip {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultRoundTripTimeout)
		defer cancel()
	}
	start := time.Now()
	if err := c.roundTrip(ctx); err != nil {
		return err
	}
	health.Observe(ctx, float64(time.Since(start).Microseconds())/1000, "ms")
	return nil
}

func (c *Checker) roundTrip(ctx context.Context) error {
	var nonce [16]byte
	rand.Read(nonce[:])
	payload := []byte(hex.EncodeToString(nonce[:]))
	topic := c.opts.Topic + "/" + string(payload[:16])

	got := make(chan struct{}, 1)
	onMessage := func(_ mqtt.Client, m mqtt.Message) {
		if bytes.Equal(m.Payload(), payload) {
			select {
			case got <- struct{}{}:
			default:
			}
		}
	}
	if err := wait(ctx, c.client.Subscribe(topic, c.opts.QoS, onMessage)); err != nil {
		c.client.Unsubscribe(topic) // in case the broker subscribed after all
		return fmt.Errorf("mqtt: subscribe %s: %w", topic, err)
	}
	if err := wait(ctx, c.client.Publish(topic, c.opts.QoS, false, payload)); err != nil {
		c.client.Unsubscribe(topic)
		return fmt.Errorf("mqtt: publish %s: %w", topic, err)
	}
	select {
	case <-got:
	case <-ctx.Done():
		c.client.Unsubscribe(topic)
		return fmt.Errorf("mqtt: receive %s: %w", topic, ctx.Err())
	}
	// Waiting for the unsubscription leaves nothing in flight after the
	// check: an unacknowledged UNSUBSCRIBE would delay the next run's
	// SUBSCRIBE behind brokers that Nagle their acknowledgements (Mosquitto's
	// default), by a TCP delayed ACK (40 ms).
	if err := wait(ctx, c.client.Unsubscribe(topic)); err != nil {
		return fmt.Errorf("mqtt: unsubscribe %s: %w", topic, err)
	}
	return nil
}

// wait waits for t or ctx, whichever ends first.
func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

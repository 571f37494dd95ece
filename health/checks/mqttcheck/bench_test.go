package mqttcheck_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health/checks/mqttcheck"
	"github.com/vitals-go/vitals/internal/testenv"
)

// BenchmarkCheck measures the round-trip check (subscribe, publish, receive,
// unsubscribe) against the baseline of one QoS 1 publish acknowledged by the
// real Mosquitto broker, and the state-only check.
func BenchmarkCheck(b *testing.B) {
	client := connect(b, testenv.MQTTAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.Run("client-publish-qos1", func(b *testing.B) {
		for b.Loop() {
			tok := client.Publish("vitals/bench", 1, false, []byte("x"))
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				b.Fatal("publish:", tok.Error())
			}
		}
	})
	b.Run("check-roundtrip", func(b *testing.B) {
		c := mqttcheck.New(client, mqttcheck.Options{RoundTrip: true})
		for b.Loop() {
			if err := c.Check(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check-state", func(b *testing.B) {
		c := mqttcheck.New(client, mqttcheck.Options{})
		for b.Loop() {
			if err := c.Check(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

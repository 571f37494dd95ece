package amqpcheck_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/vitals-go/vitals/health/checks/amqpcheck"
	"github.com/vitals-go/vitals/internal/testenv"
)

// BenchmarkCheck compares one run of the checker with the bare channel open
// and close it makes (the baseline), on the real RabbitMQ server.
func BenchmarkCheck(b *testing.B) {
	u, err := url.Parse(testenv.AMQPURL())
	if err != nil {
		b.Fatal(err)
	}
	testenv.Require(b, "rabbitmq", testenv.Reachable(u.Host))
	conn, err := dial(u, u.Host)
	testenv.Require(b, "rabbitmq", err)
	defer conn.Close()
	ctx := context.Background()
	b.Run("client", func(b *testing.B) {
		for b.Loop() {
			ch, err := conn.Channel()
			if err != nil {
				b.Fatal(err)
			}
			if err := ch.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		c := amqpcheck.New(conn, amqpcheck.Options{})
		for b.Loop() {
			if err := c.Check(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

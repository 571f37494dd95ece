package natscheck_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-go/vitals/health/checks/natscheck"
)

// BenchmarkCheck compares one run of the checker with the bare flush it
// makes (the baseline), on the real NATS server.
func BenchmarkCheck(b *testing.B) {
	nc := connect(b, serverAddr(b))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.Run("client", func(b *testing.B) {
		for b.Loop() {
			if err := nc.FlushWithContext(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		c := natscheck.New(nc, natscheck.Options{})
		for b.Loop() {
			if err := c.Check(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

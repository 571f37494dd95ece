package redischeck_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/vitals-go/vitals/health/checks/redischeck"
	"github.com/vitals-go/vitals/internal/testenv"
)

// BenchmarkCheck compares one run of the checker with the bare PING it
// sends (the baseline), on the real Redis server.
func BenchmarkCheck(b *testing.B) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	testenv.Require(b, "redis", rdb.Ping(ctx).Err())
	b.Run("client", func(b *testing.B) {
		for b.Loop() {
			if err := rdb.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		c := redischeck.New(rdb)
		for b.Loop() {
			if err := c.Check(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

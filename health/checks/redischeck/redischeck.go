// Package redischeck checks Redis through the application's own go-redis
// client (github.com/redis/go-redis/v9), so the check exercises the pool the
// service really uses. It lives apart from package checks to keep go-redis
// out of the standard-library core.
//
//	m.Register(health.Check{Name: "redis", Checker: redischeck.New(rdb)})
//
// go-redis ignores the context's deadline for socket reads unless the client
// was made with ContextTimeoutEnabled: true. Set it, so the check's timeout
// bounds the round trip; without it the Monitor still abandons the run at the
// check's timeout and the client's ReadTimeout (default 3 s) ends the call.
package redischeck

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vitals-go/vitals/health"
)

// Pinger is the one method of a go-redis client that the checker uses.
// *redis.Client, *redis.ClusterClient, *redis.Ring and redis.UniversalClient
// have it. A cluster client pings one node per run.
type Pinger interface {
	Ping(ctx context.Context) *redis.StatusCmd
}

// Checker sends PING through a go-redis client and observes the round trip
// in milliseconds. Create it with [New]; it is safe for concurrent use.
type Checker struct {
	client Pinger
}

var _ health.Checker = (*Checker)(nil)

// New returns a checker that pings through client. It does not touch the
// server until Check runs and never closes the client.
func New(client Pinger) *Checker { return &Checker{client: client} }

// Check sends PING. It fails with the client's error, such as a refused
// connection, a timeout, or a server that answers LOADING while it reads its
// dataset.
func (c *Checker) Check(ctx context.Context) error {
	start := time.Now()
	if err := c.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	health.Observe(ctx, float64(time.Since(start).Microseconds())/1000, "ms")
	return nil
}

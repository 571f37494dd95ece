package outbox

import (
	"math/rand/v2"
	"time"
)

// Backoff is the retry schedule of failed deliveries: attempt a (from 1)
// that failed is retried after
//
//	d(a) = min(Max, Initial × Multiplier^(a-1)),
//
// less a random fraction of at most Jitter of it ("equal jitter" when
// Jitter is 0.5): the retry comes at a uniformly random time in
// [d(a)·(1-Jitter), d(a)]. With the defaults: about 1s, 2s, 4s, … 5m, 5m.
// The zero value gets the defaults.
type Backoff struct {
	// Initial is the delay after the first failure. Default 1s.
	Initial time.Duration
	// Max caps the delay. Default 5m.
	Max time.Duration
	// Multiplier grows the delay per failure. Default 2.
	Multiplier float64
	// Jitter is the largest fraction taken off a delay at random, in
	// [0, 1]; it spreads the retries of many rows that failed together.
	// Default 0.2. Negative means none.
	Jitter float64
}

// Defaults of Backoff.
const (
	DefaultBackoffInitial    = time.Second
	DefaultBackoffMax        = 5 * time.Minute
	DefaultBackoffMultiplier = 2.0
	DefaultBackoffJitter     = 0.2
)

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoffInitial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Multiplier < 1 {
		b.Multiplier = DefaultBackoffMultiplier
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = DefaultBackoffJitter
	case b.Jitter < 0:
		b.Jitter = 0
	case b.Jitter > 1:
		b.Jitter = 1
	}
	return b
}

// Delay returns the delay after failed attempt a (from 1); r is a uniform
// random number in [0, 1) (rand.Float64 when nil).
func (b Backoff) Delay(a int, r func() float64) time.Duration {
	b = b.withDefaults()
	d := float64(b.Initial)
	for i := 1; i < a && d < float64(b.Max); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.Max))
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(d * (1 - b.Jitter*r()))
}

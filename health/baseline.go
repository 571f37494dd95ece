package health

import (
	"slices"
	"time"
)

// Baseline makes a check learn its normal duration and report DEGRADED when
// its runs stay far slower than that normal while still succeeding: the
// dependency that answers, but ten times slower than it used to. Its zero
// value is useful; set it on [Check.Baseline].
//
// The normal is the Quantile of the durations of the last Window successful
// runs that were not slow. A run is slow when it takes more than Factor times
// that normal. After WarmUp successful runs, Consecutive slow runs in a row
// take the check from UP to DEGRADED, and Consecutive runs in a row that are
// not slow take it back. Slow runs are not learned, so a sustained slowdown
// does not become the new normal.
//
// A Baseline never takes a check DOWN and never makes a probe answer 503:
// DEGRADED is HTTP 200, "warn" in application/health+json. Failed runs,
// timeouts included, are neither learned nor judged; they count toward
// FailureThreshold as always.
type Baseline struct {
	// Quantile of the recent durations that is the normal, in (0, 1).
	// Default: 0.9.
	Quantile float64
	// Factor over the normal above which a run is slow. Default: 5.
	Factor float64
	// Window is how many recent durations are kept; memory is bounded by it.
	// Default: 64.
	Window int
	// WarmUp is how many successful runs are learned before any is judged.
	// Default: 20.
	WarmUp int
	// Consecutive is how many slow runs in a row make the check DEGRADED,
	// and how many normal runs in a row make it UP again. Default: 3.
	Consecutive int
	// Floor is the smallest normal: runs faster than Factor × Floor are
	// never slow, so that a check taking microseconds is not flagged for
	// taking a millisecond. Default: 1ms.
	Floor time.Duration
}

func (b Baseline) withDefaults() Baseline {
	if b.Quantile <= 0 || b.Quantile >= 1 {
		b.Quantile = 0.9
	}
	if b.Factor <= 1 {
		b.Factor = 5
	}
	if b.Window <= 0 {
		b.Window = 64
	}
	if b.WarmUp <= 0 {
		b.WarmUp = 20
	}
	b.WarmUp = min(b.WarmUp, b.Window)
	if b.Consecutive <= 0 {
		b.Consecutive = 3
	}
	if b.Floor <= 0 {
		b.Floor = time.Millisecond
	}
	return b
}

// baseline is the state of a [Baseline]: a ring of the last Window learned
// durations and the same values sorted, so that a quantile is an index.
// Each result costs O(Window) time; memory is 2 × Window durations.
type baseline struct {
	cfg      Baseline
	ring     []time.Duration // in arrival order; ring[next] is the oldest once full
	sorted   []time.Duration
	next     int
	slowRun  int // consecutive slow runs
	fastRun  int // consecutive normal runs
	degraded bool
}

func newBaseline(cfg Baseline) *baseline {
	cfg = cfg.withDefaults()
	return &baseline{
		cfg:    cfg,
		ring:   make([]time.Duration, 0, cfg.Window),
		sorted: make([]time.Duration, 0, cfg.Window),
	}
}

// quantile returns the nearest-rank q-quantile of the learned durations, 0
// when none.
func (b *baseline) quantile(q float64) time.Duration {
	n := len(b.sorted)
	if n == 0 {
		return 0
	}
	i := int(q*float64(n)+0.999999999) - 1 // ceil(q·n) - 1
	return b.sorted[min(max(i, 0), n-1)]
}

// normal returns the learned normal duration, 0 during the warm-up.
func (b *baseline) normal() time.Duration {
	if len(b.ring) < b.cfg.WarmUp {
		return 0
	}
	return b.quantile(b.cfg.Quantile)
}

func (b *baseline) learn(d time.Duration) {
	if len(b.ring) < b.cfg.Window {
		b.ring = append(b.ring, d)
	} else {
		old := b.ring[b.next]
		b.ring[b.next] = d
		b.next = (b.next + 1) % b.cfg.Window
		i, _ := slices.BinarySearch(b.sorted, old)
		b.sorted = slices.Delete(b.sorted, i, i+1)
	}
	i, _ := slices.BinarySearch(b.sorted, d)
	b.sorted = slices.Insert(b.sorted, i, d)
}

// observe judges and learns the duration of one successful run and reports
// whether the check is degraded now.
func (b *baseline) observe(d time.Duration) bool {
	norm := b.normal()
	if norm == 0 {
		b.learn(d)
		return false
	}
	limit := time.Duration(b.cfg.Factor * float64(max(norm, b.cfg.Floor)))
	if d > limit {
		b.slowRun++
		b.fastRun = 0
		if b.slowRun >= b.cfg.Consecutive {
			b.degraded = true
		}
		return b.degraded
	}
	b.learn(d)
	b.fastRun++
	b.slowRun = 0
	if b.fastRun >= b.cfg.Consecutive {
		b.degraded = false
	}
	return b.degraded
}

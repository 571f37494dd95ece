package checks

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"

	"github.com/vitals-go/vitals/health"
)

// Heap checks the Go heap in use against a limit. "In use" is what
// runtime.MemStats calls HeapInuse: the bytes of heap spans holding objects
// (live or not yet swept) and their free slots; it excludes memory returned
// to the OS. It is read through runtime/metrics, which does not stop the
// world. It observes the heap in use in bytes. Create it with [NewHeap]; it
// is safe for concurrent use.
type Heap struct {
	limit uint64
}

var _ health.Checker = (*Heap)(nil)

// DefaultHeapLimitFraction is the part of the Go memory limit (GOMEMLIMIT)
// that [NewHeap] uses as its limit when given none.
const DefaultHeapLimitFraction = 0.9

// NewHeap returns a checker that fails when the heap in use exceeds limit
// bytes. When limit is 0, the limit is 90% of the Go runtime's memory limit
// (GOMEMLIMIT or debug.SetMemoryLimit) read at each check; without a runtime
// limit either, the check only observes.
//
//	checks.NewHeap(512 << 20)
func NewHeap(limit uint64) *Heap { return &Heap{limit: limit} }

var heapMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/gc/gomemlimit:bytes",
}

// Check reads the heap in use and fails with a [*ThresholdError] when it is
// over the limit.
func (c *Heap) Check(ctx context.Context) error {
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	inUse := sampleUint(samples[0]) + sampleUint(samples[1])
	health.Observe(ctx, float64(inUse), "bytes")
	limit, what := c.limit, fmt.Sprintf("at most %s", formatBytes(c.limit))
	if limit == 0 {
		rt := sampleUint(samples[2])
		if rt == 0 || rt >= math.MaxInt64 {
			return nil // no limit anywhere: observe only
		}
		limit = uint64(float64(rt) * DefaultHeapLimitFraction)
		what = fmt.Sprintf("at most %s (90%% of GOMEMLIMIT %s)", formatBytes(limit), formatBytes(rt))
	}
	if inUse > limit {
		return &ThresholdError{Subject: "go heap in use", Observed: formatBytes(inUse), Allowed: what}
	}
	return nil
}

func sampleUint(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

// Goroutines checks the number of goroutines against a limit; a count that
// keeps growing is the usual sign of a leak that only a restart fixes. It
// observes the count. Create it with [NewGoroutines]; it is safe for
// concurrent use.
type Goroutines struct {
	limit int
}

var _ health.Checker = (*Goroutines)(nil)

// DefaultGoroutineLimit is the limit of [NewGoroutines] when given none.
const DefaultGoroutineLimit = 10000

// NewGoroutines returns a checker that fails when more than limit
// goroutines exist. When limit is 0 or less, it is DefaultGoroutineLimit
// (10,000).
//
//	checks.NewGoroutines(5000)
func NewGoroutines(limit int) *Goroutines {
	if limit <= 0 {
		limit = DefaultGoroutineLimit
	}
	return &Goroutines{limit: limit}
}

// Check counts the goroutines (runtime.NumGoroutine) and fails with a
// [*ThresholdError] when there are more than the limit.
func (c *Goroutines) Check(ctx context.Context) error {
	n := runtime.NumGoroutine()
	health.Observe(ctx, float64(n), "goroutines")
	if n > c.limit {
		return &ThresholdError{Subject: "goroutines", Observed: fmt.Sprint(n), Allowed: fmt.Sprintf("at most %d", c.limit)}
	}
	return nil
}

package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/health"
)

// DefaultStallPeriod is the period of a [Stall] created with none.
const DefaultStallPeriod = time.Minute

// Stall detects a stalled or deadlocked worker loop: the worker calls
// [Stall.Beat] on every iteration, and [Stall.Check] fails when the last beat
// is older than the allowed period. Register it as a Liveness check: a stall
// is what a restart fixes.
//
// A worker that waits for work must wake up at least once per period to
// beat (select on its work channel and on a ticker), or waiting counts as a
// stall.
//
// Beat is lock-free (one monotonic clock read and one atomic store, about
// 20 ns, see BENCHMARKS.md) and safe to call from any goroutine; Check is
// safe for concurrent use. A loop whose iterations take well under a
// microsecond can beat every N-th iteration instead. A new
// Stall counts as having beaten when it is created, so a worker that never
// starts is detected one period later. For a pool of workers that come and
// go, use [Stalls].
type Stall struct {
	name   string
	period time.Duration
	epoch  time.Time    // monotonic base of last
	last   atomic.Int64 // nanoseconds from epoch to the last beat
}

var _ health.Checker = (*Stall)(nil)

// NewStall returns a stall detector for the worker called name (used in
// error texts), allowed period between beats. A period of 0 or less is
// DefaultStallPeriod (1 minute).
//
//	s := checks.NewStall("ingest", 30*time.Second) // in the worker's loop: s.Beat()
func NewStall(name string, period time.Duration) *Stall {
	if period <= 0 {
		period = DefaultStallPeriod
	}
	return &Stall{name: name, period: period, epoch: time.Now()}
}

// Beat records that the worker made progress now.
func (s *Stall) Beat() { s.last.Store(int64(time.Since(s.epoch))) }

// Name returns the worker's name.
func (s *Stall) Name() string { return s.name }

// Period returns the allowed time between beats.
func (s *Stall) Period() time.Duration { return s.period }

// LastBeat returns the time of the last beat (or of the creation).
func (s *Stall) LastBeat() time.Time { return s.epoch.Add(time.Duration(s.last.Load())) }

// Since returns the time since the last beat.
func (s *Stall) Since() time.Duration {
	return time.Since(s.epoch) - time.Duration(s.last.Load())
}

// Check fails with [ErrStalled] when the last beat is older than the period;
// the error says how long ago the worker last beat. It observes the seconds
// since the last beat.
func (s *Stall) Check(ctx context.Context) error {
	age := s.Since()
	health.Observe(ctx, age.Seconds(), "s")
	return s.errIfStalled(age)
}

func (s *Stall) errIfStalled(age time.Duration) error {
	if age <= s.period {
		return nil
	}
	return fmt.Errorf("worker %q: %w: last beat %s ago, allowed %s", s.name, ErrStalled, formatAge(age), s.period)
}

// Stalls is a set of [Stall] detectors sharing one period, for a pool of
// workers that start and stop at run time: each worker adds its own Stall
// when it starts and removes it when it ends normally; one check covers
// them all and names every stalled worker.
//
//	w := stalls.Add("consumer-3")
//	defer stalls.Remove(w)
//	for { w.Beat(); ... }
//
// Its methods are safe for concurrent use; each worker's Beat stays
// lock-free.
type Stalls struct {
	period time.Duration

	mu      sync.Mutex
	workers map[*Stall]struct{}
}

var _ health.Checker = (*Stalls)(nil)

// NewStalls returns an empty set whose workers may go period without a
// beat. A period of 0 or less is DefaultStallPeriod (1 minute).
func NewStalls(period time.Duration) *Stalls {
	if period <= 0 {
		period = DefaultStallPeriod
	}
	return &Stalls{period: period, workers: make(map[*Stall]struct{})}
}

// Add registers a new worker and returns its Stall, counted as having just
// beaten. Names need not be unique but make errors readable when they are.
func (g *Stalls) Add(name string) *Stall {
	s := NewStall(name, g.period)
	g.mu.Lock()
	g.workers[s] = struct{}{}
	g.mu.Unlock()
	return s
}

// Remove unregisters a worker that ended normally. Removing a Stall twice,
// or one that was never added, does nothing.
func (g *Stalls) Remove(s *Stall) {
	g.mu.Lock()
	delete(g.workers, s)
	g.mu.Unlock()
}

// Len returns the number of registered workers.
func (g *Stalls) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.workers)
}

// Check fails when any registered worker is stalled, with one [ErrStalled]
// error per stalled worker (ordered by name) joined together. With no
// workers it passes. It observes the longest time since a beat, in seconds.
func (g *Stalls) Check(ctx context.Context) error {
	type entry struct {
		s   *Stall
		age time.Duration
	}
	g.mu.Lock()
	entries := make([]entry, 0, len(g.workers))
	for s := range g.workers {
		entries = append(entries, entry{s, s.Since()})
	}
	g.mu.Unlock()
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.s.name, b.s.name) })
	var oldest time.Duration
	var errs []error
	for _, e := range entries {
		oldest = max(oldest, e.age)
		if err := e.s.errIfStalled(e.age); err != nil {
			errs = append(errs, err)
		}
	}
	health.Observe(ctx, oldest.Seconds(), "s")
	return errors.Join(errs...)
}

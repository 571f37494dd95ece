// Package deadlines is the one timer heap of the project. Heap is a
// min-heap of deadlines, one per key, for owners that run their own loop
// (the pull scheduler re-arms each check at a fixed rate). Scheduler fires
// a callback when a check's deadline passes (the engine's push deadlines):
// one goroutine, one timer, one Heap. The timer is always armed for the
// earliest deadline, so a deadline fires as soon as it passes (no periodic
// scan), and the cost of waiting is independent of the number of checks.
package deadlines

import (
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// Scheduler holds at most one deadline per check and calls fire, from its
// own goroutine, once for each deadline that passes. It is safe for
// concurrent use. New starts the goroutine; Close stops it.
type Scheduler struct {
	fire func(id model.CheckID)

	wake chan struct{} // capacity 1: "the earliest deadline changed"
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	heap Heap[model.CheckID]
}

// New returns a running Scheduler calling fire(id) when id's deadline has
// passed. fire runs on the scheduler's goroutine: it must return quickly
// (hand the work to another goroutine) and must not call Close; it may call
// Set and Remove. The deadline is removed before fire is called.
func New(fire func(id model.CheckID)) *Scheduler {
	s := &Scheduler{
		fire: fire,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.loop()
	return s
}

// Set sets id's deadline to at, replacing any previous one; a zero at
// removes it. A deadline already in the past fires at once.
func (s *Scheduler) Set(id model.CheckID, at time.Time) {
	if at.IsZero() {
		s.Remove(id)
		return
	}
	s.mu.Lock()
	earliest := s.heap.Set(id, at)
	s.mu.Unlock()
	if earliest {
		s.poke()
	}
}

// Remove forgets id's deadline, if any.
func (s *Scheduler) Remove(id model.CheckID) {
	s.mu.Lock()
	s.heap.Remove(id)
	s.mu.Unlock()
}

// Get returns id's pending deadline, if any.
func (s *Scheduler) Get(id model.CheckID) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heap.Get(id)
}

// Len returns the number of pending deadlines.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heap.Len()
}

// Close stops the scheduler and blocks until its goroutine (and any fire
// call in progress) has returned. Pending deadlines do not fire. Close is
// idempotent.
func (s *Scheduler) Close() {
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	<-s.done
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Scheduler) loop() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []model.CheckID
	for {
		now := time.Now()
		s.mu.Lock()
		due = due[:0]
		for {
			id, ok := s.heap.PopDue(now)
			if !ok {
				break
			}
			due = append(due, id)
		}
		_, next, _ := s.heap.Peek()
		s.mu.Unlock()
		for _, id := range due {
			select {
			case <-s.stop:
				return
			default:
			}
			s.fire(id)
		}
		if len(due) > 0 {
			continue // deadlines may have been set while firing
		}
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(next.Sub(now))
		}
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

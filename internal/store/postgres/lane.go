package postgres

import "github.com/vitals-go/vitals/internal/store"

// The collector's priority lane (issue 14), as the SQLite store's writer
// has one (internal/store/sqlite/lane.go, where the argument is in full):
// an Apply that carries a flip (store.Urgent) goes to Store.urgent, which
// the collector takes before Store.reqs when it starts a batch and while
// it gathers one, so a flip waits for the batches in flight (at most
// Options.Writers of MaxBatch calls) instead of every call queued before
// it. Unless an Apply of the same check still waits in Store.reqs
// (Store.pending counts them): then the flip goes behind it, so that an
// older state whose caller gave up on it is never written after the
// flip's. Two calls of one check taken into different batches may already
// commit in either order (Writers executors run at once), with or without
// the lane: the lane adds no reordering the FIFO did not allow once the
// writes were taken; and a replica's writes carry a compare-and-set on the
// state's revision (Update.CAS), which refuses a write decided on a state
// another write has replaced, whatever the order.

// queue picks r's queue and counts r in Store.pending if it goes to reqs.
func (s *Store) queue(r *request) chan *request {
	if r.u == nil {
		return s.reqs
	}
	if s.pending.Enter(r.u.CheckID, store.Urgent(r.u)) {
		return s.urgent
	}
	r.counted = true
	return s.reqs
}

// took is called by the collector for each call it takes from Store.reqs.
func (s *Store) took(r *request) *request {
	if r.counted {
		s.pending.Leave(r.u.CheckID)
	}
	return r
}

// next takes a queued call without waiting, the urgent lane first; nil
// when both queues are empty.
func (s *Store) next() *request {
	select {
	case r := <-s.urgent:
		return r
	default:
	}
	select {
	case r := <-s.reqs:
		return s.took(r)
	default:
		return nil
	}
}

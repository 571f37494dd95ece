package sqlite

import "github.com/vitals-go/vitals/internal/store"

// The writer's priority lane (issue 14).
//
// An Apply that carries a flip (store.Urgent: the watchdog's decision that
// a deadline passed or a ping or probe result changed a check's status)
// goes to Store.urgent instead of Store.reqs. The writer takes the urgent
// queue first, both when it starts a batch and whenever it drains requests
// into the open one, so a flip waits for the batch in progress (at most
// MaxBatch writes) instead of for every write queued before it (up to
// 4 × MaxBatch), and a compaction in that batch ends after its current
// step of compactStep rows instead of moving its whole chunk
// (writer.compactChunk). Under issue 14's load the chunk was most of the
// lag: a compaction chunk held the writer for 0.2-1 s.
//
// What the lane may reorder, and why that is safe:
//
//   - A write already answered is committed (durable); nothing submitted
//     later, urgent or not, is ever executed before it.
//   - An urgent write overtakes only writes that are queued and not yet
//     answered: calls in flight at the same time, whose order the callers
//     cannot have relied on (with one FIFO queue the order of two
//     goroutines' sends is a race, too). The outcome is one the FIFO could
//     have produced.
//   - But not for the same check: a queued write whose caller gave up
//     (its context ended: "the write may still commit") is still in
//     flight while the caller goes on, and the watchdog does exactly that
//     with a timed-out write of routine probe results before it decides a
//     flip on the same check. Had the flip overtaken that older write, the
//     older state would be written after the flip's and replace it (the
//     stored state of a check is its newest ping_log row), and a restart
//     would load a check that is down in memory as up. So an urgent write
//     for a check with an Apply still in Store.reqs (not yet taken by the
//     writer) goes to Store.reqs behind it, as before the lane:
//     Store.pending (a store.Lane) counts those Applies per check. A write
//     taken by the writer is in the batch in progress, ahead of anything
//     the writer takes after it, so the count drops as the writer takes
//     it.
//   - The SQLite store ignores Update.CAS and Rev (one process), so no
//     revision check can fail because of the reordering; flips of one
//     check keep their order among themselves (one urgent FIFO).
//
// Other writes (CreateCheck, DeleteCheck, retirement) are not counted: a
// flip overtaking one of them that is still queued is the outcome of the
// two calls racing, and the watchdog writes a check's flips only while it
// holds the check (after its creation, before its deletion).

// queue picks r's queue and counts r in Store.pending if it goes to reqs.
func (s *Store) queue(r *request) chan *request {
	if r.apply == nil || s.noLane {
		return s.reqs
	}
	if s.pending.Enter(r.apply.u.CheckID, store.Urgent(&r.apply.u)) {
		r.urgent = true
		return s.urgent
	}
	r.counted = true
	return s.reqs
}

// took is called by the writer for each request it takes from Store.reqs.
func (s *Store) took(r *request) *request {
	if r.counted {
		s.pending.Leave(r.apply.u.CheckID)
	}
	return r
}

// next takes a queued request without waiting, the urgent lane first; nil
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

// urgentWaiting reports whether a write waits in the urgent lane (a
// compaction chunk then ends early).
func (s *Store) urgentWaiting() bool { return len(s.urgent) > 0 }

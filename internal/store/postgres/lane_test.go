package postgres

import (
	"testing"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// queueUp queues u as submit does, without waiting for an answer.
func queueUp(s *Store, u store.Update) *request {
	r := &request{u: &u, done: make(chan error, 1)}
	s.queue(r) <- r
	return r
}

// The collector takes a flip queued behind a backlog of pings first, but
// not before a queued write of its own check. No server: the queues alone.
func TestUrgentLane(t *testing.T) {
	s := &Store{opts: Options{MaxBatch: 4}, reqs: make(chan *request, 16), urgent: make(chan *request, 4)}
	a, b := model.NewCheckID(), model.NewCheckID()
	flip := store.Update{CheckID: b, Flips: []model.Flip{{CheckID: b, From: model.StatusUp, To: model.StatusDown}}}
	var backlog []*request
	for range 8 {
		backlog = append(backlog, queueUp(s, store.Update{CheckID: a}))
	}
	urgent := queueUp(s, flip)
	if len(s.urgent) != 1 {
		t.Fatal("the flip is not in the lane")
	}
	batch := s.gather(s.next(), true)
	if len(batch) != 4 || batch[0] != urgent || batch[1] != backlog[0] {
		t.Fatalf("first batch starts %p, %p; want the flip %p, then %p", batch[0], batch[1], urgent, backlog[0])
	}
	// b now has a ping queued: its next flip goes behind it.
	ping := queueUp(s, store.Update{CheckID: b})
	late := queueUp(s, flip)
	if len(s.urgent) != 0 {
		t.Fatal("a flip overtook a queued write of its check")
	}
	var rest []*request
	for r := s.next(); r != nil; r = s.next() {
		rest = append(rest, r)
	}
	if n := len(rest); n != 7 || rest[5] != ping || rest[6] != late {
		t.Fatalf("%d calls left, want 7 ending with the ping and the flip of one check", n)
	}
	if n := s.pending.Queued(); n != 0 {
		t.Fatalf("%d checks still counted", n)
	}
}

package store

import (
	"sync"

	"github.com/vitals-go/vitals/internal/model"
)

// Urgent reports whether u decides something (it carries a flip: a
// deadline passed, a ping or a probe result changed the check's status):
// a store with a write queue takes it before the writes queued before it
// (its priority lane), so that a flip's durable write does not wait behind
// a backlog of pings. See Lane.
func Urgent(u *Update) bool { return len(u.Flips) > 0 }

// Lane keeps a store's priority lane from reordering two writes of one
// check. An urgent Update may overtake only queued writes not yet
// answered: calls in flight at once, whose order the callers cannot have
// relied on. But the caller of a queued write may have given up on it (its
// context ended: the write may still commit) and gone on to decide a flip
// of the same check on the state before it; had the flip overtaken that
// write, the older state would be written after the flip's and replace it.
// So the store counts, per check, the Applies in its normal queue not yet
// taken by its writer, and an urgent Update of a check with one there goes
// to the normal queue behind it. The zero value is ready to use.
type Lane struct {
	shards [64]laneShard // by the check id's last byte (random): writers rarely share a lock
}

type laneShard struct {
	mu sync.Mutex
	n  map[model.CheckID]int32
	_  [40]byte // a cache line each
}

func (l *Lane) shard(id model.CheckID) *laneShard { return &l.shards[id[15]&63] }

// Enter is called before an Apply of id is queued. It reports true, and
// counts nothing, when the write is urgent and no Apply of id waits in the
// normal queue: the write goes to the priority lane. Otherwise it counts
// the write, which goes to the normal queue; Leave must follow, once the
// writer took it from that queue, or at once if it was never sent.
func (l *Lane) Enter(id model.CheckID, urgent bool) (priority bool) {
	sh := l.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if urgent && sh.n[id] == 0 {
		return true
	}
	if sh.n == nil {
		sh.n = make(map[model.CheckID]int32)
	}
	sh.n[id]++
	return false
}

// Leave uncounts an Apply of id counted by Enter.
func (l *Lane) Leave(id model.CheckID) {
	sh := l.shard(id)
	sh.mu.Lock()
	if c := sh.n[id] - 1; c > 0 {
		sh.n[id] = c
	} else {
		delete(sh.n, id)
	}
	sh.mu.Unlock()
}

// Queued returns how many checks have Applies counted (for tests).
func (l *Lane) Queued() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.n)
		sh.mu.Unlock()
	}
	return n
}

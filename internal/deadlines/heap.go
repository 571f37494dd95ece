package deadlines

import (
	"container/heap"
	"time"
)

// Heap is a min-heap of deadlines, at most one per key: the earliest is
// on top. It has no goroutine and no timer; its owner reads the top and
// decides what "due" means (the Scheduler fires and forgets; the pull
// scheduler re-arms at a fixed rate). The zero value is an empty heap
// ready to use. It is not safe for concurrent use: its owner guards it.
type Heap[K comparable] struct {
	items items[K]
	byKey map[K]*item[K]
}

type item[K comparable] struct {
	key   K
	at    time.Time
	index int
}

// Set sets k's deadline to at, replacing any previous one, and reports
// whether k's deadline is now the earliest (the owner's timer must then
// be re-armed).
func (h *Heap[K]) Set(k K, at time.Time) (earliest bool) {
	it, ok := h.byKey[k]
	if ok {
		it.at = at
		heap.Fix(&h.items, it.index)
	} else {
		if h.byKey == nil {
			h.byKey = make(map[K]*item[K])
		}
		it = &item[K]{key: k, at: at}
		heap.Push(&h.items, it)
		h.byKey[k] = it
	}
	return h.items[0] == it
}

// Remove forgets k's deadline and reports whether it had one.
func (h *Heap[K]) Remove(k K) bool {
	it, ok := h.byKey[k]
	if ok {
		heap.Remove(&h.items, it.index)
		delete(h.byKey, k)
	}
	return ok
}

// Get returns k's deadline, if any.
func (h *Heap[K]) Get(k K) (time.Time, bool) {
	if it, ok := h.byKey[k]; ok {
		return it.at, true
	}
	return time.Time{}, false
}

// Len returns the number of deadlines.
func (h *Heap[K]) Len() int { return len(h.items) }

// Peek returns the earliest deadline and its key; ok is false when the
// heap is empty.
func (h *Heap[K]) Peek() (k K, at time.Time, ok bool) {
	if len(h.items) == 0 {
		return k, at, false
	}
	return h.items[0].key, h.items[0].at, true
}

// PopDue removes the earliest deadline when it is not after now, and
// returns its key; ok is false when no deadline is due.
func (h *Heap[K]) PopDue(now time.Time) (k K, ok bool) {
	if len(h.items) == 0 || h.items[0].at.After(now) {
		return k, false
	}
	it := heap.Pop(&h.items).(*item[K])
	delete(h.byKey, it.key)
	return it.key, true
}

// items implements heap.Interface, keeping each item's index current.
type items[K comparable] []*item[K]

func (h items[K]) Len() int           { return len(h) }
func (h items[K]) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h items[K]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *items[K]) Push(x any) {
	it := x.(*item[K])
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *items[K]) Pop() any {
	old := *h
	n := len(old)
	it := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	it.index = -1
	return it
}

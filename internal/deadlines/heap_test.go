package deadlines

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHeap: the top is always the earliest deadline, one per key, through
// Set (new, later, earlier), Remove and PopDue.
func TestHeap(t *testing.T) {
	var h Heap[int]
	if _, _, ok := h.Peek(); ok {
		t.Fatal("empty heap has a top")
	}
	if _, ok := h.PopDue(time.Now()); ok {
		t.Fatal("empty heap has a due deadline")
	}
	if h.Remove(1) {
		t.Fatal("removed a key of an empty heap")
	}
	t0 := time.Unix(1_700_000_000, 0)
	at := map[int]time.Time{}
	r := rand.New(rand.NewPCG(1, 2))
	for k := range 500 {
		at[k] = t0.Add(time.Duration(r.IntN(1000)) * time.Second)
		h.Set(k, at[k])
	}
	for k := 0; k < 500; k += 7 { // move some later, some earlier
		at[k] = t0.Add(time.Duration(r.IntN(2000)-500) * time.Second)
		h.Set(k, at[k])
	}
	for k := 3; k < 500; k += 11 {
		if !h.Remove(k) {
			t.Fatalf("Remove(%d) found nothing", k)
		}
		delete(at, k)
	}
	if h.Len() != len(at) {
		t.Fatalf("Len = %d, want %d", h.Len(), len(at))
	}
	for k, want := range at {
		if got, ok := h.Get(k); !ok || !got.Equal(want) {
			t.Fatalf("Get(%d) = %v %v, want %v", k, got, ok, want)
		}
	}
	// Set reports a new earliest deadline.
	if !h.Set(1000, t0.Add(-time.Hour)) {
		t.Fatal("Set of the earliest deadline did not say so")
	}
	if h.Set(1001, t0.Add(time.Hour)) {
		t.Fatal("Set of a late deadline said it is the earliest")
	}
	at[1000], at[1001] = t0.Add(-time.Hour), t0.Add(time.Hour)

	now := t0.Add(500 * time.Second)
	var popped []time.Time
	for {
		k, top, ok := h.Peek()
		if !ok || top.After(now) {
			break
		}
		got, ok := h.PopDue(now)
		if !ok || got != k {
			t.Fatalf("PopDue = %d %v, Peek said %d", got, ok, k)
		}
		if _, still := h.Get(k); still {
			t.Fatalf("%d still has a deadline after PopDue", k)
		}
		popped = append(popped, at[k])
		delete(at, k)
	}
	if !slices.IsSortedFunc(popped, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Fatal("PopDue did not return the deadlines in order")
	}
	for k, a := range at {
		if !a.After(now) {
			t.Fatalf("%d due at %v was not popped", k, a)
		}
	}
	if _, ok := h.PopDue(now); ok {
		t.Fatal("PopDue returned a deadline after now")
	}
	if h.Len() != len(at) {
		t.Fatalf("Len = %d after popping, want %d", h.Len(), len(at))
	}
}

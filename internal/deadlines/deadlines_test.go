package deadlines

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

type recorder struct {
	mu    sync.Mutex
	fired map[model.CheckID]time.Time
}

func (r *recorder) fire(id model.CheckID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.fired[id]; dup {
		panic("fired twice")
	}
	r.fired[id] = time.Now()
}

func TestFiresExactlyAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{fired: map[model.CheckID]time.Time{}}
		s := New(r.fire)
		defer s.Close()
		start := time.Now()
		want := map[model.CheckID]time.Time{}
		for i := range 1000 {
			id := model.NewCheckID()
			at := start.Add(time.Duration(1000-i) * 7 * time.Millisecond)
			want[id] = at
			s.Set(id, at)
		}
		// Moving a deadline later and earlier, and removing one.
		var moved, removed model.CheckID
		for id := range want {
			if moved.IsZero() {
				moved = id
			} else if removed.IsZero() {
				removed = id
			}
		}
		want[moved] = start.Add(time.Hour)
		s.Set(moved, want[moved])
		s.Remove(removed)
		delete(want, removed)

		time.Sleep(2 * time.Hour)
		synctest.Wait()
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.fired) != len(want) {
			t.Fatalf("%d fired, want %d", len(r.fired), len(want))
		}
		for id, at := range want {
			if got := r.fired[id]; !got.Equal(at) {
				t.Fatalf("fired at %v, want %v", got.Sub(start), at.Sub(start))
			}
		}
		if s.Len() != 0 {
			t.Fatalf("%d left", s.Len())
		}
	})
}

func TestPastDeadlineFiresAtOnceAndEarlierWakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{fired: map[model.CheckID]time.Time{}}
		s := New(r.fire)
		defer s.Close()
		start := time.Now()
		late, early, past := model.NewCheckID(), model.NewCheckID(), model.NewCheckID()
		s.Set(late, start.Add(time.Hour))
		synctest.Wait() // the loop sleeps on the hour
		s.Set(early, start.Add(time.Minute))
		s.Set(past, start.Add(-time.Minute))
		synctest.Wait()
		r.mu.Lock()
		if got, ok := r.fired[past]; !ok || !got.Equal(start) {
			t.Fatalf("past deadline: fired=%v at %v", ok, got)
		}
		r.mu.Unlock()
		time.Sleep(time.Minute)
		synctest.Wait()
		r.mu.Lock()
		if got := r.fired[early]; !got.Equal(start.Add(time.Minute)) {
			t.Fatalf("early fired at %v", got.Sub(start))
		}
		if _, ok := r.fired[late]; ok {
			t.Fatal("late fired early")
		}
		r.mu.Unlock()
		if at, ok := s.Get(late); !ok || !at.Equal(start.Add(time.Hour)) {
			t.Fatalf("Get = %v %v", at, ok)
		}
	})
}

func TestCloseStopsAndIsIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{fired: map[model.CheckID]time.Time{}}
		s := New(r.fire)
		s.Set(model.NewCheckID(), time.Now().Add(time.Minute))
		s.Close()
		s.Close()
		time.Sleep(time.Hour)
		if len(r.fired) != 0 {
			t.Fatal("fired after Close")
		}
	})
}

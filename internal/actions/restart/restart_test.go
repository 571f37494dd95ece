package restart

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	p := Policy{Initial: time.Second, Max: 10 * time.Second}
	want := []time.Duration{0, 1, 2, 4, 8, 10, 10}
	for k, w := range want {
		if got := p.Delay(k); got != w*time.Second {
			t.Errorf("Delay(%d) = %v, want %v", k, got, w*time.Second)
		}
	}
}

func TestLimiterGivesUpOnceThenResetsWhenStable(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(Policy{Initial: time.Second, MaxRestarts: 3, Window: time.Minute, StableAfter: 30 * time.Second})
	now := t0
	for i := range 3 {
		d := l.Next(now)
		if d.GaveUp || d.At != now.Add(Policy{Initial: time.Second}.Delay(i)) {
			t.Fatalf("restart %d: %+v", i, d)
		}
		now = d.At
		l.Record(now)
	}
	d := l.Next(now)
	if !d.GaveUp || !d.First || d.Restarts != 3 {
		t.Fatalf("4th: %+v, want first give-up", d)
	}
	if d := l.Next(now.Add(time.Hour)); !d.GaveUp || d.First {
		t.Fatalf("after give-up: %+v, want gave up, not first", d)
	}
	if l.Up(now) || l.Up(now.Add(29*time.Second)) {
		t.Fatal("reset before StableAfter")
	}
	if !l.Up(now.Add(30 * time.Second)) {
		t.Fatal("no reset after StableAfter")
	}
	if d := l.Next(now.Add(31 * time.Second)); d.GaveUp || d.At != now.Add(31*time.Second) {
		t.Fatalf("after reset: %+v", d)
	}
}

func TestLimiterWindowSlides(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(Policy{MaxRestarts: 2, Window: time.Minute})
	l.Record(t0)
	l.Record(t0.Add(10 * time.Second))
	if d := l.Next(t0.Add(59 * time.Second)); !d.GaveUp {
		t.Fatalf("2 restarts in window: %+v", d)
	}
	l.Reset()
	l.Record(t0)
	l.Record(t0.Add(10 * time.Second))
	if d := l.Next(t0.Add(61 * time.Second)); d.GaveUp || d.Restarts != 1 {
		t.Fatalf("first restart left the window: %+v", d)
	}
}

func TestValidate(t *testing.T) {
	for _, p := range []Policy{{Multiplier: 0.5}, {MaxRestarts: -1}, {Window: -1}} {
		if p.Validate() == nil {
			t.Errorf("%+v: no error", p)
		}
	}
	if err := (Policy{}).Validate(); err != nil {
		t.Error(err)
	}
}

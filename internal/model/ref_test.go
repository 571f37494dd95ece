package model_test

import (
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// TestBrief: a Brief displays as its State does, at every instant around
// the due time (Due is rounded up to the millisecond: never grace early).
func TestBrief(t *testing.T) {
	due := time.Date(2026, 12, 3, 12, 0, 0, 500, time.UTC) // 500 ns past a millisecond
	run := []model.Run{{}}
	for _, s := range []model.State{
		{},
		{Status: model.StatusNew},
		{Status: model.StatusNew, Runs: run},
		{Status: model.StatusUp, Due: due},
		{Status: model.StatusUp, Due: due, Runs: run},
		{Status: model.StatusUp},
		{Status: model.StatusDown, Runs: run},
		{Status: model.StatusPaused, Due: due},
		{Status: model.StatusFlapping},
	} {
		b := model.PackBrief(&s)
		if got := b.State(); got.Status != s.Status || (len(got.Runs) > 0) != (len(s.Runs) > 0) {
			t.Errorf("%+v packs to %+v", s, got)
		}
		for _, now := range []time.Time{due.Add(-time.Hour), due.Add(-time.Nanosecond), due.Add(time.Millisecond), due.Add(time.Hour)} {
			if got, want := b.Display(now), s.Display(now); got != want {
				t.Errorf("%+v at %v: brief displays %s, state %s", s, now, got, want)
			}
		}
		// Between Due and its next millisecond the brief may still say up.
		if got := b.Display(due); got != s.Display(due) && !(got == model.StatusUp && s.Display(due) == model.StatusGrace) {
			t.Errorf("%+v at due: brief %s, state %s", s, got, s.Display(due))
		}
	}
}

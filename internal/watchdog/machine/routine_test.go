package machine

import (
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// Routine marks exactly the results that confirm the status: nothing a
// flip or an action depends on moves with them.
func TestRoutineResults(t *testing.T) {
	fail := func(reason string) Event {
		return Event{Kind: Result, Result: &model.Result{OK: false, Error: reason}}
	}
	tests := []struct {
		name    string
		c       *model.Check
		before  []Event
		ev      Event
		routine bool
	}{
		{"first result (a flip)", pull(nil), nil, result(true), false},
		{"up, success after a success", pull(nil), []Event{result(true)}, result(true), true},
		{"up, failure (a flip)", pull(nil), []Event{result(true), result(true)}, result(false), false},
		{"up, failure 1 of 3", pull(func(c *model.Check) { c.Thresholds.Failures = 3 }), []Event{result(true)}, result(false), false},
		{"up, success after a failure under the threshold", pull(func(c *model.Check) { c.Thresholds.Failures = 3 }),
			[]Event{result(true), result(false)}, result(true), false},
		{"down, the same failure", pull(nil), []Event{result(true), fail("refused")}, fail("refused"), true},
		{"down, another reason", pull(nil), []Event{result(true), fail("refused")}, fail("timeout"), false},
		{"down, success 1 of 2", pull(func(c *model.Check) { c.Thresholds.Successes = 2 }),
			[]Event{result(true), fail("refused")}, result(true), false},
		{"flapping", pull(func(c *model.Check) { c.Thresholds.FlapChanges, c.Thresholds.FlapWindow = 2, 5 }),
			[]Event{result(true), fail("x"), result(true), fail("x"), result(true)}, result(true), false},
		{"paused (ignored)", pull(nil), []Event{result(true), {Kind: Pause}}, result(true), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := model.NewState(tt.c.ID, t0)
			at := t0
			for _, ev := range tt.before {
				at = at.Add(10 * time.Second)
				ev.Now = at
				s = Apply(tt.c, s, ev).State
			}
			ev := tt.ev
			ev.Now = at.Add(10 * time.Second)
			out := Apply(tt.c, s, ev)
			if out.Routine != tt.routine {
				t.Fatalf("Routine = %v, want %v (from %s, failures %d, successes %d)", out.Routine, tt.routine, s.Status, s.ConsecFailures, s.ConsecSuccesses)
			}
			if out.Routine && (out.Flip != nil || out.State.Status != s.Status || out.State.LastError != s.LastError) {
				t.Fatalf("a routine result changed the status or the reason: %+v", out)
			}
		})
	}
}

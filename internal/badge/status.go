package badge

import (
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// Status is what a badge shows: Up, Late or Down.
type Status string

// The badge statuses (healthchecks.io's badge states).
const (
	Up   Status = "up"
	Late Status = "late"
	Down Status = "down"
)

// States is how many statuses a badge tells apart: TwoStates (up, down; a
// late check counts as up) or ThreeStates (up, late, down).
type States int

// The two kinds of badges, as healthchecks.io's "badge states".
const (
	TwoStates   States = 2
	ThreeStates States = 3
)

// Classify returns how one check counts in a badge at now, as
// healthchecks.io's Check.get_status sorts a check for its badges:
//
//   - down: the check is down, or flapping (Vitals only: results that
//     alternate too often to trust are not shown as up);
//   - grace: the check is up, past its due time but within its grace time
//     (an open run does not hide it, as healthchecks.io ignores
//     last_start for badges);
//   - up: everything else, new, paused and started included.
//
// The result is model.StatusDown, model.StatusGrace or model.StatusUp. The
// engine's state is the truth: a check past its deadline counts as down
// once the engine has flipped it (healthchecks.io predicts it from the
// clock; Vitals' thresholds may keep a check up after one missed deadline).
func Classify(s model.State, now time.Time) model.Status {
	switch s.Status {
	case model.StatusDown, model.StatusFlapping:
		return model.StatusDown
	case model.StatusUp:
		if !s.Due.IsZero() && !now.Before(s.Due) {
			return model.StatusGrace
		}
	}
	return model.StatusUp
}

// Tally counts the checks behind a badge. Its JSON is the body of the
// json badges (healthchecks.io's {"status", "total", "grace", "down"}).
type Tally struct {
	Status Status `json:"status"`
	Total  int    `json:"total"`
	Grace  int    `json:"grace"`
	Down   int    `json:"down"`
}

// NewTally returns the empty tally: up, no checks (a tag no check carries
// is up, as in healthchecks.io).
func NewTally() Tally { return Tally{Status: Up} }

// Add counts state s (as Classify sorts it at now) into t with states:
// any down check makes the badge Down; a check in its grace time makes it
// Late, with ThreeStates only and unless it is Down already.
func (t *Tally) Add(s model.State, now time.Time, states States) {
	t.Total++
	switch Classify(s, now) {
	case model.StatusDown:
		t.Down++
		t.Status = Down
	case model.StatusGrace:
		t.Grace++
		if t.Status == Up && states == ThreeStates {
			t.Status = Late
		}
	}
}

// Shields is the body of the shields badges: a shields.io endpoint badge
// (https://shields.io/badges/endpoint-badge), as healthchecks.io's
// _shields_response.
type Shields struct {
	SchemaVersion int    `json:"schemaVersion"`
	Label         string `json:"label"`
	Message       Status `json:"message"`
	Color         string `json:"color"`
}

// shieldsColors are shields.io's named colours by status (hc/api/views.py,
// SHIELDS_COLORS).
var shieldsColors = map[Status]string{Up: "success", Late: "important", Down: "critical"}

// NewShields returns the shields.io document of label and status.
func NewShields(label string, status Status) Shields {
	return Shields{SchemaVersion: 1, Label: label, Message: status, Color: shieldsColors[status]}
}

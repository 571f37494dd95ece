package model

import (
	"math/bits"
	"time"

	"github.com/google/uuid"
)

// Status is a check's stored status. Only changes between these values are
// flips. "started" and "grace" are derived for display by [State.Display].
type Status string

const (
	// StatusNew: created, no result yet. A new push check has no deadline
	// until its first ping (as in healthchecks.io).
	StatusNew Status = "new"
	// StatusUp: the last decision was healthy.
	StatusUp Status = "up"
	// StatusDown: the last decision was unhealthy (fail ping, missed
	// deadline, run too long or too short, failed probes).
	StatusDown Status = "down"
	// StatusPaused: monitoring suspended by an operator; no deadline.
	StatusPaused Status = "paused"
	// StatusFlapping: results alternate too often to trust either (see
	// [Thresholds.FlapChanges]). The underlying decision is still tracked
	// in [State.Underlying].
	StatusFlapping Status = "flapping"

	// StatusStarted is a display status: up or new with a run in progress.
	StatusStarted Status = "started"
	// StatusGrace is a display status: up, past the due time but within
	// the grace time.
	StatusGrace Status = "grace"
)

// MaxOpenRuns bounds the runs (start pings) a check remembers at once; the
// oldest is forgotten first. Bounded so that a client that sends starts with
// fresh run ids and never finishes cannot grow memory.
const MaxOpenRuns = 8

// Run is a started run: a start ping waiting for its finish.
type Run struct {
	// RID is the client's run id (?rid=), uuid.Nil when the start had none.
	RID uuid.UUID `json:"rid"`
	// Started is when the start ping arrived.
	Started time.Time `json:"started"`
}

// State is everything the watchdog knows about a check now. It is a value
// owned by the engine: the engine hands out copies; the store persists it
// whole on every change, so that a restart resumes exactly here (including
// the pending deadline).
type State struct {
	// CheckID is the check's UUID.
	CheckID CheckID `json:"check_id"`
	// Status is the displayed stored status (a flip changes it).
	Status Status `json:"status"`
	// Underlying is the thresholded decision, up / down / new, which Status
	// shows unless the check is paused or flapping.
	Underlying Status `json:"underlying"`
	// Since is when Status last changed (or the check was created).
	Since time.Time `json:"since"`
	// ActiveSince is when the check was created or last resumed: the start
	// period counts from it.
	ActiveSince time.Time `json:"active_since"`
	// LastPing is the time of the last success or failure signal (ping or
	// probe result); zero if none. Log and start pings do not move it.
	LastPing time.Time `json:"last_ping,omitzero"`
	// LastSuccess is the time of the last success.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastDuration is the run time of the last finished run (start → finish)
	// or the last probe's duration; 0 if unknown.
	LastDuration time.Duration `json:"last_duration,omitempty"`
	// LastError is the reason of the last failure (capped, MaxReasonLen).
	LastError string `json:"last_error,omitempty"`
	// Runs are the open runs, oldest first, at most MaxOpenRuns.
	Runs []Run `json:"runs,omitempty"`
	// Due is when the next ping is expected (without grace); zero when none.
	Due time.Time `json:"due,omitzero"`
	// Deadline is when the check goes down unless a ping arrives: Due +
	// grace, or the newest open run's start + grace, whichever is earlier.
	// Zero when there is no deadline (new, down, paused, pull checks).
	Deadline time.Time `json:"deadline,omitzero"`
	// ConsecFailures and ConsecSuccesses count the current streak.
	ConsecFailures  int `json:"consec_failures"`
	ConsecSuccesses int `json:"consec_successes"`
	// History holds the last results as bits, newest in bit 0 (1 =
	// success); HistoryLen of them are valid (at most MaxFlapWindow).
	History    uint64 `json:"history"`
	HistoryLen int    `json:"history_len"`
	// NPings numbers the pings received, all kinds: the last ping's N.
	NPings int64 `json:"n_pings"`
	// NFlips counts the flips.
	NFlips int64 `json:"n_flips"`
	// TZWarning, for a cron check, says that its last pings all came a
	// whole number of hours away from the schedule, and names the time
	// zone that would fit ("" when there is nothing to say).
	TZWarning string `json:"tz_warning,omitempty"`
	// TZPings, for a cron push check, are the times of its last success
	// and failure pings (of the start of the run a ping finished, when it
	// was timed from one), oldest first, at most MaxTZPings: what
	// TZWarning is decided on (see GuessTZ). Cleared when the schedule or
	// its time zone changes.
	TZPings []time.Time `json:"tz_pings,omitempty"`
}

// NewState returns the state of a check created at now.
func NewState(id CheckID, now time.Time) State {
	return State{CheckID: id, Status: StatusNew, Underlying: StatusNew, Since: now, ActiveSince: now}
}

// Display returns the status to show at now: Status, except StatusStarted
// for an up or new check with a run in progress, and StatusGrace for an up
// check past its due time but before its deadline.
func (s State) Display(now time.Time) Status {
	switch s.Status {
	case StatusUp, StatusNew:
		if len(s.Runs) > 0 {
			return StatusStarted
		}
		if s.Status == StatusUp && !s.Due.IsZero() && !now.Before(s.Due) {
			return StatusGrace
		}
	}
	return s.Status
}

// PushResult records one result in History, newest in bit 0.
func (s *State) PushResult(ok bool) {
	s.History <<= 1
	if ok {
		s.History |= 1
	}
	s.HistoryLen = min(s.HistoryLen+1, MaxFlapWindow)
}

// Changes counts, among the last window results, those that differ from the
// result before them (so at most window-1).
func (s State) Changes(window int) int {
	n := min(window, s.HistoryLen)
	if n < 2 {
		return 0
	}
	diff := s.History ^ (s.History >> 1) // bit i set: result i differs from i+1
	mask := uint64(1)<<(n-1) - 1         // pairs (0,1) … (n-2,n-1)
	return bits.OnesCount64(diff & mask)
}

// Clone returns a deep copy (of Runs and TZPings, its slices).
func (s State) Clone() State {
	if s.Runs != nil {
		s.Runs = append([]Run(nil), s.Runs...)
	}
	if s.TZPings != nil {
		s.TZPings = append([]time.Time(nil), s.TZPings...)
	}
	return s
}

// CountsAsUp reports whether time spent in status counts as up time in the
// uptime rollups, and whether it counts at all: up (and its display forms)
// is up; down and flapping are down; new and paused are not counted.
func CountsAsUp(st Status) (up, counted bool) {
	switch st {
	case StatusUp, StatusStarted, StatusGrace:
		return true, true
	case StatusDown, StatusFlapping:
		return false, true
	}
	return false, false
}

// CheckState is a check with its current state.
type CheckState struct {
	Check Check
	State State
}

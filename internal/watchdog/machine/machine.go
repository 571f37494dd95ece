// Package machine is the watchdog's state machine, one for push and pull
// checks: a pure function from (check, state, event) to (new state, flip,
// uptime increments). It has no clock, no I/O and no goroutines; the engine
// (package watchdog) feeds it events one at a time per check, persists its
// outcome and publishes the flip.
//
// Rules, in order of application:
//   - Every decisive result (success / fail / exit-status ping, probe
//     result, missed deadline) is pushed into the check's result history.
//   - Thresholds: an up (or new) check goes down after
//     Thresholds.Failures consecutive failures; a down check goes up after
//     Thresholds.Successes consecutive successes; a new check goes up on its
//     first success. Failures before the first success within
//     Thresholds.StartPeriod of creation / resume do not make it down.
//   - A missed deadline (no ping within period + grace, or a started run not
//     finished within grace) is decisive: the check goes down at once, as in
//     healthchecks.io, whatever Thresholds.Failures says.
//   - Runs: a start opens a run (Check's State.Runs, by run id). A finish
//     (success, fail, exit status) with the run id of an open run closes
//     it and is timed from its start. As in healthchecks.io's Check.ping,
//     a finish without a run id (timed from the open run without one, if
//     any) and a failure with any run id close every open run: the check
//     is no longer started. A success with a run id that matches no open
//     run leaves the open runs as they are.
//   - A success that finishes a run faster than Check.MinRunTime is a
//     failure ("finished too fast").
//   - Flapping: when at least FlapChanges of the last FlapWindow results
//     changed, the displayed status is flapping; it returns to the
//     thresholded decision once the window has calmed below FlapChanges.
//   - Paused: deadlines are off and probe results ignored; a success or
//     fail ping resumes a push check unless Check.ManualResume (then the
//     ping is recorded as ignored).
//   - At most one flip per event: from the stored status before the event
//     to the one after, with the reason of the deciding result.
//   - Time zone: a cron push check keeps the times of its last
//     model.MaxTZPings success and failure pings (State.TZPings; the start
//     of the run when the ping was timed from one) and, on each, sets or
//     clears State.TZWarning (model.TZWarning). A Reschedule whose schedule
//     or time zone changed clears both; any other Reschedule re-decides the
//     warning on the kept times (the grace may have changed).
package machine

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

// EventKind says what happened to a check.
type EventKind int

const (
	// Ping: a ping arrived (Event.Ping).
	Ping EventKind = iota + 1
	// Result: a probe of a pull check finished (Event.Result).
	Result
	// Deadline: the timer for Event.Deadline fired. Stale deadlines (no
	// longer the state's Deadline) change nothing.
	Deadline
	// Pause: an operator paused the check (Event.Reason).
	Pause
	// Resume: an operator resumed the check (Event.Reason); it restarts as
	// new, as healthchecks.io does.
	Resume
	// Reschedule: the check's definition changed; deadlines are recomputed
	// from the last ping under the new schedule.
	Reschedule
)

// Event is one input to [Apply].
type Event struct {
	Kind EventKind
	// Now is when the event is decided; flips carry this time.
	Now time.Time
	// Ping is the ping of a Ping event. Apply numbers it (N), may mark it
	// ignored (Kind = PingIgnored) and fills Duration when it finishes a
	// run: the caller stores the modified ping.
	Ping *model.Ping
	// Result is the probe outcome of a Result event.
	Result *model.Result
	// Deadline is the deadline that fired, for a Deadline event.
	Deadline time.Time
	// Reason is the operator's words for Pause and Resume.
	Reason string
	// ScheduleChanged, for a Reschedule, says that the check's cron
	// expression, time zone or kind changed: the ping times kept for the
	// time-zone warning no longer apply.
	ScheduleChanged bool
	// HostTZ is the IANA zone of the watchdog's host ("" when unknown), the
	// first candidate of the time-zone warning (model.GuessTZ).
	HostTZ string
}

// Outcome is what [Apply] decided.
type Outcome struct {
	// State is the new state (a copy; the input is not modified).
	State model.State
	// Changed reports whether State differs in a way worth persisting.
	// False for stale deadlines, duplicate pauses and ignored results.
	Changed bool
	// Flip is the status change, nil when the status did not change. Its
	// ID is left for the caller to assign.
	Flip *model.Flip
	// Uptime holds the rollup increments for the status interval that the
	// flip closed.
	Uptime []model.UptimeDay
	// Routine reports a probe result that only confirms the check's
	// status: a success of an up check whose last result succeeded too,
	// or a failure of a down check whose last result failed with the same
	// reason. It changes nothing but the last-result fields (LastPing,
	// LastSuccess, LastDuration), the length of the current streak and the
	// history window's newest bits: nothing a flip or an action depends
	// on. Losing it (a crash before it is written) leaves the state as if
	// the probe had not run, so the engine may write it later, in a batch.
	Routine bool
}

// Apply runs one event through the state machine. c must have passed
// Validate (after WithDefaults). It never panics on a valid check.
func Apply(c *model.Check, s model.State, ev Event) Outcome {
	before := s
	s = s.Clone()
	now := ev.Now.UTC()
	var reason string
	changed := true

	switch ev.Kind {
	case Ping:
		reason = applyPing(c, &s, ev.Ping, now)
		noteTZ(c, &s, ev)
	case Result:
		if s.Status == model.StatusPaused || c.Kind != model.KindPull {
			return Outcome{State: before}
		}
		r := ev.Result
		s.LastDuration = r.Duration
		reason = decide(c, &s, r.OK, now, resultReason(r))
		if confirms(before, s, r.OK) {
			return Outcome{State: s, Changed: true, Routine: true}
		}
	case Deadline:
		if s.Deadline.IsZero() || !ev.Deadline.Equal(s.Deadline) || now.Before(s.Deadline) {
			return Outcome{State: before}
		}
		reason = missed(c, &s, now)
	case Pause:
		if s.Status == model.StatusPaused {
			return Outcome{State: before}
		}
		s.Status = model.StatusPaused
		s.Runs, s.Due, s.Deadline = nil, time.Time{}, time.Time{}
		reason = withWords("paused", ev.Reason)
	case Resume:
		if s.Status != model.StatusPaused {
			return Outcome{State: before}
		}
		s.Status, s.Underlying = model.StatusNew, model.StatusNew
		s.ActiveSince = now
		s.ConsecFailures, s.ConsecSuccesses = 0, 0
		s.History, s.HistoryLen = 0, 0
		s.Runs, s.Due, s.Deadline = nil, time.Time{}, time.Time{}
		reason = withWords("resumed", ev.Reason)
	case Reschedule:
		schedule(c, &s)
		rescheduleTZ(c, &s, ev)
		changed = !s.Deadline.Equal(before.Deadline) || !s.Due.Equal(before.Due) ||
			s.TZWarning != before.TZWarning || len(s.TZPings) != len(before.TZPings)
	default:
		return Outcome{State: before}
	}

	out := Outcome{State: s, Changed: changed}
	if s.Status != before.Status {
		out.Flip = &model.Flip{
			CheckID: s.CheckID,
			From:    before.Status,
			To:      s.Status,
			Time:    now,
			Reason:  model.Truncate(reason, model.MaxReasonLen),
		}
		out.Uptime = model.SplitDays(s.CheckID, before.Status, before.Since, now)
		out.State.Since = now
		out.State.NFlips++
	}
	return out
}

// confirms reports whether a result took before to after without changing
// anything but the last-result fields, the streak's length and the
// history: the status is up (down) and stays so, the result succeeded
// (failed) as the last one did, with the same reason.
func confirms(before, after model.State, ok bool) bool {
	if after.Status != before.Status || after.Underlying != before.Underlying || after.Status != after.Underlying {
		return false
	}
	switch {
	case ok && after.Status == model.StatusUp && before.ConsecFailures == 0 && before.ConsecSuccesses > 0:
	case !ok && after.Status == model.StatusDown && before.ConsecSuccesses == 0 && before.ConsecFailures > 0:
	default:
		return false
	}
	return after.LastError == before.LastError && after.Due.Equal(before.Due) && after.Deadline.Equal(before.Deadline) &&
		len(after.Runs) == 0 && len(before.Runs) == 0 && after.TZWarning == before.TZWarning
}

func withWords(what, words string) string {
	if words == "" {
		return what
	}
	return what + ": " + words
}

func resultReason(r *model.Result) string {
	if r.OK {
		return "probe succeeded"
	}
	if r.Error == "" {
		return "probe failed"
	}
	return "probe failed: " + r.Error
}

// applyPing handles a ping and returns the reason of the decision, if any.
func applyPing(c *model.Check, s *model.State, p *model.Ping, now time.Time) string {
	s.NPings++
	p.N = s.NPings
	if c.PostOnly && p.Method != "POST" && p.Method != "" {
		p.Kind = model.PingIgnored
	}
	if s.Status == model.StatusPaused && c.ManualResume {
		p.Kind = model.PingIgnored
	}
	switch p.Kind {
	case model.PingStart:
		if s.Status == model.StatusPaused {
			return ""
		}
		openRun(s, p.RID, now)
		schedule(c, s)
		return ""
	case model.PingSuccess, model.PingFail, model.PingExitStatus:
	default: // log, ignored
		return ""
	}

	ok, _ := p.Outcome()
	// healthchecks.io's Check.ping: a finish without a run id, and a
	// failure whatever its run id, end the started state.
	endsRuns := p.RID == uuid.Nil || !ok
	reason := pingReason(p)
	if started, found := closeRun(s, p.RID); found {
		p.Duration = now.Sub(started)
		s.LastDuration = p.Duration
		if ok && c.MinRunTime > 0 && p.Duration < c.MinRunTime {
			ok = false
			reason = fmt.Sprintf("run finished in %v, under the minimum run time %v", p.Duration.Round(time.Millisecond), c.MinRunTime)
		}
	}
	if endsRuns {
		// Only the run paired above was timed; the others are dropped, so
		// that no "did not finish" deadline outlives the finish.
		s.Runs = nil
	}
	if s.Status == model.StatusPaused {
		// A ping resumes the check (healthchecks.io without manual_resume).
		s.Status, s.Underlying = model.StatusNew, model.StatusNew
		s.ConsecFailures, s.ConsecSuccesses = 0, 0
		s.History, s.HistoryLen = 0, 0
		reason += " (resumed by the ping)"
	}
	return decide(c, s, ok, now, reason)
}

func pingReason(p *model.Ping) string {
	switch p.Kind {
	case model.PingSuccess:
		return "success ping"
	case model.PingFail:
		return "fail ping"
	}
	if p.ExitStatus == 0 {
		return "exit status 0"
	}
	return fmt.Sprintf("exit status %d", p.ExitStatus)
}

// openRun remembers a start; a start with a RID already open restarts it.
func openRun(s *model.State, rid uuid.UUID, now time.Time) {
	for i, r := range s.Runs {
		if r.RID == rid {
			s.Runs = append(s.Runs[:i], s.Runs[i+1:]...)
			break
		}
	}
	if len(s.Runs) >= model.MaxOpenRuns {
		s.Runs = s.Runs[1:]
	}
	s.Runs = append(s.Runs, model.Run{RID: rid, Started: now})
}

// closeRun removes the run with rid (the newest one when several share
// uuid.Nil) and returns its start.
func closeRun(s *model.State, rid uuid.UUID) (time.Time, bool) {
	for i := len(s.Runs) - 1; i >= 0; i-- {
		if s.Runs[i].RID == rid {
			started := s.Runs[i].Started
			s.Runs = append(s.Runs[:i], s.Runs[i+1:]...)
			if len(s.Runs) == 0 {
				s.Runs = nil
			}
			return started, true
		}
	}
	return time.Time{}, false
}

// decide records a decisive result and applies thresholds and flapping.
// It returns the reason to give if the status changes.
func decide(c *model.Check, s *model.State, ok bool, now time.Time, reason string) string {
	th := c.Thresholds
	s.LastPing = now
	s.PushResult(ok)
	if ok {
		s.LastSuccess = now
		s.LastError = ""
		s.ConsecSuccesses++
		s.ConsecFailures = 0
	} else {
		s.LastError = model.Truncate(reason, model.MaxReasonLen)
		s.ConsecFailures++
		s.ConsecSuccesses = 0
	}
	inStart := th.StartPeriod > 0 && now.Before(s.ActiveSince.Add(th.StartPeriod)) && s.LastSuccess.Before(s.ActiveSince)
	switch s.Underlying {
	case model.StatusNew:
		if ok {
			s.Underlying = model.StatusUp
		} else if !inStart && s.ConsecFailures >= th.FailuresOrDefault() {
			s.Underlying = model.StatusDown
		}
	case model.StatusUp:
		if !ok && !inStart && s.ConsecFailures >= th.FailuresOrDefault() {
			s.Underlying = model.StatusDown
		}
	case model.StatusDown:
		if ok && s.ConsecSuccesses >= th.SuccessesOrDefault() {
			s.Underlying = model.StatusUp
		}
	}
	if !ok && th.FailuresOrDefault() > 1 && s.Underlying == model.StatusDown {
		reason = fmt.Sprintf("%d consecutive failures, last: %s", s.ConsecFailures, reason)
	}
	if ok && th.SuccessesOrDefault() > 1 && s.Underlying == model.StatusUp && s.ConsecSuccesses > 1 {
		reason = fmt.Sprintf("%d consecutive successes, last: %s", s.ConsecSuccesses, reason)
	}
	reason = settle(c, s, reason)
	schedule(c, s)
	return reason
}

// settle sets the displayed Status from Underlying and flapping.
func settle(c *model.Check, s *model.State, reason string) string {
	th := c.Thresholds
	if th.FlapEnabled() {
		changes := s.Changes(th.FlapWindow)
		switch {
		case s.Status != model.StatusFlapping && changes >= th.FlapChanges:
			s.Status = model.StatusFlapping
			return fmt.Sprintf("flapping: %d changes in the last %d results, last: %s", changes, min(th.FlapWindow, s.HistoryLen), reason)
		case s.Status == model.StatusFlapping && changes >= th.FlapChanges:
			return reason
		case s.Status == model.StatusFlapping:
			reason = fmt.Sprintf("stable again (%d changes in the last %d results), last: %s", changes, min(th.FlapWindow, s.HistoryLen), reason)
		}
	}
	s.Status = s.Underlying
	return reason
}

// missed handles a deadline that passed.
func missed(c *model.Check, s *model.State, now time.Time) string {
	grace := c.Schedule.Grace
	var reason string
	if n := len(s.Runs); n > 0 && !s.Runs[n-1].Started.Add(grace).After(s.Deadline) {
		r := s.Runs[n-1]
		reason = fmt.Sprintf("run started at %s did not finish within the grace time %v", r.Started.Format(time.RFC3339), grace)
		if r.RID != uuid.Nil {
			reason = fmt.Sprintf("run %s started at %s did not finish within the grace time %v", r.RID, r.Started.Format(time.RFC3339), grace)
		}
		s.Runs = nil
	} else {
		reason = fmt.Sprintf("no ping since %s: expected by %s, grace %v", s.LastPing.Format(time.RFC3339), s.Due.Format(time.RFC3339), grace)
	}
	s.PushResult(false)
	s.ConsecFailures++
	s.ConsecSuccesses = 0
	s.LastError = model.Truncate(reason, model.MaxReasonLen)
	s.Underlying = model.StatusDown
	reason = settle(c, s, reason)
	s.Due, s.Deadline = time.Time{}, time.Time{}
	return reason
}

// schedule recomputes Due and Deadline of a push check.
func schedule(c *model.Check, s *model.State) {
	s.Due, s.Deadline = time.Time{}, time.Time{}
	if c.Kind != model.KindPush || s.Status == model.StatusPaused || s.Underlying == model.StatusDown {
		return
	}
	grace := c.Schedule.Grace
	if s.Underlying == model.StatusUp && !s.LastPing.IsZero() {
		if due, err := c.Schedule.NextDue(s.LastPing); err == nil {
			s.Due = due
			s.Deadline = due.Add(grace)
		}
	}
	if n := len(s.Runs); n > 0 {
		rd := s.Runs[n-1].Started.Add(grace)
		if s.Deadline.IsZero() || rd.Before(s.Deadline) {
			s.Deadline = rd
		}
	}
}

// tzWatched reports whether c gets the time-zone warning: cron push checks.
func tzWatched(c *model.Check) bool {
	return c.Kind == model.KindPush && c.Schedule.Cron != ""
}

// noteTZ keeps the time of a decisive ping of a cron push check and
// re-decides its time-zone warning.
func noteTZ(c *model.Check, s *model.State, ev Event) {
	p := ev.Ping
	switch p.Kind {
	case model.PingSuccess, model.PingFail, model.PingExitStatus:
	default: // start, log, ignored
		return
	}
	if !tzWatched(c) {
		s.TZPings, s.TZWarning = nil, ""
		return
	}
	at := ev.Now.UTC()
	// A run timed from its start began at the cron time: closer than the
	// finish. Runs outlive the grace only by a deadline's latency.
	if p.Duration > 0 && p.Duration <= c.Schedule.Grace {
		at = at.Add(-p.Duration)
	}
	n := len(s.TZPings)
	if n >= model.MaxTZPings {
		s.TZPings = append(s.TZPings[:0:0], s.TZPings[n-model.MaxTZPings+1:]...)
	}
	s.TZPings = append(s.TZPings, at)
	s.TZWarning = model.TZWarning(c.Schedule, s.TZPings, ev.HostTZ)
}

// rescheduleTZ forgets the kept ping times when the schedule changed, and
// otherwise re-decides the warning on them.
func rescheduleTZ(c *model.Check, s *model.State, ev Event) {
	if ev.ScheduleChanged || !tzWatched(c) {
		s.TZPings, s.TZWarning = nil, ""
		return
	}
	s.TZWarning = model.TZWarning(c.Schedule, s.TZPings, ev.HostTZ)
}

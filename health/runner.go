package health

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Errors recorded for runs that did not return in time.
var (
	// ErrTimeout is recorded when a check does not return within its
	// timeout. The check's context is cancelled; if it ignores that, its
	// invocation is abandoned (see ErrStillRunning).
	ErrTimeout = errors.New("check timed out")
	// ErrStillRunning is recorded instead of starting a new run while an
	// abandoned run of the same check has not returned: a check that ignores
	// its context holds at most one goroutine, never one per run.
	ErrStillRunning = errors.New("previous run still in progress (the check ignores its context)")
	// ErrGoexit is recorded for a run whose check called [runtime.Goexit]
	// (as testing.T.FailNow and log.Fatal-style helpers built on it do)
	// instead of returning. The run counts as failed and the check runs
	// again at its next interval.
	ErrGoexit = errors.New("check called runtime.Goexit")
)

// startLoopLocked starts the background loop of cs. m.mu must be held.
func (m *Monitor) startLoopLocked(cs *checkState) {
	if cs.loopStarted || m.stopped {
		return
	}
	cs.loopStarted = true
	delay := cs.cfg.InitialDelay
	if !cs.cfg.NoStagger {
		delay += time.Duration(rand.Int64N(int64(cs.cfg.Interval)))
	}
	m.loops.Add(1)
	go m.loop(cs, delay)
}

// loop runs cs every Interval until the Monitor stops. A check that is only a
// startup check stops once startup has completed.
func (m *Monitor) loop(cs *checkState, delay time.Duration) {
	defer m.loops.Done()
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		if cs.cfg.Kinds == Startup {
			m.mu.Lock()
			done := m.startupDone
			m.mu.Unlock()
			if done {
				return
			}
		}
		m.runCheck(cs)
		t.Reset(cs.cfg.Interval)
	}
}

// runCheck runs cs once and records its result. It returns without recording
// when the Monitor stops meanwhile.
func (m *Monitor) runCheck(cs *checkState) {
	select {
	case m.sem <- struct{}{}:
	case <-m.ctx.Done():
		return
	}
	defer func() { <-m.sem }()

	m.mu.Lock()
	if cs.inflight {
		m.mu.Unlock()
		m.record(cs, outcome{err: ErrStillRunning})
		return
	}
	cs.inflight = true
	m.mu.Unlock()

	start := time.Now()
	ctx, cancel := context.WithTimeout(m.ctx, cs.cfg.Timeout)
	defer cancel()
	obs := &observer{}
	ctx = context.WithValue(ctx, observationKey{}, obs)
	done := make(chan error, 1) // capacity 1: an abandoned run can still finish
	m.runs.Add(1)
	go func() {
		defer m.runs.Done()
		// Deferred, so that a check calling runtime.Goexit (which no recover
		// stops) still ends its run: err then keeps ErrGoexit.
		err := ErrGoexit
		defer func() {
			m.mu.Lock()
			cs.inflight = false
			m.mu.Unlock()
			done <- err
		}()
		err = invoke(ctx, cs.cfg.Checker)
	}()

	var out outcome
	select {
	case err := <-done:
		out = outcome{err: err, obs: obs.obs}
	case <-ctx.Done():
		select {
		case err := <-done: // finished right at the deadline
			out = outcome{err: err, obs: obs.obs}
		default:
			if m.ctx.Err() != nil {
				return // stopping: not a result
			}
			out = outcome{err: fmt.Errorf("%w after %v", ErrTimeout, cs.cfg.Timeout)}
		}
	}
	if m.ctx.Err() != nil {
		return // stopping: a cancelled run is not a result
	}
	if out.err != nil && errors.Is(out.err, context.DeadlineExceeded) && ctx.Err() != nil {
		out.err = fmt.Errorf("%w after %v: %w", ErrTimeout, cs.cfg.Timeout, out.err)
	}
	out.duration = time.Since(start)
	m.record(cs, out)
}

// invoke calls c.Check, turning a panic into an error. A check calling
// runtime.Goexit does not return from invoke: its caller must defer what has
// to happen after the run.
func invoke(ctx context.Context, c Checker) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return c.Check(ctx)
}

type outcome struct {
	err      error
	duration time.Duration
	obs      *Observation
}

// record applies one run's outcome to cs with thresholds, rebuilds the
// snapshot and delivers events.
func (m *Monitor) record(cs *checkState, out outcome) {
	now := time.Now()
	m.notifyMu.Lock()
	defer m.notifyMu.Unlock()
	m.mu.Lock()
	r := &cs.res
	from := r.Status
	r.Pending = false
	r.LastChecked = now
	r.Duration = out.duration
	r.Observation = out.obs
	if out.err == nil {
		r.Error = ""
		r.LastSuccess = now
		r.ConsecutiveFailures = 0
		cs.consecSucc++
		if !cs.everUp || cs.consecSucc >= cs.cfg.SuccessThreshold || r.Status != StatusDown {
			r.Status = StatusUp
		}
		if cs.base != nil {
			// Judged on every success, so it keeps learning while DOWN;
			// it only ever turns UP into DEGRADED, never into DOWN.
			if cs.base.observe(out.duration) && r.Status == StatusUp {
				r.Status = StatusDegraded
			}
			r.Baseline = cs.base.normal()
		}
		cs.everUp = true
	} else {
		r.Error = cleanError(out.err.Error(), m.opts.MaxErrorLength)
		r.ConsecutiveFailures++
		cs.consecSucc = 0
		if r.ConsecutiveFailures >= cs.cfg.FailureThreshold {
			r.Status = StatusDown
		}
	}
	res := *r
	var checkEvents []CheckEvent
	if from != r.Status {
		checkEvents = append(checkEvents, CheckEvent{From: from, To: r.Status, Result: res})
	}
	statusEvents := m.rebuildLocked()
	m.mu.Unlock()
	m.deliver(checkEvents, statusEvents, []Result{res})
}

// deliver logs transitions and calls the subscribers. m.notifyMu must be held and
// m.mu must not be.
func (m *Monitor) deliver(checks []CheckEvent, statuses []StatusEvent, results []Result) {
	if len(checks)+len(statuses)+len(results) == 0 {
		return
	}
	m.mu.Lock()
	subs := m.subs
	m.mu.Unlock()
	log := m.opts.Logger
	for _, r := range results {
		for _, s := range subs {
			if s.OnResult != nil && !s.cancelled.Load() {
				s.OnResult(r)
			}
		}
	}
	for _, e := range checks {
		switch e.To {
		case StatusDown:
			log.Warn("health: check is DOWN", "check", e.Result.Name, "from", e.From.String(),
				"error", e.Result.Error, "consecutive_failures", e.Result.ConsecutiveFailures)
		case StatusDegraded:
			log.Warn("health: check is DEGRADED: slower than its normal", "check", e.Result.Name,
				"from", e.From.String(), "duration", e.Result.Duration, "baseline", e.Result.Baseline)
		default:
			log.Info("health: check is UP", "check", e.Result.Name, "from", e.From.String(),
				"duration", e.Result.Duration)
		}
		for _, s := range subs {
			if s.OnCheck != nil && !s.cancelled.Load() {
				s.OnCheck(e)
			}
		}
	}
	for _, e := range statuses {
		log.Info("health: probe status changed", "probe", probeName(e.Kinds), "from", e.From.String(),
			"to", e.To.String(), "reason", e.Reason)
		for _, s := range subs {
			if s.OnStatus != nil && !s.cancelled.Load() {
				s.OnStatus(e)
			}
		}
	}
}

// refreshOnDemand runs the stale on-demand checks of kinds, sharing runs that
// are already in progress, and waits for them or for ctx.
func (m *Monitor) refreshOnDemand(ctx context.Context, kinds Kind) {
	if !m.hasOnDemand.Load() {
		return
	}
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	var waits []chan struct{}
	now := time.Now()
	for _, cs := range m.order {
		if !cs.cfg.OnDemand || cs.cfg.Kinds&kinds == 0 {
			continue
		}
		if cs.demand != nil {
			waits = append(waits, cs.demand)
			continue
		}
		if !cs.res.Pending && now.Sub(cs.res.LastChecked) < cs.cfg.Interval {
			continue
		}
		ch := make(chan struct{})
		cs.demand = ch
		waits = append(waits, ch)
		m.runs.Add(1)
		go func() {
			defer m.runs.Done()
			m.runCheck(cs)
			m.mu.Lock()
			cs.demand = nil
			m.mu.Unlock()
			close(ch)
		}()
	}
	m.mu.Unlock()
	for _, ch := range waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

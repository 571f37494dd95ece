package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/internal/deadlines"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/probe"
	"github.com/vitals-go/vitals/internal/store"
)

// Defaults of Options fields left zero.
const (
	// DefaultMaxConcurrent bounds the probes running at once.
	DefaultMaxConcurrent = 1024
	// DefaultStallAfter is how late a due probe may be before Check
	// reports the scheduler stalled.
	DefaultStallAfter = 30 * time.Second
	// DefaultReportTimeout bounds the engine write of one result.
	DefaultReportTimeout = 10 * time.Second
)

// Engine is what the scheduler needs of the watchdog engine
// (*watchdog.Engine implements it).
type Engine interface {
	Report(ctx context.Context, id model.CheckID, r model.Result) (model.State, error)
	List() []model.CheckState
}

// refsEngine is an Engine that also hands out live references to its
// checks (*watchdog.Engine does): Start reads those instead of a copy of
// every check.
type refsEngine interface {
	Refs() ([]model.CheckRef, uint64)
}

// Options configure a Scheduler. The zero value is usable.
type Options struct {
	// MaxConcurrent bounds how many probes run at once; a due probe past
	// the bound waits for a slot, without holding up the scheduling of the
	// others. Default DefaultMaxConcurrent (1024): by Little's law it
	// should exceed the probes started per second times the time a probe
	// takes (10,000 checks every 10s whose probes take up to 1s need 1,000).
	MaxConcurrent int
	// StallAfter: Check fails when a due probe has not been started for
	// this long. Default DefaultStallAfter (30s).
	StallAfter time.Duration
	// ReportTimeout bounds the engine write of one result. Default 10s.
	ReportTimeout time.Duration
	// Observe, when set, is called after each probe with the time it was
	// scheduled for, the time it started (after waiting for a slot) and its
	// result, before the result is reported. For metrics and benchmarks; it
	// must be fast and safe for concurrent use. Default nil.
	Observe func(id model.CheckID, scheduled, started time.Time, r model.Result)
	// Logger receives scheduling and report errors. Default slog.Default().
	Logger *slog.Logger
	// Owns, when set, says whether this replica probes check id (it owns
	// the check's lease: watchdog.Engine.Owns); a turn of a check it does
	// not own is passed over, as a paused check's is. It must be fast and
	// safe for concurrent use. Default nil: every check is probed (one
	// process).
	Owns func(id model.CheckID) bool

	// compile turns a check into what runs it; tests replace it.
	compile func(model.Check) (runner, error)
}

// runner runs one probe: *Prober.
type runner interface {
	Probe(ctx context.Context) model.Result
}

// compileCheck decodes and compiles a pull check's probe, its HTTP probes
// keeping their connections in conns.
func compileCheck(c model.Check, conns *probe.Conns) (runner, error) {
	spec, err := Decode(c.Probe)
	if err != nil {
		return nil, err
	}
	p, err := CompileWith(spec, conns)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Scheduler probes every pull check of an engine on its interval: the
// first run of each check at a random point of its first interval (so that
// checks created together do not fire together), then at a fixed rate. One
// goroutine pops due checks from a timer heap and starts each probe in its
// own goroutine; at most Options.MaxConcurrent probes run at once, and a
// check whose previous probe is still running skips its turn (counted in
// Stats.Skipped), so a slow target never delays the others nor piles up.
//
// It is a model.Listener (with the optional CheckListener and
// StateListener interfaces): register it with the engine (before the
// engine starts) so that checks created, changed, deleted, paused or
// resumed through the engine are scheduled accordingly. Lifecycle: New, register, Start (after
// the engine's Start), Close. Safe for concurrent use.
type Scheduler struct {
	eng   Engine
	opts  Options
	conns *probe.Conns // the HTTP probes' kept-alive connections, per target
	sem   chan struct{}
	wake  chan struct{}

	probes, skipped, failed atomic.Int64

	mu      sync.Mutex
	entries map[model.CheckID]*entry
	queue   deadlines.Heap[model.CheckID] // each entry's next run
	running bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type entry struct {
	id       model.CheckID
	raw      []byte // model.Check.Probe, to detect changes
	prober   runner
	err      error // the spec does not compile: every run reports it
	interval time.Duration
	inflight bool
	paused   bool
}

var (
	_ model.Listener      = (*Scheduler)(nil)
	_ model.CheckListener = (*Scheduler)(nil)
	_ model.StateListener = (*Scheduler)(nil)
)

// New returns a scheduler over eng, not started.
func New(eng Engine, opts Options) *Scheduler {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.StallAfter <= 0 {
		opts.StallAfter = DefaultStallAfter
	}
	if opts.ReportTimeout <= 0 {
		opts.ReportTimeout = DefaultReportTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	conns := probe.NewConns(probe.ConnsOptions{})
	if opts.compile == nil {
		opts.compile = func(c model.Check) (runner, error) { return compileCheck(c, conns) }
	}
	return &Scheduler{
		eng:     eng,
		opts:    opts,
		conns:   conns,
		sem:     make(chan struct{}, opts.MaxConcurrent),
		wake:    make(chan struct{}, 1),
		entries: map[model.CheckID]*entry{},
	}
}

// Start schedules every pull check the engine lists and starts the
// scheduling goroutine. Call it after the engine's Start. It returns an
// error if already started.
func (s *Scheduler) Start() error {
	s.mu.Lock()
	if s.running || s.cancel != nil {
		s.mu.Unlock()
		return errors.New("pull scheduler already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.running = true
	s.mu.Unlock()
	if re, ok := s.eng.(refsEngine); ok { // no copy of every check
		refs, _ := re.Refs()
		for _, r := range refs {
			cs := r.Load()
			s.OnCheck(cs.Check, false)
			s.OnState(cs.Check, cs.State)
		}
	} else {
		for _, cs := range s.eng.List() {
			s.OnCheck(cs.Check, false)
			s.OnState(cs.Check, cs.State)
		}
	}
	s.wg.Add(1)
	go s.loop(ctx)
	return nil
}

// Close stops scheduling, cancels the probes in flight, blocks until
// every goroutine the scheduler started has returned and closes the
// connections kept for the probes.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	cancel := s.cancel
	s.running = false
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
	s.conns.Close()
	return nil
}

// OnFlip implements model.Listener; flips change nothing here.
func (s *Scheduler) OnFlip(model.Transition) {}

// OnCheck implements model.CheckListener: it schedules a new pull
// check, recompiles a changed one (keeping its slot unless its interval
// changed) and forgets a deleted one.
func (s *Scheduler) OnCheck(c model.Check, deleted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[c.ID]
	if deleted || c.Kind != model.KindPull {
		if e != nil {
			s.queue.Remove(c.ID)
			delete(s.entries, c.ID)
		}
		return
	}
	interval := c.Schedule.Period
	if interval <= 0 {
		interval = time.Minute
	}
	if e == nil {
		e = &entry{id: c.ID}
		s.entries[c.ID] = e
	}
	if e.prober == nil && e.err == nil || !bytes.Equal(e.raw, c.Probe) {
		e.raw = append([]byte(nil), c.Probe...)
		e.prober, e.err = nil, nil
		var err error
		if e.prober, err = s.opts.compile(c); err != nil {
			e.err = fmt.Errorf("invalid probe: %w", err)
			s.opts.Logger.Error("pull check has an invalid probe", "check", c.Name, "id", c.ID, "err", err)
		}
	}
	if _, queued := s.queue.Get(c.ID); !queued || e.interval != interval {
		e.interval = interval
		s.queue.Set(c.ID, time.Now().Add(rand.N(interval)))
		s.wakeLocked()
	}
}

// OnState implements model.StateListener: paused checks are not probed.
func (s *Scheduler) OnState(c model.Check, st model.State) {
	if c.Kind != model.KindPull {
		return
	}
	s.mu.Lock()
	if e := s.entries[c.ID]; e != nil {
		e.paused = st.Status == model.StatusPaused
	}
	s.mu.Unlock()
}

func (s *Scheduler) wakeLocked() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

type job struct {
	e         *entry
	prober    runner
	err       error
	scheduled time.Time
}

func (s *Scheduler) loop(ctx context.Context) {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []job
	for {
		due = due[:0]
		s.mu.Lock()
		now := time.Now()
		for {
			id, scheduled, ok := s.queue.Peek()
			if !ok || scheduled.After(now) {
				break
			}
			e := s.entries[id]
			next := scheduled.Add(e.interval)
			if !next.After(now) { // fell behind by whole intervals: skip them
				next = next.Add(e.interval * (now.Sub(next)/e.interval + 1))
			}
			s.queue.Set(id, next)
			if e.paused || s.opts.Owns != nil && !s.opts.Owns(id) {
				continue
			}
			if e.inflight {
				s.skipped.Add(1)
				continue
			}
			e.inflight = true
			due = append(due, job{e: e, prober: e.prober, err: e.err, scheduled: scheduled})
		}
		wait := time.Hour
		if _, next, ok := s.queue.Peek(); ok {
			wait = next.Sub(now)
		}
		s.mu.Unlock()
		for _, j := range due {
			s.wg.Add(1)
			go s.run(ctx, j)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
	}
}

func (s *Scheduler) run(ctx context.Context, j job) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		j.e.inflight = false
		s.mu.Unlock()
	}()
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	started := time.Now()
	var r model.Result
	if j.err != nil {
		r = model.Result{Time: started.UTC(), Error: model.Truncate(j.err.Error(), model.MaxReasonLen)}
	} else {
		r = j.prober.Probe(ctx)
	}
	<-s.sem
	if ctx.Err() != nil {
		return // shutting down: a cancelled probe says nothing about the target
	}
	s.probes.Add(1)
	if !r.OK {
		s.failed.Add(1)
	}
	if s.opts.Observe != nil {
		s.opts.Observe(j.e.id, j.scheduled, started, r)
	}
	rctx, cancel := context.WithTimeout(ctx, s.opts.ReportTimeout)
	defer cancel()
	if _, err := s.eng.Report(rctx, j.e.id, r); err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
		s.opts.Logger.Warn("pull result not recorded", "id", j.e.id, "err", err)
	}
}

// Stats are counters of a Scheduler, for metrics.
type Stats struct {
	// Checks is the number of pull checks scheduled.
	Checks int
	// Probes counts the probes run, Failed those that failed.
	Probes, Failed int64
	// Skipped counts the turns skipped because the check's previous probe
	// was still running.
	Skipped int64
}

// Stats returns the scheduler's counters.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	n := len(s.entries)
	s.mu.Unlock()
	return Stats{Checks: n, Probes: s.probes.Load(), Failed: s.failed.Load(), Skipped: s.skipped.Load()}
}

// Check is a liveness check (a health.Checker): it fails when the
// scheduling goroutine has left a due probe unstarted for longer than
// Options.StallAfter, which only a stuck scheduler does.
func (s *Scheduler) Check(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, next, queued := s.queue.Peek()
	if !s.running || !queued {
		return nil
	}
	if late := time.Since(next); late > s.opts.StallAfter {
		return fmt.Errorf("pull scheduler stalled: a probe due %v ago was not started", late.Round(time.Second))
	}
	return nil
}

package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// DispatcherOptions configure a Dispatcher. The zero value is usable.
type DispatcherOptions struct {
	// Backoff is the retry schedule; its zero value gets its defaults.
	Backoff Backoff
	// MaxAttempts marks a row failed after this many failed attempts.
	// Default 0: retry for as long as it takes (the receiver may be down
	// for hours; the backoff caps at Backoff.Max).
	MaxAttempts int
	// AttemptTimeout bounds one Send (unless the notifier is an
	// notify.AttemptTimeouter). Default 10s.
	AttemptTimeout time.Duration
	// Concurrency is how many rows are sent at once. Default 16.
	Concurrency int
	// PerChannel is how many of them may be for one channel, so that a
	// receiver that hangs until the attempt timeout cannot hold every
	// slot. Default Concurrency/2 (at least 1).
	PerChannel int
	// BatchSize is how many pending rows a scan reads. Default 1000.
	BatchSize int
	// Coalesce sends a row due within this time of a scan with that scan,
	// so that retries spread by the jitter do not cost one outbox read
	// each. Default 100ms; negative means none.
	Coalesce time.Duration
	// ErrorRetry is how long a failed store read waits. Default 1s.
	ErrorRetry time.Duration
	// Logger: default slog.Default().
	Logger *slog.Logger
	// Now: default time.Now. Timers are real: tests use testing/synctest.
	Now func() time.Time
	// Rand returns a uniform number in [0, 1) for the jitter. Default
	// math/rand/v2.Float64.
	Rand func() float64
	// Policy is asked again (Recheck) when a row it held back comes due:
	// it may drop it (the check recovered inside the window) or hold it
	// longer. Default nil: held rows are sent when due.
	Policy Policy
	// OnResult is called after each attempt with the updated row and the
	// attempt's error (nil on delivery). For metrics and tests; it must
	// return quickly. Default nil.
	OnResult func(row model.Notification, err error)

	// The options below apply when the store is a store.OutboxClaimer
	// (PostgreSQL, several replicas: claim.go).

	// Name is this dispatcher's name in the claims it takes (the
	// outbox's claimed_by). Default: host name, process id and a random
	// suffix.
	Name string
	// ClaimTTL is how long a claimed row is reserved for this
	// dispatcher: another takes it after that (this one died). Default:
	// the longest attempt timeout of the channels times (1 +
	// ⌈Concurrency/PerChannel⌉), the most a claimed row can wait for its
	// channel's slot and then be attempted, plus 10s. Shorter, a row
	// whose attempt outlives its claim may be sent by another dispatcher
	// too (a duplicate, with the same key).
	ClaimTTL time.Duration
	// Poll is how often the outbox is read even when nothing woke the
	// dispatcher, for rows another replica enqueued and could not
	// deliver (it died). Default 2s.
	Poll time.Duration

	// StatusURL returns the status page's overview URL, which digests
	// link to (storm.go). Default nil: digests carry no link.
	StatusURL func() string
}

// Dispatcher delivers the outbox: every pending row whose NextAttempt has
// come is sent through its channel's Notifier; delivered rows are marked
// with a compare-and-set on their pending state, so a row is marked
// delivered once; failed ones are rescheduled with Backoff. It wakes when a
// flip is committed (it is a model.Listener: register it with the
// engine) and when its earliest retry is due; it does not poll.
//
// Over a store.OutboxClaimer (PostgreSQL shared by several replicas, one
// dispatcher each) rows are claimed before they are sent, as many as there
// are free slots, for ClaimTTL: any replica's dispatcher delivers any row,
// never two at once, and the rows of a replica that died mid-delivery are
// claimed by another when their claim ends (claim.go). It then also reads
// the outbox every Poll.
//
// Start starts its goroutine, Stop stops it and waits for it and for every
// attempt in flight. Rows still pending (including those whose Send was
// interrupted by Stop) are delivered after the next Start: nothing is lost
// across restarts. A crash between a receiver accepting a row and the row
// being marked sends it again on the next start: receivers deduplicate by
// Notification.Key (webhooks: the Idempotency-Key header).
//
// Channels can be replaced at any time with SetChannels (config reload).
// All methods are safe for concurrent use.
type Dispatcher struct {
	st      store.Store
	claimer store.OutboxClaimer // nil: the store is one process's, rows are read, not claimed
	opts    DispatcherOptions
	log     *slog.Logger

	wake  chan struct{} // capacity 1: scan the outbox
	freed chan struct{} // capacity 1: an attempt ended (slot free, maybe a retry time in soonest)

	scans, attempts, delivered, failed, retried atomic.Int64

	mu       sync.Mutex
	channels notify.Channels
	// inflight holds the rows being attempted (false) and those whose
	// attempt ended (true) since the last scan began: a scan skips both,
	// since its read may predate the outcome, and drops the ended ones
	// before its next read.
	inflight map[uuid.UUID]bool
	volatile map[uuid.UUID]*model.Notification // raised rows the store failed to enqueue
	soonest  time.Time                         // earliest retry set since the loop last looked
	release  bool                              // the next scan takes held rows as due (ReleaseHeld)
	busy     map[string]int                    // attempts in flight per channel
	storms   map[string]notify.Storm           // storm protection per channel (storm.go)
	storming map[string]*stormState            // per channel: rows sent in the window, next digest
	cancel   context.CancelFunc
	running  bool
	wg       sync.WaitGroup
}

var (
	_ model.Listener = (*Dispatcher)(nil)
)

// NewDispatcher returns a dispatcher over st's outbox sending through
// channels (by name, as in the rows' Channel).
func NewDispatcher(st store.Store, channels notify.Channels, opts DispatcherOptions) *Dispatcher {
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 10 * time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.PerChannel <= 0 {
		opts.PerChannel = max(opts.Concurrency/2, 1)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Coalesce == 0 {
		opts.Coalesce = 100 * time.Millisecond
	}
	if opts.Coalesce < 0 {
		opts.Coalesce = 0
	}
	if opts.ErrorRetry <= 0 {
		opts.ErrorRetry = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	claimer, _ := st.(store.OutboxClaimer)
	if claimer != nil {
		if opts.Name == "" {
			opts.Name = defaultName()
		}
		if opts.Poll <= 0 {
			opts.Poll = 2 * time.Second
		}
	}
	return &Dispatcher{
		st: st, claimer: claimer, opts: opts, log: log, wake: make(chan struct{}, 1), freed: make(chan struct{}, 1),
		channels: channels, inflight: map[uuid.UUID]bool{}, busy: map[string]int{}, volatile: map[uuid.UUID]*model.Notification{},
		storming: map[string]*stormState{},
	}
}

// SetChannels replaces the channels (config reload). Rows for a channel
// not configured (one a check names that was renamed or removed) are
// marked failed, with ErrUnknownChannel, when they come due.
func (d *Dispatcher) SetChannels(c notify.Channels) {
	d.mu.Lock()
	d.channels = c
	d.mu.Unlock()
	d.Wake()
}

// Wake makes the dispatcher scan the outbox now (rows were added).
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// ReleaseHeld makes the dispatcher ask the Policy again at once about
// every row it holds back, as if their hold had ended: a window or
// silence that held them was removed. The Policy holds again those still
// covered by another window (or waiting for a parent), drops those whose
// check left the announced state, and the rest are sent now. Rows being
// retried after a failed attempt keep their backoff.
func (d *Dispatcher) ReleaseHeld() {
	d.mu.Lock()
	d.release = true
	d.mu.Unlock()
	d.Wake()
}

// held reports whether r is a row the Policy holds back (not one waiting
// for a retry after a failed attempt).
func held(r model.Notification) bool {
	if r.Attempts > 0 && !strings.HasPrefix(r.LastError, heldPrefix) {
		return false
	}
	n, err := Decode(r)
	return err == nil && !n.HeldUntil.IsZero()
}

// Prefixes of LastError for the Policy's outcomes.
const (
	heldPrefix    = "held: "
	droppedPrefix = "dropped: "
)

// OnFlip implements model.Listener: the flip's rows are committed, scan
// now; and tell the channels that observe flips.
func (d *Dispatcher) OnFlip(t model.Transition) {
	d.Wake()
	d.mu.Lock()
	obs := make([]notify.Observer, 0, 4)
	for _, n := range d.channels {
		if o, ok := n.(notify.Observer); ok {
			obs = append(obs, o)
		}
	}
	d.mu.Unlock()
	for _, o := range obs {
		o.Observe(t.Flip)
	}
}

// Start starts delivering, in a goroutine that runs until Stop (ctx's
// values are kept, its cancellation is not: Stop is the way to end it).
// It returns an error if already started. A stopped dispatcher may be
// started again.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running {
		return errors.New("dispatcher already started")
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.cancel, d.running = cancel, true
	d.wg.Add(1)
	go d.loop(ctx)
	return nil
}

// Stop stops delivering and blocks until the loop and every attempt in
// flight have returned (an attempt's context is cancelled: its row stays
// pending and is not counted as failed). Stop on a stopped dispatcher
// returns at once.
func (d *Dispatcher) Stop() {
	d.mu.Lock()
	cancel := d.cancel
	d.cancel, d.running = nil, false
	d.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	d.wg.Wait()
}

// DispatcherStats are counters since NewDispatcher (for metrics).
type DispatcherStats struct {
	// Scans counts reads of the outbox.
	Scans int64
	// Attempts counts Send calls; Delivered, Failed and Retried their
	// outcomes (a retry is a failed attempt rescheduled).
	Attempts, Delivered, Failed, Retried int64
	// Volatile is how many raised rows are kept in memory (the store
	// failed to enqueue them).
	Volatile int
}

// Stats returns the counters.
func (d *Dispatcher) Stats() DispatcherStats {
	d.mu.Lock()
	v := len(d.volatile)
	d.mu.Unlock()
	return DispatcherStats{Scans: d.scans.Load(), Attempts: d.attempts.Load(), Delivered: d.delivered.Load(),
		Failed: d.failed.Load(), Retried: d.retried.Load(), Volatile: v}
}

// Raise sends n (an event no flip caused, such as notify.EventGaveUp) to each of
// channels once. n.FlipID, when nil, is derived from the check, the event
// and the time, so raising the same event twice at the same time adds one
// row per channel. The rows are enqueued in the store (durable); when that
// fails they are kept in memory, delivered with the same retries but lost
// by a restart.
func (d *Dispatcher) Raise(n notify.Notification, channels []string) {
	now := d.opts.Now()
	if n.Time.IsZero() {
		n.Time = now
	}
	if n.FlipID == uuid.Nil {
		n.FlipID = uuid.NewSHA1(n.CheckID.UUID(), []byte(n.Event+"@"+n.Time.UTC().Format(time.RFC3339Nano)))
	}
	var rows []model.Notification
	for _, c := range channels {
		n.Channel = c
		r, err := Row(n, now, now)
		if err != nil {
			d.log.Error("outbox: raise", "channel", c, "err", err)
			continue
		}
		rows = append(rows, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := d.st.EnqueueNotifications(ctx, rows)
	cancel()
	if err == nil {
		d.Wake()
		return
	}
	d.log.Error("outbox: enqueue failed; keeping the rows in memory", "err", err)
	d.mu.Lock()
	for i := range rows {
		d.volatile[rows[i].ID] = &rows[i]
	}
	d.mu.Unlock()
	d.Wake()
}

func (d *Dispatcher) loop(ctx context.Context) {
	defer d.wg.Done()
	l := &dispatchLoop{d: d, ctx: ctx, sem: make(chan struct{}, d.opts.Concurrency), gathered: map[string][]model.Notification{}}
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := l.scan()
	for {
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(max(next.Sub(d.opts.Now()), 0))
		}
		select {
		case <-ctx.Done():
			l.abandon()
			return
		case <-d.wake:
			next = l.scan()
		case <-timer.C:
			next = l.scan()
		case <-d.freed: // slots freed: start queued rows; a retry may be due sooner
			d.mu.Lock()
			s := d.soonest
			d.soonest = time.Time{}
			d.mu.Unlock()
			if !s.IsZero() && (next.IsZero() || s.Before(next)) {
				next = s
			}
			l.start()
			if len(l.queue) == 0 && l.more {
				next = l.scan() // the last read was capped at BatchSize
			}
		}
	}
}

// dispatchLoop is the state of the loop goroutine.
type dispatchLoop struct {
	d     *Dispatcher
	ctx   context.Context
	sem   chan struct{}
	queue []model.Notification // due rows waiting for a slot, earliest due first
	more  bool                 // the last read returned BatchSize rows
	// groups are the digests in the queue: a queued row whose ID is a key
	// here stands for these rows (storm.go).
	groups map[uuid.UUID][]model.Notification
	// gathered are rows claimed (store.OutboxClaimer) for a channel in an
	// alert storm, waiting for its next digest.
	gathered map[string][]model.Notification
}

// scan reads the pending rows, queues the due ones that are not in flight
// (earliest due first, so that a row never tried goes before rows being
// retried and an outage does not starve new notifications), starts as
// many as the concurrency allows, and returns when the earliest other row
// is due (zero: none).
func (l *dispatchLoop) scan() time.Time {
	d := l.d
	if d.claimer != nil {
		return l.claim()
	}
	d.mu.Lock()
	for id, ended := range d.inflight {
		if ended {
			delete(d.inflight, id)
		}
	}
	release := d.release
	d.release = false
	d.mu.Unlock()
	d.scans.Add(1)
	rows, err := d.st.Notifications(l.ctx, store.NotificationQuery{State: model.NotificationPending, Limit: d.opts.BatchSize})
	if err != nil {
		if l.ctx.Err() == nil {
			d.log.Error("outbox: read pending rows", "err", err)
		}
		if release {
			d.mu.Lock()
			d.release = true
			d.mu.Unlock()
		}
		return d.opts.Now().Add(d.opts.ErrorRetry)
	}
	l.more = len(rows) >= d.opts.BatchSize
	d.mu.Lock()
	for _, v := range d.volatile {
		rows = append(rows, *v)
	}
	d.mu.Unlock()
	now := d.opts.Now()
	slices.SortStableFunc(rows, func(a, b model.Notification) int { return a.NextAttempt.Compare(b.NextAttempt) })
	var next time.Time
	l.queue = l.queue[:0]
	d.mu.Lock()
	for _, r := range rows {
		if _, busy := d.inflight[r.ID]; busy {
			continue
		}
		if r.NextAttempt.After(now.Add(d.opts.Coalesce)) && !(release && held(r)) {
			if next.IsZero() || r.NextAttempt.Before(next) {
				next = r.NextAttempt
			}
			continue
		}
		l.queue = append(l.queue, r)
	}
	d.mu.Unlock()
	next = l.storms(now, next)
	l.start()
	return next
}

// start starts queued rows while slots are free (a row whose channel has
// PerChannel attempts in flight waits in the queue).
func (l *dispatchLoop) start() {
	d := l.d
	kept := l.queue[:0]
	for i, r := range l.queue {
		d.mu.Lock()
		full := d.busy[r.Channel] >= d.opts.PerChannel
		d.mu.Unlock()
		if full {
			kept = append(kept, r)
			continue
		}
		select {
		case l.sem <- struct{}{}:
		default:
			kept = append(kept, l.queue[i:]...) // an attempt's end frees a slot
			l.queue = kept
			return
		}
		group, isGroup := l.groups[r.ID]
		delete(l.groups, r.ID)
		d.mu.Lock()
		d.inflight[r.ID] = false
		for _, g := range group {
			d.inflight[g.ID] = false
		}
		d.busy[r.Channel]++
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			var retryAt time.Time
			if isGroup {
				retryAt = d.attemptDigest(l.ctx, r.Channel, group)
			} else {
				retryAt = d.attempt(l.ctx, r)
			}
			<-l.sem
			d.mu.Lock()
			for _, g := range group {
				d.inflight[g.ID] = true
			}
			d.inflight[r.ID] = true // the next read may predate the outcome: skip it once
			if d.busy[r.Channel]--; d.busy[r.Channel] == 0 {
				delete(d.busy, r.Channel)
			}
			if !retryAt.IsZero() && (d.soonest.IsZero() || retryAt.Before(d.soonest)) {
				d.soonest = retryAt
			}
			d.mu.Unlock()
			select {
			case d.freed <- struct{}{}:
			default:
			}
		}()
	}
	l.queue = kept
}

// maxLastError caps the error text stored on a row.
const maxLastError = 1024

// attempt sends r once and records the outcome; it returns when the row is
// due again if it stays pending (zero otherwise).
func (d *Dispatcher) attempt(ctx context.Context, r model.Notification) time.Time {
	n, err := Decode(r)
	d.mu.Lock()
	ch, ok := d.channels[r.Channel]
	d.mu.Unlock()
	switch {
	case err != nil:
		err = notify.Permanent(err)
	case !ok:
		// The check names a notifier the config does not have (renamed
		// or removed since the check was given it): fail the row, so
		// the flip's actions show it, rather than drop it silently.
		err = notify.Permanent(fmt.Errorf("%w %q: the config has no notifier of that name (renamed or removed?); not retried", ErrUnknownChannel, r.Channel))
	case !n.HeldUntil.IsZero() && d.opts.Policy != nil:
		if at, done := d.recheck(ctx, r, n); done {
			return at
		}
		fallthrough
	default:
		n.Attempt, n.Sent = r.Attempts+1, d.opts.Now().UTC()
		timeout := d.opts.AttemptTimeout
		if t, ok := ch.(notify.AttemptTimeouter); ok && t.AttemptTimeout() > 0 {
			timeout = t.AttemptTimeout()
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		d.attempts.Add(1)
		err = safeSend(actx, ch, n)
		cancel()
	}
	if err != nil && ctx.Err() != nil {
		d.unclaim(ctx, r) // stopped mid-attempt: leave the row as it was, for any dispatcher
		return time.Time{}
	}
	var retry *notify.RetryAtError
	switch {
	case err == nil:
		r.Attempts++
		d.finish(ctx, r, model.NotificationDelivered, "", nil)
	case errors.As(err, &retry) && !(retry.Failed && d.opts.MaxAttempts > 0 && r.Attempts+1 >= d.opts.MaxAttempts):
		if retry.Failed {
			r.Attempts++
		}
		r.NextAttempt = retry.At
		d.finish(ctx, r, model.NotificationPending, capErr(err), err)
		return r.NextAttempt
	case errors.Is(err, notify.ErrPermanent) || d.opts.MaxAttempts > 0 && r.Attempts+1 >= d.opts.MaxAttempts:
		r.Attempts++
		d.finish(ctx, r, model.NotificationFailed, capErr(err), err)
	default:
		r.Attempts++
		r.NextAttempt = d.opts.Now().Add(d.opts.Backoff.Delay(r.Attempts, d.opts.Rand))
		d.finish(ctx, r, model.NotificationPending, capErr(err), err)
		return r.NextAttempt
	}
	return time.Time{}
}

// recheck asks the Policy about a held row that came due; it reports
// whether it dealt with the row (dropped, or held longer: until at).
func (d *Dispatcher) recheck(ctx context.Context, r model.Notification, n notify.Notification) (at time.Time, done bool) {
	now := d.opts.Now()
	v := d.opts.Policy.Recheck(n, now)
	switch {
	case v.Drop:
		d.finish(ctx, r, model.NotificationFailed, droppedPrefix+v.Reason, nil)
		return time.Time{}, true
	case v.HoldUntil.After(now):
		r.NextAttempt = v.HoldUntil
		d.finish(ctx, r, model.NotificationPending, heldPrefix+v.Reason, nil)
		return r.NextAttempt, true
	}
	return time.Time{}, false
}

func capErr(err error) string {
	s := err.Error()
	if len(s) > maxLastError {
		s = s[:maxLastError]
	}
	return s
}

// finish records the outcome with a compare-and-set on "pending".
func (d *Dispatcher) finish(ctx context.Context, r model.Notification, state model.NotificationState, lastErr string, sendErr error) {
	r.State, r.LastError = state, lastErr
	if state == model.NotificationDelivered {
		r.Delivered = d.opts.Now().UTC()
	}
	// The check's UUID is its ping secret: logs name it by its unique key.
	log := d.log.With("channel", r.Channel, "unique_key", model.UniqueKey(r.CheckID), "flip", r.FlipID, "attempt", r.Attempts)
	policy := sendErr == nil // held or dropped by the Policy, not by a failed attempt
	switch {
	case state == model.NotificationDelivered:
		d.delivered.Add(1)
		log.Debug("outbox: delivered")
	case state == model.NotificationFailed && policy:
		d.failed.Add(1)
		log.Info("outbox: dropped", "reason", strings.TrimPrefix(lastErr, droppedPrefix))
	case state == model.NotificationFailed:
		d.failed.Add(1)
		log.Error("outbox: failed, not retried", "err", lastErr)
	case policy:
		d.retried.Add(1)
		log.Info("outbox: held", "reason", strings.TrimPrefix(lastErr, heldPrefix), "until", r.NextAttempt)
	default:
		d.retried.Add(1)
		log.Warn("outbox: attempt failed", "err", lastErr, "next", r.NextAttempt)
	}
	d.record(ctx, r, log)
	if d.opts.OnResult != nil {
		d.opts.OnResult(r, sendErr)
	}
}

// record writes r's outcome (r.State) with a compare-and-set on
// "pending", or keeps it in memory for a volatile row.
func (d *Dispatcher) record(ctx context.Context, r model.Notification, log *slog.Logger) {
	d.mu.Lock()
	if v := d.volatile[r.ID]; v != nil {
		if r.State == model.NotificationPending {
			*v = r
		} else {
			delete(d.volatile, r.ID)
		}
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	// The outcome is recorded even when Stop is under way: the
	// receiver has it, and a restart must not send it again.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	ok, err := d.st.UpdateNotification(wctx, r, model.NotificationPending)
	cancel()
	if err != nil {
		log.Error("outbox: record outcome", "err", err)
	} else if !ok {
		log.Warn("outbox: row was no longer pending (another deliverer marked it)")
	}
}

// safeSend calls ch.Send, turning a panic into an error.
func safeSend(ctx context.Context, ch notify.Notifier, n notify.Notification) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("notifier panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return ch.Send(ctx, n)
}

package outbox

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Alert storms. A channel with storm protection (notify.Storm, set with
// SetStorms) sends its rows one by one while at most Threshold of them
// came due within Window; beyond that, the channel is in a storm: its due
// rows are gathered for Pace (so the burst lands in one message), then
// sent as one digest (notify.EventDigest) listing them, at most one
// digest per Pace, until a window passes with no more than Threshold
// rows. The rows stay pending in the store until the digest is accepted;
// then every one is marked delivered (a failed digest reschedules them
// all together, with one backoff). What is counted is in memory, per
// dispatcher: after a restart the pending rows are due at once and, if
// more than Threshold, digested; with several replicas each counts what it
// sends, and the digest's claim takes every due row of the channel.

// stormState is what the dispatcher remembers of a channel's recent rows.
type stormState struct {
	sent []stamp   // rows sent (one by one or digested) within the window, oldest first
	next time.Time // in a storm: the next digest is not sent before; zero: no storm
}

type stamp struct {
	at time.Time
	n  int
}

func (s *stormState) count(since time.Time) int {
	i := 0
	for i < len(s.sent) && !s.sent[i].at.After(since) {
		i++
	}
	s.sent = s.sent[i:]
	n := 0
	for _, st := range s.sent {
		n += st.n
	}
	return n
}

// SetStorms sets the channels' storm protection (by channel name; a
// channel not in storms has none). Config reload: a channel's counts are
// kept while it keeps its protection.
func (d *Dispatcher) SetStorms(storms map[string]notify.Storm) {
	m := map[string]notify.Storm{}
	for c, s := range storms {
		if s.Enabled() {
			m[c] = s
		}
	}
	d.mu.Lock()
	d.storms = m
	for c := range d.storming {
		if _, ok := m[c]; !ok {
			delete(d.storming, c)
		}
	}
	d.mu.Unlock()
	d.Wake()
}

// paced returns the channels in a storm whose next digest is not due yet
// at now, and the earliest time one is.
func (d *Dispatcher) paced(now time.Time) (chans []string, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for c, st := range d.storming {
		if st.next.After(now) {
			chans = append(chans, c)
			if until.IsZero() || st.next.Before(until) {
				until = st.next
			}
		}
	}
	slices.Sort(chans)
	return chans, until
}

// storms takes the queued rows of channels with storm protection out of
// the queue when the channel is in a storm: gathered until its next digest,
// then queued as one digest (a row standing for them, in l.groups). It
// returns next, or the earliest next digest if sooner.
func (l *dispatchLoop) storms(now, next time.Time) time.Time {
	d := l.d
	d.mu.Lock()
	storms := d.storms
	d.mu.Unlock()
	if len(storms) == 0 {
		return next
	}
	due := map[string][]model.Notification{}
	var order []string
	kept := l.queue[:0]
	for _, r := range l.queue {
		s := storms[r.Channel]
		if _, group := l.groups[r.ID]; group || !s.Enabled() || held(r) {
			kept = append(kept, r)
			continue
		}
		if _, err := Decode(r); err != nil {
			kept = append(kept, r) // failed on its own
			continue
		}
		if len(due[r.Channel]) == 0 {
			order = append(order, r.Channel)
		}
		due[r.Channel] = append(due[r.Channel], r)
	}
	for c := range l.gathered {
		if len(due[c]) == 0 {
			order = append(order, c)
		}
	}
	l.queue = kept
	for _, c := range order {
		s, rows := storms[c], due[c]
		d.mu.Lock()
		st := d.storming[c]
		if st == nil {
			st = &stormState{}
			d.storming[c] = st
		}
		recent := st.count(now.Add(-s.Window))
		waiting := len(rows) + len(l.gathered[c])
		if recent+waiting <= s.Threshold && !st.next.After(now) {
			st.next = time.Time{} // no storm, or it ended
			if waiting > 0 {
				st.sent = append(st.sent, stamp{now, waiting})
			}
			d.mu.Unlock()
			l.queue = append(l.queue, rows...)
			l.queue = append(l.queue, l.gathered[c]...)
			delete(l.gathered, c)
			continue
		}
		if st.next.IsZero() {
			st.next = now.Add(s.Pace())
			d.log.Warn("outbox: alert storm: digesting the channel's notifications", "channel", c,
				"due", waiting, "sent_in_window", recent, "threshold", s.Threshold, "window", s.Window, "first_digest", st.next)
		}
		if st.next.After(now) {
			d.mu.Unlock()
			if d.claimer != nil {
				l.gathered[c] = append(l.gathered[c], rows...) // claimed: kept for the digest
			} // else they stay pending in the store and are read again
			if next.IsZero() || st.next.Before(next) {
				next = st.next
			}
			continue
		}
		d.mu.Unlock()
		group := append(l.gathered[c], rows...)
		delete(l.gathered, c)
		if d.claimer != nil {
			group = append(group, l.claimChannel(c, now, group)...)
		}
		if len(group) == 0 {
			continue
		}
		d.mu.Lock()
		st.sent = append(st.sent, stamp{now, len(group)})
		st.next = now.Add(s.Pace())
		d.mu.Unlock()
		if next.IsZero() || st.next.Before(next) {
			next = st.next
		}
		if l.groups == nil {
			l.groups = map[uuid.UUID][]model.Notification{}
		}
		id := uuid.New()
		l.groups[id] = group
		l.queue = append(l.queue, model.Notification{ID: id, Channel: c, NextAttempt: group[0].NextAttempt, State: model.NotificationPending})
	}
	slices.SortStableFunc(l.queue, func(a, b model.Notification) int { return a.NextAttempt.Compare(b.NextAttempt) })
	return next
}

// claimChannel claims the due rows of channel c beyond those it has (for
// a digest), up to BatchSize in all.
func (l *dispatchLoop) claimChannel(c string, now time.Time, have []model.Notification) []model.Notification {
	d := l.d
	limit := d.opts.BatchSize - len(have)
	if limit <= 0 {
		return nil
	}
	got, err := d.claimer.ClaimNotifications(l.ctx, store.ClaimQuery{By: d.opts.Name, DueBefore: now.Add(d.opts.Coalesce),
		Only: []string{c}, Limit: limit, TTL: d.claimTTL()})
	if err != nil {
		if l.ctx.Err() == nil {
			d.log.Error("outbox: claim a digest's rows", "channel", c, "err", err)
		}
		return nil
	}
	var out []model.Notification
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range got.Rows {
		if ended, ok := d.inflight[r.ID]; ok && !ended || held(r) || slices.ContainsFunc(have, func(h model.Notification) bool { return h.ID == r.ID }) {
			if held(r) {
				l.queue = append(l.queue, r) // claimed: attempted on its own (the Policy rechecks it)
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// attemptDigest sends rows (one channel's, in a storm) as one digest and
// records the outcome on every row: delivered when the receiver accepted
// it, else all rescheduled together (or failed). It returns when they are
// due again (zero: not pending).
func (d *Dispatcher) attemptDigest(ctx context.Context, channel string, rows []model.Notification) time.Time {
	d.mu.Lock()
	ch, ok := d.channels[channel]
	d.mu.Unlock()
	ns := make([]notify.Notification, 0, len(rows))
	ids := make([]uuid.UUID, 0, len(rows))
	attempts := 0
	for _, r := range rows {
		n, _ := Decode(r) // decodable: checked when grouped
		ns = append(ns, n)
		ids = append(ids, r.ID)
		attempts = max(attempts, r.Attempts)
	}
	var url string
	if d.opts.StatusURL != nil {
		url = d.opts.StatusURL()
	}
	now := d.opts.Now()
	n := notify.NewDigest(channel, ns, url, now)
	n.Key = notify.DigestKey(channel, ids)
	n.Attempt, n.Sent = attempts+1, now.UTC()
	var err error
	if !ok {
		err = notify.Permanent(ErrUnknownChannel)
	} else {
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
		for _, r := range rows {
			d.unclaim(ctx, r)
		}
		return time.Time{}
	}
	log := d.log.With("channel", channel, "key", n.Key, "rows", len(rows), "attempt", n.Attempt)
	state, lastErr, at := model.NotificationPending, "", time.Time{}
	var retry *notify.RetryAtError
	switch {
	case err == nil:
		state = model.NotificationDelivered
		d.delivered.Add(int64(len(rows)))
		log.Info("outbox: digest delivered")
	case errors.As(err, &retry) && !(d.opts.MaxAttempts > 0 && attempts+1 >= d.opts.MaxAttempts):
		lastErr, at = capErr(err), retry.At
	case errors.Is(err, notify.ErrPermanent) || d.opts.MaxAttempts > 0 && attempts+1 >= d.opts.MaxAttempts:
		state, lastErr = model.NotificationFailed, capErr(err)
		d.failed.Add(int64(len(rows)))
		log.Error("outbox: digest failed, not retried", "err", lastErr)
	default:
		lastErr, at = capErr(err), now.Add(d.opts.Backoff.Delay(attempts+1, d.opts.Rand))
	}
	if state == model.NotificationPending {
		d.retried.Add(int64(len(rows)))
		log.Warn("outbox: digest attempt failed", "err", lastErr, "next", at)
	}
	for _, r := range rows {
		r.State, r.LastError = state, lastErr
		r.Attempts = attempts + 1
		if state == model.NotificationDelivered {
			r.Delivered = now.UTC()
		}
		if state == model.NotificationPending {
			r.NextAttempt = at
		}
		// A claimed row is free again once recorded: this dispatcher's
		// next claim may take it while the digest's other rows are being
		// recorded, and must not skip it as in flight. Its claim holds
		// until recorded, so marking it ended first is safe; a row read
		// (not claimed) is marked after, so a read that predates the
		// outcome skips it once.
		d.mu.Lock()
		if d.claimer != nil {
			d.inflight[r.ID] = true
		}
		d.mu.Unlock()
		d.record(ctx, r, log)
		if d.opts.OnResult != nil {
			d.opts.OnResult(r, err)
		}
	}
	return at
}

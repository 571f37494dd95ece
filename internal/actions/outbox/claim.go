package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// claim is scan over a store.OutboxClaimer (several replicas, one
// dispatcher each, on one database): it claims as many due rows as there
// are free slots (none of a channel whose slots are all taken), queues
// them with the due rows kept in memory, starts them, and returns when it
// should look again: the earliest NextAttempt of the rest, the end of a
// claim another dispatcher holds on a due row (it may have died), and at
// the latest Poll from now (rows another replica enqueued).
//
// Rows are claimed only when a slot is free for them, so a claimed row
// waits for its channel's slot at most ⌈Concurrency/PerChannel⌉ attempts
// (see DispatcherOptions.ClaimTTL). A dispatcher stopped mid-attempt ends
// its claims (unclaim); one that dies leaves them to their TTL.
func (l *dispatchLoop) claim() time.Time {
	d := l.d
	d.mu.Lock()
	for id, ended := range d.inflight {
		if ended {
			delete(d.inflight, id)
		}
	}
	release := d.release
	d.release = false
	taken := map[string]int{} // attempts in flight and queued, per channel
	for ch, n := range d.busy {
		taken[ch] = n
	}
	d.mu.Unlock()
	for _, r := range l.queue {
		taken[r.Channel]++
	}
	now := d.opts.Now()
	paced, pacedUntil := d.paced(now) // channels in an alert storm waiting for their next digest
	for _, ch := range paced {
		taken[ch] = d.opts.PerChannel
	}
	var exclude []string
	for ch, n := range taken {
		if n >= d.opts.PerChannel {
			exclude = append(exclude, ch)
		}
	}
	slices.Sort(exclude)
	free := max(cap(l.sem)-len(l.sem)-len(l.queue), 0)
	d.scans.Add(1)
	retry := func() time.Time {
		if release {
			d.mu.Lock()
			d.release = true
			d.mu.Unlock()
		}
		return now.Add(d.opts.ErrorRetry)
	}
	var also []uuid.UUID
	if release && free == 0 {
		d.mu.Lock()
		d.release = true // for the scan a freed slot brings (more, below)
		d.mu.Unlock()
	}
	if release && free > 0 {
		rows, err := d.st.Notifications(l.ctx, store.NotificationQuery{State: model.NotificationPending, Limit: d.opts.BatchSize})
		if err != nil {
			if l.ctx.Err() == nil {
				d.log.Error("outbox: read pending rows", "err", err)
			}
			return retry()
		}
		for _, r := range rows {
			if held(r) {
				also = append(also, r.ID)
			}
		}
	}
	got, err := d.claimer.ClaimNotifications(l.ctx, store.ClaimQuery{By: d.opts.Name, DueBefore: now.Add(d.opts.Coalesce),
		Also: also, Exclude: exclude, Limit: free, TTL: d.claimTTL()})
	if err != nil {
		if l.ctx.Err() == nil {
			d.log.Error("outbox: claim pending rows", "err", err)
		}
		return retry()
	}
	// More may be due than was claimed: look again when a slot frees.
	l.more = free == 0 || len(got.Rows) >= free || len(exclude) > 0
	next := now.Add(d.opts.Poll)
	if !got.Next.IsZero() && got.Next.Before(next) {
		next = got.Next
	}
	if !pacedUntil.IsZero() && pacedUntil.Before(next) {
		next = pacedUntil
	}
	if got.ClaimEnds > 0 && now.Add(got.ClaimEnds).Before(next) {
		next = now.Add(got.ClaimEnds)
	}
	d.mu.Lock()
	for _, r := range got.Rows {
		// In flight here: its claim outlived by its attempt, which
		// records its outcome. An attempt that ended since the scan began
		// recorded it before this claim: the row is due again.
		if ended, ok := d.inflight[r.ID]; !ok || ended {
			l.queue = append(l.queue, r)
		}
	}
	for _, v := range d.volatile {
		if _, busy := d.inflight[v.ID]; busy {
			continue
		}
		if v.NextAttempt.After(now.Add(d.opts.Coalesce)) && !(release && held(*v)) {
			if v.NextAttempt.Before(next) {
				next = v.NextAttempt
			}
			continue
		}
		if !slices.ContainsFunc(l.queue, func(q model.Notification) bool { return q.ID == v.ID }) {
			l.queue = append(l.queue, *v)
		}
	}
	d.mu.Unlock()
	slices.SortStableFunc(l.queue, func(a, b model.Notification) int { return a.NextAttempt.Compare(b.NextAttempt) })
	next = l.storms(now, next)
	l.start()
	return next
}

// abandon ends the claims of the rows queued and not started, when the
// loop stops.
func (l *dispatchLoop) abandon() {
	for _, r := range l.queue {
		if g, ok := l.groups[r.ID]; ok {
			for _, m := range g {
				l.d.unclaim(l.ctx, m)
			}
			continue
		}
		l.d.unclaim(l.ctx, r)
	}
	for _, g := range l.gathered {
		for _, m := range g {
			l.d.unclaim(l.ctx, m)
		}
	}
	l.queue, l.groups, l.gathered = nil, nil, nil
}

// claimTTL is DispatcherOptions.ClaimTTL, or its default for the channels
// configured now.
func (d *Dispatcher) claimTTL() time.Duration {
	if d.opts.ClaimTTL > 0 {
		return d.opts.ClaimTTL
	}
	longest := d.opts.AttemptTimeout
	d.mu.Lock()
	for _, ch := range d.channels {
		if t, ok := ch.(notify.AttemptTimeouter); ok && t.AttemptTimeout() > longest {
			longest = t.AttemptTimeout()
		}
	}
	d.mu.Unlock()
	waits := (d.opts.Concurrency + d.opts.PerChannel - 1) / d.opts.PerChannel
	return longest*time.Duration(1+waits) + 10*time.Second
}

// unclaim ends the claim on r, unchanged, when an attempt was interrupted
// by Stop, so that another dispatcher may take it at once rather than at
// the end of the claim. Rows of a store without claims, and rows kept in
// memory, have none.
func (d *Dispatcher) unclaim(ctx context.Context, r model.Notification) {
	d.mu.Lock()
	_, volatile := d.volatile[r.ID]
	d.mu.Unlock()
	if d.claimer == nil || volatile {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := d.st.UpdateNotification(wctx, r, model.NotificationPending); err != nil {
		d.log.Warn("outbox: end the claim of an interrupted attempt (another dispatcher takes the row when the claim ends)", "err", err)
	}
}

// defaultName is DispatcherOptions.Name's default: the host, the process
// and a random suffix (two dispatchers of one process differ).
func defaultName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "vitals"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b)
}

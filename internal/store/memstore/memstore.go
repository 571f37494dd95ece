// Package memstore is an in-memory store.Store: nothing survives the
// process. It is the reference implementation of the contract (it passes
// storetest.Run), the store of unit tests, and the baseline of the SQLite
// store's benchmarks.
package memstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// PingRetention is how many pings per check are kept. Default
	// store.DefaultPingRetention.
	PingRetention int
}

// Store is an in-memory store.Store, safe for concurrent use.
type Store struct {
	opts Options

	mu     sync.RWMutex
	closed bool
	checks map[model.CheckID]*record
	flips  []model.Flip // all checks, in insertion order
	outbox []model.Notification
	policy map[model.CheckID]store.PolicyState
	secret []byte // InstallationSecret, made on the first call
	// silences are the store.SilenceStore's (silences.go).
	silences map[uuid.UUID]model.Silence
}

type record struct {
	check model.Check
	// retired is when RetireCheck took it out of service; zero while live.
	retired time.Time
	state   model.State
	pings   []model.Ping // oldest first
	uptime  map[time.Time]model.UptimeDay
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New(opts Options) *Store {
	if opts.PingRetention <= 0 {
		opts.PingRetention = store.DefaultPingRetention
	}
	return &Store{opts: opts, checks: make(map[model.CheckID]*record), policy: make(map[model.CheckID]store.PolicyState),
		silences: make(map[uuid.UUID]model.Silence)}
}

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

// cloneCheck returns the copy of c the store keeps: its Redacted form (no
// secret value is stored, as in a file store).
func cloneCheck(c model.Check) model.Check {
	c = c.Redacted()
	c.Tags = slices.Clone(c.Tags)
	c.Routes = model.Routes{Down: slices.Clone(c.Routes.Down), Up: slices.Clone(c.Routes.Up), Flapping: slices.Clone(c.Routes.Flapping), Late: slices.Clone(c.Routes.Late), Cert: slices.Clone(c.Routes.Cert)}
	c.Probe = bytes.Clone(c.Probe)
	return c
}

// InstallationSecret implements store.Store: made on the first call, kept
// for the life of the Store (which is the life of its data).
func (s *Store) InstallationSecret(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if s.secret == nil {
		s.secret = make([]byte, store.InstallationSecretLen)
		rand.Read(s.secret) // never fails (crypto/rand)
	}
	return bytes.Clone(s.secret), nil
}

// CreateCheck implements store.Store.
func (s *Store) CreateCheck(ctx context.Context, c model.Check, st model.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, ok := s.checks[c.ID]; ok {
		return fmt.Errorf("check %s: %w", c.ID, store.ErrExists)
	}
	s.checks[c.ID] = &record{check: cloneCheck(c), state: st.Clone(), uptime: map[time.Time]model.UptimeDay{}}
	return nil
}

// UpdateCheck implements store.Store.
func (s *Store) UpdateCheck(ctx context.Context, c model.Check) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	r, ok := s.live(c.ID)
	if !ok {
		return fmt.Errorf("check %s: %w", c.ID, store.ErrNotFound)
	}
	r.check = cloneCheck(c)
	return nil
}

// DeleteCheck implements store.Store.
func (s *Store) DeleteCheck(ctx context.Context, id model.CheckID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, ok := s.checks[id]; !ok {
		return fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	s.deleteLocked(id)
	return nil
}

func (s *Store) deleteLocked(id model.CheckID) {
	delete(s.checks, id)
	delete(s.policy, id)
	s.flips = slices.DeleteFunc(s.flips, func(f model.Flip) bool { return f.CheckID == id })
	s.outbox = slices.DeleteFunc(s.outbox, func(n model.Notification) bool { return n.CheckID == id })
}

// live returns the record of a check that is stored and not retired.
func (s *Store) live(id model.CheckID) (*record, bool) {
	r, ok := s.checks[id]
	if !ok || !r.retired.IsZero() {
		return nil, false
	}
	return r, true
}

// RetireCheck implements store.Store.
func (s *Store) RetireCheck(ctx context.Context, id model.CheckID, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	r, ok := s.live(id)
	if !ok {
		return fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	r.retired = at.UTC()
	if r.retired.IsZero() { // zero means live
		r.retired = time.Unix(0, 1).UTC()
	}
	return nil
}

// RestoreCheck implements store.Store.
func (s *Store) RestoreCheck(ctx context.Context, c model.Check) (model.Check, model.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return model.Check{}, model.State{}, err
	}
	r, ok := s.checks[c.ID]
	if !ok || r.retired.IsZero() {
		return model.Check{}, model.State{}, fmt.Errorf("retired check %s: %w", c.ID, store.ErrNotFound)
	}
	c.Created = r.check.Created
	r.check, r.retired = cloneCheck(c), time.Time{}
	return cloneCheck(r.check), r.state.Clone(), nil
}

// RetiredChecks implements store.Store.
func (s *Store) RetiredChecks(ctx context.Context) ([]store.RetiredCheck, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s.retiredLocked(func(time.Time) bool { return true }), nil
}

// retiredLocked returns the retired checks whose retirement time keep
// accepts, ordered by id.
func (s *Store) retiredLocked(keep func(retired time.Time) bool) []store.RetiredCheck {
	var out []store.RetiredCheck
	for _, r := range s.checks {
		if !r.retired.IsZero() && keep(r.retired) {
			out = append(out, store.RetiredCheck{Check: cloneCheck(r.check), Retired: r.retired})
		}
	}
	slices.SortFunc(out, func(a, b store.RetiredCheck) int { return bytes.Compare(a.Check.ID[:], b.Check.ID[:]) })
	return out
}

// PurgeRetired implements store.Store.
func (s *Store) PurgeRetired(ctx context.Context, cutoff time.Time) ([]store.RetiredCheck, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := s.retiredLocked(func(t time.Time) bool { return t.Before(cutoff) })
	for _, rc := range out {
		s.deleteLocked(rc.Check.ID)
	}
	return out, nil
}

// GetCheck implements store.Store.
func (s *Store) GetCheck(ctx context.Context, id model.CheckID) (model.Check, model.State, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return model.Check{}, model.State{}, err
	}
	r, ok := s.live(id)
	if !ok {
		return model.Check{}, model.State{}, fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	return cloneCheck(r.check), r.state.Clone(), nil
}

// ListChecks implements store.Store.
func (s *Store) ListChecks(ctx context.Context) ([]model.CheckState, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]model.CheckState, 0, len(s.checks))
	for _, r := range s.checks {
		if !r.retired.IsZero() {
			continue
		}
		out = append(out, model.CheckState{Check: cloneCheck(r.check), State: r.state.Clone()})
	}
	slices.SortFunc(out, func(a, b model.CheckState) int { return bytes.Compare(a.Check.ID[:], b.Check.ID[:]) })
	return out, nil
}

// Apply implements store.Store.
func (s *Store) Apply(ctx context.Context, u store.Update) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	r, ok := s.live(u.CheckID)
	if !ok {
		return fmt.Errorf("check %s: %w", u.CheckID, store.ErrNotFound)
	}
	r.state = u.State.Clone()
	if u.Ping != nil {
		p := *u.Ping
		p.Body = bytes.Clone(p.Body)
		r.pings = append(r.pings, p)
		// Compact only when twice over retention: amortised O(1) per ping.
		if len(r.pings) >= 2*s.opts.PingRetention {
			r.pings = slices.Delete(r.pings, 0, len(r.pings)-s.opts.PingRetention)
		}
	}
	s.flips = append(s.flips, u.Flips...)
	for _, n := range u.Notifications {
		if slices.ContainsFunc(s.outbox, func(o model.Notification) bool { return o.FlipID == n.FlipID && o.Channel == n.Channel }) {
			continue
		}
		n.Payload = bytes.Clone(n.Payload)
		s.outbox = append(s.outbox, n)
	}
	for _, d := range u.Uptime {
		day := d.Day.UTC()
		cur := r.uptime[day]
		cur.CheckID, cur.Day = u.CheckID, day
		cur.Up += d.Up
		cur.Total += d.Total
		r.uptime[day] = cur
	}
	if u.Policy != nil {
		p := *u.Policy
		p.CheckID = u.CheckID
		s.policy[u.CheckID] = p
	}
	return nil
}

// PolicyStates implements store.Store.
func (s *Store) PolicyStates(ctx context.Context) ([]store.PolicyState, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	out := make([]store.PolicyState, 0, len(s.policy))
	for _, p := range s.policy {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b store.PolicyState) int { return bytes.Compare(a.CheckID[:], b.CheckID[:]) })
	return out, nil
}

// UpdatePolicyState implements store.Store.
func (s *Store) UpdatePolicyState(ctx context.Context, ps store.PolicyState) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return false, err
	}
	if _, ok := s.checks[ps.CheckID]; !ok {
		return false, fmt.Errorf("check %s: %w", ps.CheckID, store.ErrNotFound)
	}
	cur, ok := s.policy[ps.CheckID]
	if !ok || cur.FlipID != ps.FlipID {
		return false, nil
	}
	cur.Dropped, cur.Held = ps.Dropped, ps.Held
	s.policy[ps.CheckID] = cur
	return true, nil
}

// Pings implements store.Store.
func (s *Store) Pings(ctx context.Context, id model.CheckID, q store.PingQuery) ([]model.Ping, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	r, ok := s.checks[id]
	if !ok {
		return nil, fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	var out []model.Ping
	oldest := max(len(r.pings)-s.opts.PingRetention, 0)
	for i := len(r.pings) - 1; i >= oldest && len(out) < limit; i-- {
		if q.Before > 0 && r.pings[i].N >= q.Before {
			continue
		}
		p := r.pings[i]
		p.Body = bytes.Clone(p.Body)
		out = append(out, p)
	}
	return out, nil
}

// Flips implements store.Store.
func (s *Store) Flips(ctx context.Context, id model.CheckID, q store.FlipQuery) ([]model.Flip, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if !id.IsZero() {
		if _, ok := s.checks[id]; !ok {
			return nil, fmt.Errorf("check %s: %w", id, store.ErrNotFound)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	var out []model.Flip
	for i := len(s.flips) - 1; i >= 0 && len(out) < limit; i-- {
		f := s.flips[i]
		if (!id.IsZero() && f.CheckID != id) || (!q.Before.IsZero() && !f.Time.Before(q.Before)) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// Uptime implements store.Store.
func (s *Store) Uptime(ctx context.Context, id model.CheckID, from, to time.Time) ([]model.UptimeDay, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	r, ok := s.checks[id]
	if !ok {
		return nil, fmt.Errorf("check %s: %w", id, store.ErrNotFound)
	}
	var out []model.UptimeDay
	for day, d := range r.uptime {
		if !day.Before(from) && day.Before(to) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b model.UptimeDay) int { return a.Day.Compare(b.Day) })
	return out, nil
}

// UptimeAll implements store.Store. fn runs under the store's read lock: it
// must not call the store.
func (s *Store) UptimeAll(ctx context.Context, from, to time.Time, fn func(model.UptimeDay)) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, r := range s.checks {
		for day, d := range r.uptime {
			if !day.Before(from) && day.Before(to) {
				fn(d)
			}
		}
	}
	return nil
}

// Notifications implements store.Store.
func (s *Store) Notifications(ctx context.Context, q store.NotificationQuery) ([]model.Notification, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	var out []model.Notification
	for _, n := range s.outbox {
		if len(out) >= limit {
			break
		}
		if (q.State != "" && n.State != q.State) || (!q.CheckID.IsZero() && n.CheckID != q.CheckID) ||
			(!q.DueBefore.IsZero() && !n.NextAttempt.Before(q.DueBefore)) {
			continue
		}
		n.Payload = bytes.Clone(n.Payload)
		out = append(out, n)
	}
	return out, nil
}

// UpdateNotification implements store.Store.
func (s *Store) UpdateNotification(ctx context.Context, n model.Notification, expect model.NotificationState) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return false, err
	}
	for i := range s.outbox {
		o := &s.outbox[i]
		if o.ID != n.ID {
			continue
		}
		if o.State != expect {
			return false, nil
		}
		o.State, o.Attempts, o.NextAttempt, o.LastError, o.Delivered = n.State, n.Attempts, n.NextAttempt, n.LastError, n.Delivered
		return true, nil
	}
	return false, fmt.Errorf("notification %s: %w", n.ID, store.ErrNotFound)
}

// EnqueueNotifications implements store.Store.
func (s *Store) EnqueueNotifications(ctx context.Context, rows []model.Notification) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	for _, n := range rows {
		if slices.ContainsFunc(s.outbox, func(o model.Notification) bool { return o.FlipID == n.FlipID && o.Channel == n.Channel }) {
			continue
		}
		n.Payload = bytes.Clone(n.Payload)
		s.outbox = append(s.outbox, n)
	}
	return nil
}

// ProbeWrite is the write probe of readiness (see
// sqlite.Store.ProbeWrite): memory has nothing to make durable, so it fails
// only when the store is closed or ctx is done.
func (s *Store) ProbeWrite(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.check(ctx)
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

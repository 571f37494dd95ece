package metrics

import (
	"context"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Store is a store.Store whose writes are timed by a Recorder
// (vitals_store_write_duration_seconds{op}). Reads pass through untimed.
type Store struct {
	store.Store
	r *Recorder
}

var _ store.Store = (*Store)(nil)

// Store returns st with its writes timed. Give it to watchdog.New in place
// of st; close st (or this wrapper) as before.
func (r *Recorder) Store(st store.Store) *Store { return &Store{Store: st, r: r} }

func (s *Store) observe(op string, start time.Time, err error) {
	if op == OpApply {
		s.r.opApply.Observe(time.Since(start).Seconds())
	} else {
		s.r.writes.WithLabelValues(op).Observe(time.Since(start).Seconds())
	}
	if err != nil {
		s.r.writeErrors.WithLabelValues(op).Inc()
	}
}

// Apply implements store.Store, timed as "apply".
func (s *Store) Apply(ctx context.Context, u store.Update) error {
	start := time.Now()
	err := s.Store.Apply(ctx, u)
	s.observe(OpApply, start, err)
	return err
}

// CreateCheck implements store.Store, timed as "create".
func (s *Store) CreateCheck(ctx context.Context, c model.Check, st model.State) error {
	start := time.Now()
	err := s.Store.CreateCheck(ctx, c, st)
	s.observe(OpCreate, start, err)
	return err
}

// UpdateCheck implements store.Store, timed as "update".
func (s *Store) UpdateCheck(ctx context.Context, c model.Check) error {
	start := time.Now()
	err := s.Store.UpdateCheck(ctx, c)
	s.observe(OpUpdate, start, err)
	return err
}

// DeleteCheck implements store.Store, timed as "delete".
func (s *Store) DeleteCheck(ctx context.Context, id model.CheckID) error {
	start := time.Now()
	err := s.Store.DeleteCheck(ctx, id)
	s.observe(OpDelete, start, err)
	return err
}

// UpdateNotification implements store.Store, timed as "notification".
func (s *Store) UpdateNotification(ctx context.Context, n model.Notification, expect model.NotificationState) (bool, error) {
	start := time.Now()
	ok, err := s.Store.UpdateNotification(ctx, n, expect)
	s.observe(OpNotification, start, err)
	return ok, err
}

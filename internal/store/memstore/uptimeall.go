package memstore

import (
	"context"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

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

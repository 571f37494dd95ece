package memstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/watchdog/model"
)

// UptimeAll returns the stored daily rollups of every check for days in
// [from, to), ordered by check and day (see sqlite.Store.UptimeAll; added
// by the status page, which asks for it through an optional interface).
func (s *Store) UptimeAll(ctx context.Context, from, to time.Time) ([]model.UptimeDay, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []model.UptimeDay
	for _, r := range s.checks {
		for day, d := range r.uptime {
			if !day.Before(from) && day.Before(to) {
				out = append(out, d)
			}
		}
	}
	slices.SortFunc(out, func(a, b model.UptimeDay) int {
		if c := strings.Compare(a.CheckID.String(), b.CheckID.String()); c != 0 {
			return c
		}
		return a.Day.Compare(b.Day)
	})
	return out, nil
}

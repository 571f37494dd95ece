package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/watchdog/model"
)

// UptimeAll returns the stored daily rollups of every check for days in
// [from, to), in no particular order: one query where Uptime needs one
// per check. The status page fills its cache with it (it asks for this
// method through an optional interface). Added by the status page; a
// candidate for store.Store (for example as Uptime with uuid.Nil, the way
// Flips takes uuid.Nil for every check).
func (s *Store) UptimeAll(ctx context.Context, from, to time.Time) ([]model.UptimeDay, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT check_id, day, up, total FROM uptime WHERE day >= ? AND day < ?`,
		from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("sqlite: uptime of every check: %w", err)
	}
	defer rows.Close()
	var (
		out    []model.UptimeDay
		lastID string
		id     uuid.UUID
	)
	for rows.Next() {
		var (
			cid            string
			day, up, total int64
		)
		if err := rows.Scan(&cid, &day, &up, &total); err != nil {
			return nil, fmt.Errorf("sqlite: uptime of every check: %w", err)
		}
		if cid != lastID { // rows come in key order: parse each id once
			if id, err = uuid.Parse(cid); err != nil {
				return nil, fmt.Errorf("sqlite: uptime of every check: check id %q: %w", cid, err)
			}
			lastID = cid
		}
		out = append(out, model.UptimeDay{CheckID: id, Day: time.Unix(day, 0).UTC(), Up: time.Duration(up), Total: time.Duration(total)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: uptime of every check: %w", err)
	}
	return out, nil
}

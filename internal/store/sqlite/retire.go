package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// live is the condition (on a column named id) that keeps the checks not
// retired: retired checks keep their rows in every table and are only
// listed in retired_checks.
const live = `id NOT IN (SELECT id FROM retired_checks)`

// RetireCheck implements store.Store.
func (s *Store) RetireCheck(ctx context.Context, id model.CheckID, at time.Time) error {
	return s.submit(ctx, &request{done: make(chan error, 1), fn: func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `INSERT INTO retired_checks(id, retired)
			SELECT id, ? FROM checks WHERE id = ? AND `+live, tm(at), id.Secret())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("check", id)
		}
		return nil
	}, committed: func(w *writer) {
		// Apply refuses it from now on; not before the commit, or a
		// failed commit would leave a live check refusing its pings.
		delete(w.exists, id)
	}})
}

// RestoreCheck implements store.Store.
func (s *Store) RestoreCheck(ctx context.Context, c model.Check) (model.Check, model.State, error) {
	var st model.State
	err := s.submit(ctx, &request{done: make(chan error, 1), committed: func(w *writer) { w.exists[c.ID] = true }, fn: func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `DELETE FROM retired_checks WHERE id = ?`, c.ID.Secret())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("retired check", c.ID)
		}
		// The state as it was: the newest logged one, else the compacted one.
		var def, sj []byte
		if err := w.tx.QueryRowContext(ctx, `SELECT def, coalesce(
				(SELECT state FROM ping_log WHERE check_id = ?1 ORDER BY rowid DESC LIMIT 1),
				(SELECT state FROM states WHERE id = ?1))
			FROM checks WHERE id = ?1`, c.ID.Secret()).Scan(&def, &sj); err != nil {
			return err
		}
		old, state, err := decodeCheck(def, sj)
		if err != nil {
			return err
		}
		c.Created = old.Created
		nd, err := json.Marshal(c.Redacted())
		if err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(ctx, `UPDATE checks SET def = ? WHERE id = ?`, nd, c.ID.Secret()); err != nil {
			return err
		}
		st = state
		return nil
	}})
	if err != nil {
		return model.Check{}, model.State{}, err
	}
	return c, st, nil
}

// RetiredChecks implements store.Store.
func (s *Store) RetiredChecks(ctx context.Context) ([]store.RetiredCheck, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	return retired(ctx, s.rdb, 1<<63-1)
}

// PurgeRetired implements store.Store.
func (s *Store) PurgeRetired(ctx context.Context, cutoff time.Time) ([]store.RetiredCheck, error) {
	var out []store.RetiredCheck
	err := s.write(ctx, func(ctx context.Context, w *writer) error {
		var err error
		if out, err = retired(ctx, w.tx, tm(cutoff)); err != nil {
			return err
		}
		for _, rc := range out {
			// Cascades to every table but the log, which has no key.
			if _, err := w.tx.ExecContext(ctx, `DELETE FROM checks WHERE id = ?`, rc.Check.ID.Secret()); err != nil {
				return err
			}
			res, err := w.tx.ExecContext(ctx, `DELETE FROM ping_log WHERE check_id = ?`, rc.Check.ID.Secret())
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			w.logRows = max(w.logRows-int(n), 0)
			delete(w.pruned, rc.Check.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// retired reads the checks retired before the time before (Unix ns),
// ordered by id.
func retired(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, before int64) ([]store.RetiredCheck, error) {
	rows, err := q.QueryContext(ctx, `SELECT def, retired FROM retired_checks JOIN checks USING (id)
		WHERE retired < ? ORDER BY id`, before)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.RetiredCheck
	for rows.Next() {
		var def []byte
		var at int64
		if err := rows.Scan(&def, &at); err != nil {
			return nil, err
		}
		var c model.Check
		if err := json.Unmarshal(def, &c); err != nil {
			return nil, fmt.Errorf("decode retired check: %w", err)
		}
		out = append(out, store.RetiredCheck{Check: c, Retired: untm(at)})
	}
	return out, rows.Err()
}

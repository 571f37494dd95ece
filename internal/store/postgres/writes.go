package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Apply implements store.Store: a group commit (writer.go).
func (s *Store) Apply(ctx context.Context, u store.Update) error {
	sj, err := json.Marshal(u.State)
	if err != nil {
		return err
	}
	return s.submit(ctx, &request{u: &u, sj: string(sj), done: make(chan error, 1)})
}

// ProbeWrite makes one small write durable the way a ping's is: through
// the writer's queue, in a group commit. The daemon's readiness calls it,
// so that a replica whose database cannot take a write now (down,
// unreachable, read-only, out of disk) is not ready. It rewrites the one
// row of write_probe.
func (s *Store) ProbeWrite(ctx context.Context) error {
	return s.submit(ctx, &request{probe: true, done: make(chan error, 1)})
}

// write runs fn in a transaction of its own, bounded by WriteTimeout, and
// commits it (durably: PostgreSQL answers COMMIT once its WAL is flushed).
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if err := s.reading(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(ctx, tx) })
}

// CreateCheck implements store.Store. Pings are not tied to their check by
// a foreign key (see doc.go): any left under the id by a write that raced
// the deletion of an earlier check of that id go now.
func (s *Store) CreateCheck(ctx context.Context, c model.Check, st model.State) error {
	def, err := json.Marshal(c.Redacted())
	if err != nil {
		return err
	}
	sj, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO checks(id, def) VALUES($1, $2) ON CONFLICT (id) DO NOTHING`, uid(c.ID), string(def))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("check %s: %w", c.ID, store.ErrExists)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO states(id, state) VALUES($1, $2)`, uid(c.ID), string(sj)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM pings WHERE check_id = $1`, uid(c.ID))
		return err
	})
}

// UpdateCheck implements store.Store.
func (s *Store) UpdateCheck(ctx context.Context, c model.Check) error {
	def, err := json.Marshal(c.Redacted())
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE checks SET def = $2 WHERE id = $1 AND retired IS NULL`, uid(c.ID), string(def))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("check", c.ID)
		}
		// The state's revision moves and the replicas are told, as for a
		// state written with Notify: the owner, which decides on the
		// definition it holds, re-reads it (at once, or at its next poll
		// of the revisions), and a write decided on the old definition
		// is refused (compare-and-set) and decided again.
		if _, err := tx.Exec(ctx, `UPDATE states SET rev = rev + 1 WHERE id = $1`, uid(c.ID)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, notifySQL, uids([]model.CheckID{c.ID}))
		return err
	})
}

// DeleteCheck implements store.Store.
func (s *Store) DeleteCheck(ctx context.Context, id model.CheckID) error {
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM checks WHERE id = $1`, uid(id))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("check", id)
		}
		_, err = tx.Exec(ctx, `DELETE FROM pings WHERE check_id = $1`, uid(id))
		return err
	})
	if err == nil {
		s.forget(id)
	}
	return err
}

// forget drops what the writer remembers of a removed check.
func (s *Store) forget(ids ...model.CheckID) {
	s.prunedMu.Lock()
	for _, id := range ids {
		delete(s.pruned, id)
	}
	s.prunedMu.Unlock()
}

// UpdateNotification implements store.Store. It ends the row's claim
// (store.OutboxClaimer).
func (s *Store) UpdateNotification(ctx context.Context, n model.Notification, expect model.NotificationState) (bool, error) {
	var ok bool
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE outbox SET state = $3, attempts = $4, next_attempt = $5, last_error = $6, delivered = $7,
			claimed_by = '', claim_until = 0
			WHERE id = $1 AND state = $2`, n.ID, string(expect), txt(string(n.State)), int32(n.Attempts), tm(n.NextAttempt), txt(n.LastError), tm(n.Delivered))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			ok = true
			return nil
		}
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM outbox WHERE id = $1`, n.ID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return notFound("notification", n.ID)
		} else if err != nil {
			return err
		}
		return nil
	})
	return ok, err
}

// EnqueueNotifications implements store.Store: one transaction.
func (s *Store) EnqueueNotifications(ctx context.Context, rows []model.Notification) error {
	if len(rows) == 0 {
		return nil
	}
	var a applyArgs
	for _, n := range rows {
		a.appendOutbox(uid(n.CheckID), n)
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO outbox(id, flip_id, check_id, channel, payload, state, attempts, next_attempt, last_error, created, delivered)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bytea[], $6::text[], $7::int4[], $8::int8[], $9::text[], $10::int8[], $11::int8[])
			ON CONFLICT DO NOTHING`,
			a.oID, a.oFlip, a.oCheck, a.oChannel, a.oPayload, a.oState, a.oAttempts, a.oNext, a.oErr, a.oCreated, a.oDelivered)
		if err != nil {
			return fmt.Errorf("insert notifications: %w", err)
		}
		return nil
	})
}

// UpdatePolicyState implements store.Store.
func (s *Store) UpdatePolicyState(ctx context.Context, ps store.PolicyState) (bool, error) {
	var exists, ok bool
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `WITH c AS (SELECT 1 FROM checks WHERE id = $1 AND retired IS NULL),
			u AS (UPDATE policy_state SET dropped = $3, held = $4 WHERE check_id = $1 AND flip_id = $2 AND EXISTS (SELECT 1 FROM c) RETURNING 1)
			SELECT EXISTS (SELECT 1 FROM c), EXISTS (SELECT 1 FROM u)`,
			uid(ps.CheckID), ps.FlipID, ps.Dropped, ps.Held).Scan(&exists, &ok)
	})
	if err == nil && !exists {
		return false, notFound("check", ps.CheckID)
	}
	return ok, err
}

// secretName is the installation row of InstallationSecret.
const secretName = "check_id_secret"

// InstallationSecret implements store.Store. The first call inserts the
// secret (durable when it returns); racing first calls, of this replica or
// another, agree: the losing inserts are ignored and all read the row
// back.
func (s *Store) InstallationSecret(ctx context.Context) ([]byte, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	var secret []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM installation WHERE name = $1`, secretName).Scan(&secret)
	if errors.Is(err, pgx.ErrNoRows) {
		fresh := make([]byte, store.InstallationSecretLen)
		rand.Read(fresh) // never fails (crypto/rand)
		err = s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO installation(name, value) VALUES($1, $2) ON CONFLICT (name) DO NOTHING`, secretName, fresh); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT value FROM installation WHERE name = $1`, secretName).Scan(&secret)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("installation secret: %w", err)
	}
	if len(secret) != store.InstallationSecretLen {
		return nil, fmt.Errorf("installation secret: %d bytes stored, want %d", len(secret), store.InstallationSecretLen)
	}
	return secret, nil
}

// RetireCheck implements store.Store.
func (s *Store) RetireCheck(ctx context.Context, id model.CheckID, at time.Time) error {
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE checks SET retired = $2 WHERE id = $1 AND retired IS NULL`, uid(id), tm(at))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return notFound("check", id)
		}
		return nil
	})
}

// RestoreCheck implements store.Store.
func (s *Store) RestoreCheck(ctx context.Context, c model.Check) (model.Check, model.State, error) {
	var st model.State
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var def, sj string
		err := tx.QueryRow(ctx, `SELECT def, state FROM checks JOIN states USING (id) WHERE id = $1 AND retired IS NOT NULL FOR UPDATE OF checks`,
			uid(c.ID)).Scan(&def, &sj)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("retired check", c.ID)
		}
		if err != nil {
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
		if _, err := tx.Exec(ctx, `UPDATE checks SET def = $2, retired = NULL WHERE id = $1`, uid(c.ID), string(nd)); err != nil {
			return err
		}
		st = state
		return nil
	})
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
	rows, err := s.pool.Query(ctx, `SELECT id, def, retired FROM checks WHERE retired IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return retired(rows)
}

// PurgeRetired implements store.Store.
func (s *Store) PurgeRetired(ctx context.Context, cutoff time.Time) ([]store.RetiredCheck, error) {
	var out []store.RetiredCheck
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM checks WHERE retired IS NOT NULL AND retired < $1 RETURNING id, def, retired`, tm(cutoff))
		if err != nil {
			return err
		}
		if out, err = retired(rows); err != nil {
			return err
		}
		ids := make([][16]byte, len(out))
		for i, rc := range out {
			ids[i] = uid(rc.Check.ID)
		}
		_, err = tx.Exec(ctx, `DELETE FROM pings WHERE check_id = ANY($1)`, ids)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, rc := range out {
		s.forget(rc.Check.ID)
	}
	slices.SortFunc(out, func(a, b store.RetiredCheck) int { return bytes.Compare(a.Check.ID[:], b.Check.ID[:]) })
	return out, nil
}

// retired reads rows of (id, def, retired), closing them.
func retired(rows pgx.Rows) ([]store.RetiredCheck, error) {
	defer rows.Close()
	var out []store.RetiredCheck
	for rows.Next() {
		var id [16]byte
		var def string
		var at int64
		if err := rows.Scan(&id, &def, &at); err != nil {
			return nil, err
		}
		var c model.Check
		if err := json.Unmarshal([]byte(def), &c); err != nil {
			return nil, fmt.Errorf("decode retired check: %w", err)
		}
		out = append(out, store.RetiredCheck{Check: c, Retired: untm(at)})
	}
	return out, rows.Err()
}

package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// CreateCheck implements store.Store.
func (s *Store) CreateCheck(ctx context.Context, c model.Check, st model.State) error {
	def, err := json.Marshal(c.Redacted())
	if err != nil {
		return err
	}
	sj, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `INSERT INTO checks(id, def) VALUES(?, ?) ON CONFLICT(id) DO NOTHING`, c.ID.Secret(), def)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("check %s: %w", c.ID, store.ErrExists)
		}
		if _, err = w.tx.ExecContext(ctx, `INSERT INTO states(id, state) VALUES(?, ?)`, c.ID.Secret(), sj); err != nil {
			return err
		}
		w.exists[c.ID] = true
		return nil
	})
}

// UpdateCheck implements store.Store.
func (s *Store) UpdateCheck(ctx context.Context, c model.Check) error {
	def, err := json.Marshal(c.Redacted())
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `UPDATE checks SET def = ? WHERE id = ? AND `+live, def, c.ID.Secret())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("check", c.ID)
		}
		return nil
	})
}

// DeleteCheck implements store.Store.
func (s *Store) DeleteCheck(ctx context.Context, id model.CheckID) error {
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `DELETE FROM checks WHERE id = ?`, id.Secret())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("check", id)
		}
		if _, err := w.tx.ExecContext(ctx, `DELETE FROM ping_log WHERE check_id = ?`, id.Secret()); err != nil {
			return err
		}
		delete(w.exists, id)
		delete(w.pruned, id)
		return nil
	})
}

// Apply implements store.Store.
func (s *Store) Apply(ctx context.Context, u store.Update) error {
	sj, err := json.Marshal(u.State)
	if err != nil {
		return err
	}
	return s.submit(ctx, &request{apply: &pendingApply{u: u, sj: sj}, done: make(chan error, 1)})
}

// UpdateNotification implements store.Store.
func (s *Store) UpdateNotification(ctx context.Context, n model.Notification, expect model.NotificationState) (bool, error) {
	var ok bool
	err := s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `UPDATE outbox SET state = ?, attempts = ?, next_attempt = ?, last_error = ?, delivered = ?
			WHERE id = ? AND state = ?`, string(n.State), n.Attempts, tm(n.NextAttempt), n.LastError, tm(n.Delivered), n.ID.String(), string(expect))
		if err != nil {
			return err
		}
		if c, _ := res.RowsAffected(); c == 1 {
			ok = true
			return nil
		}
		var one int
		if err := w.tx.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE id = ?`, n.ID.String()).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return notFound("notification", n.ID)
		} else if err != nil {
			return err
		}
		return nil
	})
	return ok, err
}

// EnqueueNotifications implements store.Store: the rows are written in one
// group commit.
func (s *Store) EnqueueNotifications(ctx context.Context, rows []model.Notification) error {
	if len(rows) == 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		for _, n := range rows {
			if _, err := w.stmt(w.insOutbox).ExecContext(ctx, n.ID.String(), n.FlipID.String(), n.CheckID.Secret(), n.Channel,
				[]byte(n.Payload), string(n.State), n.Attempts, tm(n.NextAttempt), n.LastError, tm(n.Created), tm(n.Delivered)); err != nil {
				return fmt.Errorf("insert notification: %w", err)
			}
		}
		return nil
	})
}

// ProbeWrite makes one small write durable the way a ping's is: through
// the writer's queue, in a group commit, fsync'd. The daemon's readiness
// calls it, so that a store that still reads but can no longer write (a
// full disk, a read-only file system, a broken writer) is not ready and a
// load balancer sends pings elsewhere. It rewrites the one row of the
// write_probe table.
func (s *Store) ProbeWrite(ctx context.Context) error {
	now := time.Now().UnixNano()
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		_, err := w.tx.ExecContext(ctx, `INSERT INTO write_probe(id, n, time) VALUES(1, 1, ?)
			ON CONFLICT(id) DO UPDATE SET n = n + 1, time = excluded.time`, now)
		return err
	})
}

// UpdatePolicyState implements store.Store.
func (s *Store) UpdatePolicyState(ctx context.Context, ps store.PolicyState) (bool, error) {
	var ok bool
	err := s.write(ctx, func(ctx context.Context, w *writer) error {
		if !w.exists[ps.CheckID] {
			return notFound("check", ps.CheckID)
		}
		res, err := w.tx.ExecContext(ctx, `UPDATE policy_state SET dropped = ?, held = ? WHERE check_id = ? AND flip_id = ?`,
			ps.Dropped, ps.Held, ps.CheckID.Secret(), ps.FlipID.String())
		if err != nil {
			return fmt.Errorf("policy state: %w", err)
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	return ok, err
}

// secretName is the installation row of InstallationSecret.
const secretName = "check_id_secret"

// InstallationSecret implements store.Store. The first call writes the
// secret in a group commit (durable when it returns); two racing first
// calls agree, as the second insert is ignored and both read the row back.
func (s *Store) InstallationSecret(ctx context.Context) ([]byte, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	var secret []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM installation WHERE name = ?`, secretName).Scan(&secret)
	if err == nil && len(secret) == store.InstallationSecretLen {
		return secret, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read installation secret: %w", err)
	}
	if err == nil {
		return nil, fmt.Errorf("installation secret: %d bytes stored, want %d", len(secret), store.InstallationSecretLen)
	}
	fresh := make([]byte, store.InstallationSecretLen)
	rand.Read(fresh) // never fails (crypto/rand)
	err = s.write(ctx, func(ctx context.Context, w *writer) error {
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO installation(name, value) VALUES(?, ?) ON CONFLICT(name) DO NOTHING`, secretName, fresh); err != nil {
			return err
		}
		return w.tx.QueryRowContext(ctx, `SELECT value FROM installation WHERE name = ?`, secretName).Scan(&secret)
	})
	if err != nil {
		return nil, fmt.Errorf("write installation secret: %w", err)
	}
	return secret, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

var _ store.SilenceStore = (*Store)(nil)

// Silences implements store.SilenceStore.
func (s *Store) Silences(ctx context.Context, after time.Time) ([]model.Silence, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT silence FROM silences WHERE end_t > ? ORDER BY start_t, id`, tm(after))
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	defer rows.Close()
	var out []model.Silence
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("silences: %w", err)
		}
		var sl model.Silence
		if err := json.Unmarshal([]byte(doc), &sl); err != nil {
			return nil, fmt.Errorf("silences: %w", err)
		}
		out = append(out, sl)
	}
	return out, rows.Err()
}

// AddSilence implements store.SilenceStore: a write of the group commit.
func (s *Store) AddSilence(ctx context.Context, sl model.Silence) error {
	doc, err := json.Marshal(sl)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `INSERT INTO silences(id, start_t, end_t, silence) VALUES(?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
			sl.ID.String(), tm(sl.Start), tm(sl.End), string(doc))
		if err != nil {
			return fmt.Errorf("add silence: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("silence %s: %w", sl.ID, store.ErrExists)
		}
		return nil
	})
}

// DeleteSilence implements store.SilenceStore.
func (s *Store) DeleteSilence(ctx context.Context, id uuid.UUID) (model.Silence, error) {
	var doc string
	err := s.write(ctx, func(ctx context.Context, w *writer) error {
		return w.tx.QueryRowContext(ctx, `DELETE FROM silences WHERE id = ? RETURNING silence`, id.String()).Scan(&doc)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return model.Silence{}, fmt.Errorf("silence %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return model.Silence{}, fmt.Errorf("delete silence: %w", err)
	}
	var sl model.Silence
	return sl, json.Unmarshal([]byte(doc), &sl)
}

// PruneSilences implements store.SilenceStore.
func (s *Store) PruneSilences(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, w *writer) error {
		res, err := w.tx.ExecContext(ctx, `DELETE FROM silences WHERE end_t <= ?`, tm(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune silences: %w", err)
	}
	return int(n), nil
}

package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

var _ store.SilenceStore = (*Store)(nil)

// Silences implements store.SilenceStore.
func (s *Store) Silences(ctx context.Context, after time.Time) ([]model.Silence, error) {
	if err := s.reading(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT silence FROM silences WHERE end_t > $1 ORDER BY start_t, id`, tm(after))
	if err != nil {
		return nil, fmt.Errorf("postgres: silences: %w", err)
	}
	defer rows.Close()
	var out []model.Silence
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("postgres: silences: %w", err)
		}
		var sl model.Silence
		if err := json.Unmarshal([]byte(doc), &sl); err != nil {
			return nil, fmt.Errorf("postgres: silences: %w", err)
		}
		out = append(out, sl)
	}
	return out, rows.Err()
}

// AddSilence implements store.SilenceStore.
func (s *Store) AddSilence(ctx context.Context, sl model.Silence) error {
	doc, err := json.Marshal(sl)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO silences(id, start_t, end_t, silence) VALUES($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
			sl.ID, tm(sl.Start), tm(sl.End), string(doc))
		if err != nil {
			return fmt.Errorf("postgres: add silence: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("silence %s: %w", sl.ID, store.ErrExists)
		}
		return nil
	})
}

// DeleteSilence implements store.SilenceStore.
func (s *Store) DeleteSilence(ctx context.Context, id uuid.UUID) (model.Silence, error) {
	var doc string
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.QueryRow(ctx, `DELETE FROM silences WHERE id = $1 RETURNING silence`, id).Scan(&doc)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return model.Silence{}, fmt.Errorf("silence %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return model.Silence{}, fmt.Errorf("postgres: delete silence: %w", err)
	}
	var sl model.Silence
	return sl, json.Unmarshal([]byte(doc), &sl)
}

// PruneSilences implements store.SilenceStore.
func (s *Store) PruneSilences(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM silences WHERE end_t <= $1`, tm(before))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: prune silences: %w", err)
	}
	return int(n), nil
}

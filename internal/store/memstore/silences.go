package memstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

var _ store.SilenceStore = (*Store)(nil)

// Silences implements store.SilenceStore.
func (s *Store) Silences(ctx context.Context, after time.Time) ([]model.Silence, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var out []model.Silence
	for _, sl := range s.silences {
		if sl.End.After(after) {
			out = append(out, cloneSilence(sl))
		}
	}
	slices.SortFunc(out, func(a, b model.Silence) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out, nil
}

// AddSilence implements store.SilenceStore.
func (s *Store) AddSilence(ctx context.Context, sl model.Silence) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	if _, ok := s.silences[sl.ID]; ok {
		return fmt.Errorf("silence %s: %w", sl.ID, store.ErrExists)
	}
	s.silences[sl.ID] = cloneSilence(sl)
	return nil
}

// DeleteSilence implements store.SilenceStore.
func (s *Store) DeleteSilence(ctx context.Context, id uuid.UUID) (model.Silence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return model.Silence{}, err
	}
	sl, ok := s.silences[id]
	if !ok {
		return model.Silence{}, fmt.Errorf("silence %s: %w", id, store.ErrNotFound)
	}
	delete(s.silences, id)
	return sl, nil
}

// PruneSilences implements store.SilenceStore.
func (s *Store) PruneSilences(ctx context.Context, before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	n := 0
	for id, sl := range s.silences {
		if !sl.End.After(before) {
			delete(s.silences, id)
			n++
		}
	}
	return n, nil
}

func cloneSilence(sl model.Silence) model.Silence {
	sl.Checks, sl.Tags = slices.Clone(sl.Checks), slices.Clone(sl.Tags)
	return sl
}

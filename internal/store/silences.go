package store

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/model"
)

// SilenceStore is the optional capability of keeping the API's silences
// (model.Silence) with the rest of the state, so that every replica of one
// PostgreSQL database sees a silence made on any of them, and a restart
// keeps them. The SQLite, PostgreSQL and memory stores have it. Writes are
// durable when they return, as Apply's.
type SilenceStore interface {
	// Silences returns the stored silences that end after after, by
	// Start, then ID.
	Silences(ctx context.Context, after time.Time) ([]model.Silence, error)
	// AddSilence stores s. ErrExists if a silence has its ID.
	AddSilence(ctx context.Context, s model.Silence) error
	// DeleteSilence removes the silence id and returns it. ErrNotFound
	// if there is none.
	DeleteSilence(ctx context.Context, id uuid.UUID) (model.Silence, error)
	// PruneSilences removes the silences that ended at or before before
	// and returns how many.
	PruneSilences(ctx context.Context, before time.Time) (int, error)
}

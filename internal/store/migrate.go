package store

import (
	"context"
	"errors"
	"fmt"
)

// Migration is one versioned step of a store's schema. A store lists its
// steps in order, versions 1, 2, 3, … without gaps, and never changes a
// step once released: a change of the schema is a new step. Tx is the
// store's transaction type.
type Migration[Tx any] struct {
	// Version is the schema version the step brings the database to.
	Version int
	// Description says what the step does; it is recorded with it in
	// schema_migrations.
	Description string
	// Up makes the change, inside the transaction the runner opened (and
	// commits with the step's record).
	Up func(ctx context.Context, tx Tx) error
}

// MigrationDriver is what [Migrate] needs from a store: transactions that
// exclude every other migrator of the same database while they run (an
// exclusive lock for SQLite, an advisory lock for PostgreSQL), and the
// table of applied versions, schema_migrations(version, applied_at,
// description).
type MigrationDriver[Tx any] interface {
	// Begin opens a transaction holding the database's migration lock
	// until it ends. It creates schema_migrations if it is missing.
	Begin(ctx context.Context) (Tx, error)
	// Version returns the newest version recorded in tx, 0 when none.
	Version(ctx context.Context, tx Tx) (int, error)
	// Record adds version to schema_migrations in tx, applied now.
	Record(ctx context.Context, tx Tx, version int, description string) error
	// Commit commits tx; Rollback abandons it (after a failed step).
	Commit(ctx context.Context, tx Tx) error
	Rollback(ctx context.Context, tx Tx)
}

// SchemaTooNewError is what opening a database made by a newer vitals
// returns: its schema is at a version this binary does not know, and
// writing to it could lose what the newer one keeps there.
type SchemaTooNewError struct {
	// Have is the database's version; Know is this binary's newest.
	Have, Know int
}

// Error says both versions and what to do.
func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("the database is at schema version %d; this vitals knows up to %d: upgrade vitals", e.Have, e.Know)
}

// Migrate brings the database of d to the newest version of steps: each
// pending step runs in a transaction of its own, with its record in
// schema_migrations, so that a step is applied whole or not at all and a
// failed open leaves the database at the last step that succeeded. Several
// processes may open one database at once: each step re-reads the version
// under the lock, so a step is applied once. It refuses, changing nothing,
// a database at a version past the last step ([*SchemaTooNewError]). It
// returns the versions it applied.
func Migrate[Tx any](ctx context.Context, d MigrationDriver[Tx], steps []Migration[Tx]) (applied []int, err error) {
	for i, s := range steps {
		if s.Version != i+1 || s.Up == nil || s.Description == "" {
			return nil, fmt.Errorf("migration %d (%q): want version %d with a description and a step", s.Version, s.Description, i+1)
		}
	}
	// Bounded: each turn applies one step or returns.
	for range len(steps) + 1 {
		tx, err := d.Begin(ctx)
		if err != nil {
			return applied, fmt.Errorf("migrate: begin: %w", err)
		}
		have, err := d.Version(ctx, tx)
		if err != nil {
			d.Rollback(ctx, tx)
			return applied, fmt.Errorf("migrate: read the schema version: %w", err)
		}
		if have > len(steps) {
			d.Rollback(ctx, tx)
			return applied, &SchemaTooNewError{Have: have, Know: len(steps)}
		}
		if have == len(steps) {
			d.Rollback(ctx, tx)
			return applied, nil
		}
		s := steps[have]
		err = s.Up(ctx, tx)
		if err == nil {
			err = d.Record(ctx, tx, s.Version, s.Description)
		}
		if err == nil {
			err = d.Commit(ctx, tx)
		} else {
			d.Rollback(ctx, tx)
		}
		if err != nil {
			return applied, fmt.Errorf("migrate to schema version %d (%s): %w", s.Version, s.Description, err)
		}
		applied = append(applied, s.Version)
	}
	return applied, errors.New("migrate: the schema version did not settle")
}

package sqlite

import (
	"context"
	"database/sql"

	"github.com/vitals-go/vitals/internal/store"
)

// SetFsyncHook makes the syncer call f before each fsync of the WAL.
// Call it right after Open, before any write.
func SetFsyncHook(s *Store, f func()) { s.fsyncHook = f }

// Migrations are the schema's steps, for tests that add steps after them.
var Migrations = migrations

// OpenWithMigrations opens path as Open does, with the steps given
// instead of the binary's own (a later binary's, or an older one's).
func OpenWithMigrations(path string, opts Options, steps []store.Migration[*sql.Tx]) (*Store, error) {
	return open(path, opts, steps)
}

// Compact runs compaction requests of chunk log rows each until the ping
// log is empty.
func Compact(s *Store, chunk int) error { return s.compactAll(context.Background(), chunk) }

// SetLane turns the writer's priority lane on or off (off: flips queue
// with the other writes, as before the lane). Call it right after Open,
// before any write.
func SetLane(s *Store, on bool) { s.noLane = !on }

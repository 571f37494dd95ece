package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/store"
)

// Migrations are the schema's steps, for tests that add steps after them.
var Migrations = migrations

// OpenWithMigrations opens dsn as Open does, with the steps given instead
// of the binary's own (a later binary's).
func OpenWithMigrations(ctx context.Context, dsn string, opts Options, steps []store.Migration[pgx.Tx]) (*Store, error) {
	return open(ctx, dsn, opts, steps)
}

// ChannelSQL names the store's notification channel (feed.go).
const ChannelSQL = channelSQL

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vitals-go/vitals/internal/store"
)

// migrations are the schema's versioned steps (store.Migrate), applied at
// Open in a transaction each and recorded in schema_migrations. Released
// steps never change; a change of the schema is a new step at the end.
//
// Files made before schema_migrations existed carry PRAGMA user_version 1
// and whichever tables their binary knew (tables were added without a
// version bump then, every CREATE being IF NOT EXISTS). Such a file counts
// as version 0: step 1 is the whole schema of that time, still all IF NOT
// EXISTS, so it creates what the file lacks and keeps what it has.
//
// PRAGMA user_version follows the newest step, so that a binary from
// before schema_migrations, which refuses a user_version above 1, refuses
// a file a later step changed.
var migrations = []store.Migration[*sql.Tx]{
	{Version: 1, Description: "checks, states, ping log, pings, flips, outbox, uptime, retired checks, policy state, installation, write probe",
		Up: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, schemaV1)
			return err
		}},
	{Version: 2, Description: "silences (kept in the store, no longer in silences.json)",
		Up: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, schemaSilences)
			return err
		}},
}

// schemaSilences is migration 2: the API's silences (silences.go), one
// row each, the silence as JSON (model.Silence) beside the end it is
// pruned and filtered by (int nanoseconds, as every time here).
const schemaSilences = `
CREATE TABLE silences (
	id      TEXT PRIMARY KEY,
	start_t INTEGER NOT NULL,
	end_t   INTEGER NOT NULL,
	silence TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX silences_end ON silences(end_t);
`

// driver runs store.Migrate over the write connection: its transactions
// are BEGIN IMMEDIATE (the write DSN's _txlock), which hold the file's
// write lock, so two processes opening one file migrate it in turn.
type driver struct{ db *sql.DB }

func (d driver) Begin(ctx context.Context) (*sql.Tx, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version     INTEGER PRIMARY KEY,
		applied_at  TEXT NOT NULL, -- RFC 3339, UTC
		description TEXT NOT NULL
	)`); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// Version is the newest recorded step; a file without any is version 0
// (new, or made before schema_migrations: see migrations), unless its
// user_version is past 1, which only a newer binary could have written.
func (d driver) Version(ctx context.Context, tx *sql.Tx) (int, error) {
	var v sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, err
	}
	if v.Valid {
		return int(v.Int64), nil
	}
	var uv int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&uv); err != nil {
		return 0, err
	}
	if uv > 1 {
		return uv, nil
	}
	return 0, nil
}

func (d driver) Record(ctx context.Context, tx *sql.Tx, version int, description string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied_at, description) VALUES(?, ?, ?)`,
		version, time.Now().UTC().Format(time.RFC3339Nano), description); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version))
	return err
}

func (d driver) Commit(_ context.Context, tx *sql.Tx) error { return tx.Commit() }
func (d driver) Rollback(_ context.Context, tx *sql.Tx)     { _ = tx.Rollback() }

// migrate applies the pending steps of steps to the file of db.
//
// Several processes opening one new file at once can get SQLITE_BUSY from
// its first connection without busy_timeout's wait: switching a new file
// to WAL takes a lock SQLite does not wait for. Such an answer is retried
// every 10ms for up to 10 seconds (busy_timeout's bound); the steps
// themselves are transactions, so a retry applies only what is pending.
func migrate(db *sql.DB, steps []store.Migration[*sql.Tx]) error {
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := store.Migrate(context.Background(), driver{db}, steps)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == 5
}

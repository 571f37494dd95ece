package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitals-go/vitals/internal/store"
)

// migrations are the schema's versioned steps (store.Migrate), applied at
// Open, each in its own transaction, and recorded in schema_migrations.
// Released steps never change; a change of the schema is a new step at the
// end.
var migrations = []store.Migration[pgx.Tx]{
	{Version: 1, Description: "checks, states, pings, flips, outbox, uptime, policy state, installation, write probe",
		Up: func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, schemaV1)
			return err
		}},
	{Version: 2, Description: "replicas and leases: each check owned by one replica, with a fencing epoch (leases.go)",
		Up: func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, schemaLeases)
			return err
		}},
	{Version: 3, Description: "outbox claims (claimed_by, claim_until) for several dispatchers",
		Up: func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, schemaOutboxClaims)
			return err
		}},
	{Version: 4, Description: "silences, shared by every replica",
		Up: func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, schemaSilences)
			return err
		}},
	{Version: 5, Description: "state revisions: compare-and-set writes of a check's state from any replica (feed.go)",
		Up: func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, schemaRevisions)
			return err
		}},
}

// schemaRevisions is migration 5: every write of a state adds one to its
// rev; a write with store.Update.CAS is made only while rev is still the
// one it was decided on (feed.go). Existing states start at 0.
const schemaRevisions = `
ALTER TABLE states ADD COLUMN rev int8 NOT NULL DEFAULT 0;
`

// schemaOutboxClaims is migration 3: a dispatcher claims a row until
// claim_until (int8 nanoseconds of the database's clock; 0: unclaimed)
// before it sends it (claim.go).
const schemaOutboxClaims = `
ALTER TABLE outbox
	ADD COLUMN claimed_by  text NOT NULL DEFAULT '',
	ADD COLUMN claim_until int8 NOT NULL DEFAULT 0;
`

// schemaSilences is migration 4: the API's silences (silences.go), one
// row each, the silence as JSON (model.Silence) beside the end it is
// pruned and filtered by.
const schemaSilences = `
CREATE TABLE silences (
	id        uuid PRIMARY KEY,
	start_t   int8 NOT NULL,
	end_t     int8 NOT NULL,
	silence   text NOT NULL
);
CREATE INDEX silences_end ON silences(end_t);
`

// schemaV1 is migration 1. Times are int8 nanoseconds since the Unix epoch
// (0: the zero time), days int8 Unix seconds of midnight UTC, as in the
// SQLite store. Definitions and states are JSON in text columns, not jsonb:
// jsonb refuses the \u0000 a Go string may hold (a probe's error, a
// name), and the hot path skips its parse; query them with def::jsonb.
const schemaV1 = `
CREATE TABLE checks (
	id      uuid PRIMARY KEY,
	def     text NOT NULL, -- JSON: model.Check, redacted
	retired int8 -- NULL: live; else when it was retired (store.Store.RetireCheck)
);

-- States apart from definitions: a ping rewrites only its check's state
-- row, and the free space left in each page lets the update stay on the
-- page (a HOT update: no index touched).
CREATE TABLE states (
	id    uuid PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
	state text NOT NULL -- JSON: model.State
) WITH (fillfactor = 50);

-- No foreign key: each referencing insert would lock its check's row.
-- The writes that remove a check remove its pings themselves.
CREATE TABLE pings (
	check_id       uuid NOT NULL,
	n              int8 NOT NULL,
	kind           text NOT NULL,
	exit_status    int4 NOT NULL,
	rid            uuid NOT NULL, -- the nil UUID: none
	time           int8 NOT NULL,
	duration       int8 NOT NULL,
	method         text NOT NULL,
	scheme         text NOT NULL,
	remote_addr    text NOT NULL,
	user_agent     text NOT NULL,
	body           bytea NOT NULL,
	body_truncated bool NOT NULL,
	PRIMARY KEY (check_id, n)
);

CREATE TABLE flips (
	id       uuid PRIMARY KEY,
	check_id uuid NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	from_st  text NOT NULL,
	to_st    text NOT NULL,
	time     int8 NOT NULL,
	reason   text NOT NULL
);
CREATE INDEX flips_check_time ON flips(check_id, time);
CREATE INDEX flips_time ON flips(time);

CREATE TABLE outbox (
	id           uuid PRIMARY KEY,
	seq          int8 GENERATED ALWAYS AS IDENTITY UNIQUE, -- insertion order: oldest first
	flip_id      uuid NOT NULL,
	check_id     uuid NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	channel      text NOT NULL,
	payload      bytea NOT NULL,
	state        text NOT NULL,
	attempts     int4 NOT NULL,
	next_attempt int8 NOT NULL,
	last_error   text NOT NULL,
	created      int8 NOT NULL,
	delivered    int8 NOT NULL,
	UNIQUE (flip_id, channel)
);
CREATE INDEX outbox_due ON outbox(state, next_attempt);
CREATE INDEX outbox_check ON outbox(check_id);

CREATE TABLE uptime (
	check_id uuid NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	day      int8 NOT NULL,
	up       int8 NOT NULL,
	total    int8 NOT NULL,
	PRIMARY KEY (check_id, day)
);

-- What the alert policy remembers about each check's last flip it decided
-- on (store.PolicyState), written with the flip.
CREATE TABLE policy_state (
	check_id uuid PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
	flip_id  uuid NOT NULL,
	dropped  bool NOT NULL,
	held     bool NOT NULL
);

-- Facts about the installation, one row each. "check_id_secret" is
-- Store.InstallationSecret.
CREATE TABLE installation (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);

-- One row, rewritten by ProbeWrite in a group commit: readiness proves a
-- write can be made durable now.
CREATE TABLE write_probe (
	id   int4 PRIMARY KEY CHECK (id = 1),
	n    int8 NOT NULL,
	time int8 NOT NULL
);
`

// driver runs store.Migrate on the pool. Each of its transactions first
// takes a transaction-level advisory lock named after the schema, so that
// processes opening one database at once migrate it in turn; it is
// released by the commit or the rollback.
type driver struct{ pool *pgxpool.Pool }

func (d driver) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('vitals schema migrations'), hashtext(coalesce(current_schema(), '')))`); err != nil {
		tx.Rollback(ctx)
		return nil, err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version     int4 PRIMARY KEY,
		applied_at  timestamptz NOT NULL,
		description text NOT NULL
	)`); err != nil {
		tx.Rollback(ctx)
		return nil, err
	}
	return tx, nil
}

func (d driver) Version(ctx context.Context, tx pgx.Tx) (int, error) {
	var v int
	err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

func (d driver) Record(ctx context.Context, tx pgx.Tx, version int, description string) error {
	_, err := tx.Exec(ctx, `INSERT INTO schema_migrations(version, applied_at, description) VALUES($1, now(), $2)`, version, description)
	return err
}

func (d driver) Commit(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) }
func (d driver) Rollback(ctx context.Context, tx pgx.Tx)     { _ = tx.Rollback(ctx) }

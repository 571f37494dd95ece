package sqlite

// schemaV1 is migration 1 (migrate.go): the schema as it stood when
// versions were introduced. Every statement is IF NOT EXISTS, so that it
// also completes a file made before then. Do not change it: a change of
// the schema is a new migration.
const schemaV1 = `
CREATE TABLE IF NOT EXISTS checks (
	id  TEXT PRIMARY KEY,
	def TEXT NOT NULL
) WITHOUT ROWID;

-- States apart from definitions: a ping rewrites only its check's state row.
CREATE TABLE IF NOT EXISTS states (
	id    TEXT PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
	state TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS pings (
	check_id       TEXT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	n              INTEGER NOT NULL,
	kind           TEXT NOT NULL,
	exit_status    INTEGER NOT NULL,
	rid            TEXT NOT NULL,
	time           INTEGER NOT NULL,
	duration       INTEGER NOT NULL,
	method         TEXT NOT NULL,
	scheme         TEXT NOT NULL,
	remote_addr    TEXT NOT NULL,
	user_agent     TEXT NOT NULL,
	body           BLOB,
	body_truncated INTEGER NOT NULL,
	PRIMARY KEY (check_id, n)
) WITHOUT ROWID; -- clustered by check: one ping dirties one page, no separate index

-- The hot path's only table: every Apply appends one row (its ping, if
-- any, and the check's state after it), so a batch of writes fills a few
-- adjacent pages instead of dirtying two random pages per write. The
-- compactor moves rows into pings and states in bulk (see compact.go);
-- readers merge the rows not compacted yet.
CREATE TABLE IF NOT EXISTS ping_log (
	check_id       TEXT NOT NULL,
	n              INTEGER NOT NULL, -- 0: a state change without a ping
	kind           TEXT NOT NULL,
	exit_status    INTEGER NOT NULL,
	rid            TEXT NOT NULL,
	time           INTEGER NOT NULL,
	duration       INTEGER NOT NULL,
	method         TEXT NOT NULL,
	scheme         TEXT NOT NULL,
	remote_addr    TEXT NOT NULL,
	user_agent     TEXT NOT NULL,
	body           BLOB,
	body_truncated INTEGER NOT NULL,
	state          TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS flips (
	id       TEXT PRIMARY KEY,
	check_id TEXT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	from_st  TEXT NOT NULL,
	to_st    TEXT NOT NULL,
	time     INTEGER NOT NULL,
	reason   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS flips_check_time ON flips(check_id, time);
CREATE INDEX IF NOT EXISTS flips_time ON flips(time);

CREATE TABLE IF NOT EXISTS outbox (
	id           TEXT PRIMARY KEY,
	flip_id      TEXT NOT NULL,
	check_id     TEXT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	channel      TEXT NOT NULL,
	payload      BLOB,
	state        TEXT NOT NULL,
	attempts     INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	last_error   TEXT NOT NULL,
	created      INTEGER NOT NULL,
	delivered    INTEGER NOT NULL,
	UNIQUE (flip_id, channel)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt);
CREATE INDEX IF NOT EXISTS outbox_check ON outbox(check_id);

-- One row, rewritten by ProbeWrite: readiness proves a write can be made
-- durable (a full disk or a read-only file system fails it).
CREATE TABLE IF NOT EXISTS write_probe (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	n    INTEGER NOT NULL,
	time INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS uptime (
	check_id TEXT NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
	day      INTEGER NOT NULL,
	up       INTEGER NOT NULL,
	total    INTEGER NOT NULL,
	PRIMARY KEY (check_id, day)
) WITHOUT ROWID;

-- Checks out of service (removed from the config file), kept with their
-- history until restored or purged (store.Store.RetireCheck).
CREATE TABLE IF NOT EXISTS retired_checks (
	id      TEXT PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
	retired INTEGER NOT NULL
) WITHOUT ROWID;

-- What the alert policy (policy.Suppression) remembers about each check's
-- last flip it decided on: whether its alert was dropped (absorbed by a
-- down parent) or is held back. Written with the flip (store.Update.Policy),
-- read at start.
CREATE TABLE IF NOT EXISTS policy_state (
	check_id TEXT PRIMARY KEY REFERENCES checks(id) ON DELETE CASCADE,
	flip_id  TEXT NOT NULL,
	dropped  INTEGER NOT NULL,
	held     INTEGER NOT NULL
) WITHOUT ROWID;

-- Facts about the installation, one row each. "check_id_secret" is
-- Store.InstallationSecret.
CREATE TABLE IF NOT EXISTS installation (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;
`

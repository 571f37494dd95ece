// Package postgres is the watchdog's store on PostgreSQL (store.postgres in
// the config), through github.com/jackc/pgx/v5 and its pool: the store
// several replicas will share (SPEC §5, issue 12). It passes the same
// contract suite as the embedded SQLite store (store/storetest).
//
// Throughput: Apply, the hot path (one call per ping), is batched into group
// commits. A collector goroutine takes the queued Apply calls (at most
// Options.MaxBatch) and hands them to one of Options.Writers executors; while
// every executor is busy committing, the queue grows, so batches grow with
// the database's commit latency. An executor writes its whole batch with ONE
// statement (data-modifying CTEs over arrays: the states, the pings, flips,
// outbox rows, uptime increments and policy states of every call), plus
// ping pruning and ProbeWrite when due, sent as one pgx pipeline: one round
// trip and one commit, which PostgreSQL makes durable before it answers
// (with synchronous_commit on, its default). Apply returns nil only then.
//
// A batch that the server refuses (a constraint violated by one call) is
// run again call by call, so that one bad call never fails the others. A
// batch that fails for lack of the server (down, unreachable, a timeout)
// fails every call in it with that error: the ping handler answers 503
// with Retry-After, and the next batch tries again on a fresh connection,
// so everything resumes when the server is back, without a restart.
//
// Every other write (CreateCheck, RetireCheck, EnqueueNotifications, …) is
// its own transaction on the pool: PostgreSQL serialises them against the
// batches by its row locks.
//
// Layout (migrate.go): checks(id uuid, def, retired), states(id, state), pings (check_id, n), flips, outbox (ordered by an identity
// column), uptime, policy_state, installation, write_probe, silences, and
// schema_migrations. The check definition and state are JSON (in text
// columns: jsonb refuses \u0000) so that fields added to the model need no
// migration. Times are int8 nanoseconds since
// the Unix epoch (0 for the zero time), as in the SQLite store: exact round
// trips of the engine's times, and columns `vitals migrate` will copy as
// they are. pings has no foreign key on purpose (each referencing insert
// would lock its check's row): DeleteCheck, PurgeRetired and CreateCheck
// delete a check's pings themselves.
//
// Schema versions: Open applies the pending steps of migrations (each in
// its own transaction, holding a transaction-level advisory lock, so
// replicas starting together migrate once) and refuses a database a newer
// vitals has migrated past what this one knows (store.SchemaTooNewError).
// The tables live in the first schema of the connection's search_path
// (the DSN may set it: ?search_path=vitals).
//
// Several replicas (leases.go, fence.go, docs/ha-ownership.md): the
// store is a store.Leaser (replicas and leases tables, migration 2; each
// method one statement), and Apply's statement keeps the checks it may
// write in one CTE (live), where a fenced write must hold the check's
// lease at its current epoch, the lease row locked FOR SHARE until the
// commit; otherwise the write changes nothing and answers
// store.ErrFenced. It is also a store.Feed (feed.go, migration 5): every
// written state moves states.rev on, a write with store.Update.CAS is
// made only at the revision it was decided on (else store.ErrConflict,
// nothing written), and writes with store.Update.Notify are announced by
// pg_notify in their own transaction to every replica's Listen.
//
// Outbox rows are claimed by one replica's dispatcher at a time (claim.go:
// store.OutboxClaimer, FOR UPDATE SKIP LOCKED and a claim lease on the
// database's clock, in the columns claimed_by and claim_until of
// migration 3), and the API's silences are a table (silences.go:
// store.SilenceStore, migration 4), so every replica sees them.
//
// The DSN is a secret (it may carry a password): no error of this package
// quotes it.
package postgres

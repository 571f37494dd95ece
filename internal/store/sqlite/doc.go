// Package sqlite is the watchdog's embedded store: a store.Store in one
// SQLite file, through modernc.org/sqlite (pure Go, no cgo), so the daemon
// stays a static binary.
//
// Throughput: every write goes through one writer goroutine that owns the
// single write connection. It opens a transaction for the first queued
// write and executes every write queued behind it, then commits the whole
// batch at once: group commit. Reads use a separate pool of connections
// (WAL readers never block the writer).
//
// Log-structured hot path: an Apply appends ONE row to ping_log — its ping,
// if any, and the check's whole state after it — with a multi-row INSERT
// per run of writes, so a batch fills a few adjacent pages instead of
// dirtying two random pages (the check's state, the check's ping history)
// per write. A compactor folds the log into the pings and states tables
// every Options.CompactInterval in chunks of compactChunk rows, where each
// check's pages are touched once for all its pings of the interval. Readers
// merge the rows not compacted yet (the newest logged state of a check wins
// over its compacted state), in one read transaction. A write that carries
// a flip goes ahead of the queued ones, never ahead of one of its own
// check (lane.go).
//
// Durability (Options.Synchronous): a write is answered only once it is on
// stable storage.
//   - FULL (default): SQLite fsyncs the WAL inside COMMIT, once per batch.
//   - PIPELINED: SQLite commits without fsync (WAL,
//     synchronous=NORMAL, which keeps the database consistent), and a
//     syncer goroutine fsyncs the WAL file and only then answers the
//     batch's writers. While it syncs, the writer keeps executing the next
//     writes in an open transaction and commits them when the syncer is
//     free (or once pipelineBatch are waiting): SQL work overlaps the disk,
//     and batches grow with its latency. fsync is per file, so syncing our
//     own descriptor of the -wal file covers what SQLite wrote through its.
//   - NORMAL / OFF: no fsync before the answer (benchmark baselines).
//
// A write that fails inside a batch makes the batch roll back and run its
// writes one by one, so one bad write never fails the others. Checkpoints
// run in a background goroutine (PASSIVE), never inside a commit; the
// writer resets the WAL file itself between batches once one has copied
// all of it (checkpoint.go).
//
// Layout: checks(id, def JSON), states(id, state JSON), ping_log, pings
// clustered by (check_id, n), flips, outbox, uptime and policy_state; the
// compacted tables reference checks with ON DELETE CASCADE. The check
// definition and state are JSON so that fields added to the model need no
// migration. The schema is versioned (migrate.go, store.Migrate): Open
// applies the pending steps, each in its own transaction, records them in
// schema_migrations, and refuses a file a newer vitals has migrated past
// what this one knows. Ping
// retention is pruned at compaction in steps of 1/8 of the retention;
// readers hide the rows in between.
package sqlite

// Package sqlite is the watchdog's embedded store: a store.Store in one
// SQLite file, through modernc.org/sqlite (pure Go, no cgo), so the daemon
// stays a static binary.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// transaction is on stable storage (the WAL fsync'd) when COMMIT returns;
// Apply returns only after that, and the ping handler acknowledges a ping
// only after Apply returned.
//
// Throughput: every write goes through one writer goroutine that owns the
// single write connection. It takes the first waiting request, then every
// request already queued (up to Options.MaxBatch, optionally lingering
// Options.MaxWait for more), runs them in ONE transaction, each inside its
// own SAVEPOINT so that one failing request fails alone, commits (one fsync
// for the whole batch) and only then answers every waiter. While a commit
// is in flight new requests queue up, so batches grow with the load: group
// commit. Reads use a separate pool of connections (WAL readers do not
// block the writer).
//
// Layout: checks(id, def JSON, state JSON); pings, flips, outbox and uptime
// rows reference checks with ON DELETE CASCADE. The check definition and
// state are stored as JSON so that fields added to the model need no
// migration; history tables have columns for what is queried.
package sqlite

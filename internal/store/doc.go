// Package store defines where the watchdog keeps its state: the [Store]
// interface, the atomic [Update] the engine writes on every change, and the
// sentinel errors every implementation returns.
//
// Implementations: store/sqlite (embedded, the default), store/postgres
// (PostgreSQL, for several replicas: SPEC §5) and store/memstore (in
// memory, for tests and as a benchmark baseline). Each runs the same
// contract suite, store/storetest.Run, and a new implementation is done
// when it passes. The persistent ones version their schema with [Migrate].
//
// What every store can do is a method of [Store]. What only some stores can
// do stays out of it: an optional interface declared by its user, or a
// method of the concrete type (the SQLite writer's Stats).
//
// Contracts shared by every method:
//   - ctx is honoured for waiting (a cancelled ctx returns ctx.Err() wrapped);
//     a write whose ctx is cancelled after it was handed to the writer may
//     still commit: callers treat "error" as "unknown", never as "not written".
//   - Times are stored and returned in UTC with at least microsecond precision.
//   - Methods are safe for concurrent use; Close waits for in-flight writes
//     and then makes every method return ErrClosed.
package store

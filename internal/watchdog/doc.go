// Package watchdog is the watchdog's engine: it holds every check and its
// state in memory, feeds events (pings, probe results, deadlines, operator
// actions) through the state machine (package machine) one at a time per
// check, writes each outcome to the store (package store) before it becomes
// visible, arms each push check's deadline on a timer heap (package
// deadlines), and publishes flips to listeners.
//
// Lifecycle: New, then the hooks (AddListener, AddPlanner), then Start
// (loads every check and its pending deadline from the store), then any
// number of concurrent calls, then Close. Hooks cannot be added once Start
// was called. The store outlives the engine: the caller opens and closes
// it.
//
// Consistency: an event's outcome is applied to memory only after
// store.Apply returned nil, so memory never runs ahead of what a restart
// would load; a failed write leaves the check as it was and returns the
// error (the ping handler answers 5xx). Events for one check are serialised
// by the check's lock, held across the write; events for different checks
// run in parallel, and the store batches their writes (group commit).
//
// Extension points, for the engineers building on the engine (the hook
// interfaces are declared in package model, so that the parts implementing
// them need not import the engine; only the composition root does):
//   - model.Listener: OnFlip after each committed flip (actions,
//     notifications wake-up, logs). model.Planner: Plan before the commit,
//     to add outbox rows to the flip's transaction (the durable outbox);
//     store.UpdatePlanner to add more than rows.
//   - model.StateListener (optional interface of a Listener): OnState after
//     every committed change (metrics, status page live updates).
//   - model.CheckListener (optional interface of a Listener): OnCheck when
//     a check is created, updated or deleted (the pull scheduler).
//   - Create / Update / Upsert / Delete (config reload, JSON API),
//     Pause / Resume (API), Report (pull scheduler), Ping (ping handler),
//     Get / List / LookupSlug (API, metrics, status page, ping handler).
//   - Acquire / Release / Owns (internal/cluster, the pull scheduler), with
//     Options.Leased: several replicas on one store, each check's timers
//     run by its lease's owner only, its writes fenced (ownership.go,
//     docs/ha-ownership.md); Follow (the daemon, on a store.Feed): writes
//     from any replica are compare-and-set on the state's revision, and
//     the owner re-reads a check another replica wrote (follow.go).
package watchdog

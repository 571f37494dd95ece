// Package cluster makes several watchdog replicas sharing one store
// (PostgreSQL) divide the checks between them: each check is owned by
// exactly one live replica, through a lease with a fencing epoch
// (store.Leaser), and only its owner runs its deadline timers and probes.
// The design, its guarantees and its limits are in docs/ha-ownership.md.
//
// A Cluster is one replica's side. Every renewal period it writes its
// heartbeat and renews all its leases in one statement (Leaser.Renew),
// which also tells it the other live replicas; every claim period it
// looks for leases that are free or expired (Leaser.Unowned) and claims
// those it prefers. Preference is rendezvous hashing over the live
// replicas (Preferred): every replica computes the same owner for a check
// from the same list, so that a dead replica's checks spread evenly over
// the survivors without coordination, and a replica that joins takes over
// about its share. A replica that holds checks another live replica
// prefers releases them a bounded number per renewal (Options.MaxHandovers):
// rebalancing is gradual, never a thundering herd.
//
// The engine is told through the small Engine interface
// (*watchdog.Engine implements it, with watchdog.Options.Leased): Acquire
// when a lease is taken (the engine loads the check's state and arms its
// deadline), Release before a lease is given up or once it is lost.
// Writes carry the lease's epoch; the store refuses the others
// (store.ErrFenced), so a replica that was paused past its lease changes
// nothing when it resumes.
//
// Lifecycle: New, Start (after the engine's Start), Close (before the
// engine's Close: it releases every lease and leaves, so that the other
// replicas take the checks over at once). Step runs one round, for tests
// with an injected clock. Safe for concurrent use.
package cluster

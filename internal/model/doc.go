// Package model is the watchdog's domain model: what a check is ([Check]),
// what is known about it now ([State]), what it received ([Ping]), how its
// status changed ([Flip]), what must be sent because of a change
// ([Notification], the durable outbox) and how long it was up ([UptimeDay]).
// It also declares what the engine and the parts it calls agree on: the
// hooks ([Transition], [Listener], [Planner] and their optional interfaces)
// and [ErrNotRunning], so that those parts need not import the engine.
//
// The package holds plain values and pure functions only: no I/O, no
// goroutines, no clocks (every function that needs "now" takes it). The state
// machine (package machine), the stores (package store and its
// implementations), the ping handler, the config loader, the JSON API and the
// metrics all speak these types, so a field added here is visible everywhere.
// A problem with one field of a definition is a [FieldError] (found with
// errors.As, never parsed out of a message), and [Flatten] lists the
// problems of a joined validation error.
//
// The semantics follow healthchecks.io (hc/api/models.py) where it has an
// answer: a check is "new" until its first ping, goes "up" on a success ping,
// "down" on a fail ping or when no ping arrived within period + grace (or the
// next cron time + grace), and a started run that has not finished within the
// grace time is down. "started" and "grace" are not stored statuses but are
// derived for display (see [State.Display]), as healthchecks.io derives them.
// Beyond healthchecks.io: pull checks (probes), failure / success thresholds,
// a start period, "X of the last Y" flapping detection and a minimum run time.
package model

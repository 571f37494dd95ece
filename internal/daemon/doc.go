// Package daemon wires the watchdog process (vitals watchdog): the SQLite
// store, the engine, the pull scheduler, and one HTTP server carrying the
// ping endpoints (/ping/), the JSON API (/api/v1/), Prometheus metrics
// (/metrics), the daemon's own health (/livez, /readyz from the health
// library: the store is a readiness check, the pull scheduler's progress a
// liveness check) and POST /-/reload.
//
// Lifecycle: New opens the store, starts the engine, applies the config's
// checks, starts the scheduler and listens; Run serves until its context
// ends, then shuts down gracefully (in-flight requests finish within
// server.shutdown_timeout) and closes everything New opened. Reload (on
// SIGHUP, or POST /-/reload with a read-write API key) loads the config
// file again: a valid one replaces the checks of the file (created,
// changed and deleted ones; unchanged ones keep their state, changed ones
// too) and the settings that can change at run time (API keys, ping
// settings); an invalid one is rejected with every error and the running
// config stays.
package daemon

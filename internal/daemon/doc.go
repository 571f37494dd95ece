// Package daemon wires the watchdog process (vitals watchdog): the SQLite
// store, the engine, the pull scheduler, and one HTTP server carrying the
// ping endpoints (/ping/), the JSON API (/api/v1/, /api/v2/ and /api/v3/:
// healthchecks.io's Management API), the status badges (/badge/, /b/, no
// API key: internal/badge), Prometheus metrics (/metrics), the daemon's
// own health (/livez, /readyz from the health
// library: the store is a readiness check, the pull scheduler's progress a
// liveness check) and POST /-/reload.
//
// Lifecycle: New opens the store, starts the engine, applies the config's
// checks, starts the scheduler and listens; Run serves until its context
// ends, then shuts down gracefully (in-flight requests finish within
// server.shutdown_timeout) and closes everything New opened. Reload (on
// SIGHUP, or POST /-/reload with a read-write API key) loads the config
// file again: a valid one replaces the checks of the file (created,
// changed, restored and retired ones; unchanged ones keep their state,
// changed ones too; a check no longer in the file is retired with its
// history, not deleted, and restored whole if it comes back within
// retention.retired_checks) and the settings that can change at run time
// (API keys, ping settings); an invalid one is rejected with every error
// and the running config stays. A valid file that lists no checks while
// checks of the config run, or no API keys while keys are configured, is
// refused the same way (most often it is a file caught half written) unless
// it writes the list out empty (checks: [], api_keys: []); New refuses to
// start on a file without checks against a store holding checks of a
// config, for the same reason.
package daemon

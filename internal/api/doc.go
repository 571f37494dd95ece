// Package api is the watchdog's JSON management API, mounted under
// /api/v1/: list, get, create, update, pause, resume and delete checks, and
// read a check's pings and flips. Its shape follows healthchecks.io's
// Management API v3 where that is cheap (field names name, slug, tags, desc,
// timeout, grace, schedule, tz, manual_resume, methods, status, last_ping,
// next_ping, n_pings, ping_url, unique_key), so its users feel at home;
// docs/api.md lists every endpoint and every difference.
//
//	GET    /api/v1/checks                 list (?limit, ?cursor, ?tag, ?slug)
//	POST   /api/v1/checks                 create            (read-write key)
//	GET    /api/v1/checks/{key}           get one (UUID or unique_key)
//	POST   /api/v1/checks/{uuid}          update, partial   (read-write key; PATCH too)
//	DELETE /api/v1/checks/{uuid}          delete            (read-write key)
//	POST   /api/v1/checks/{uuid}/pause    pause             (read-write key)
//	POST   /api/v1/checks/{uuid}/resume   resume            (read-write key)
//	GET    /api/v1/checks/{key}/pings     pings, newest first (?limit, ?cursor)
//	GET    /api/v1/checks/{key}/flips     flips, newest first (?limit, ?cursor)
//
// Authentication: every request carries an API key in X-Api-Key (as
// healthchecks.io) or Authorization: Bearer. Keys are read-only or
// read-write, compared in constant time against every configured key. A
// read-only key never sees a check's UUID (its ping secret) nor its ping
// key: it sees unique_key instead, a SHA-1 of the UUID, and addresses checks
// by it.
//
// Errors are JSON, {"error": "...", "details": ["...", ...]}, with 400 (bad
// JSON, failed validation: every problem in details), 401 (no or unknown
// key), 403 (read-only key on a write), 404, 405, 409 (a definition owned by
// the config file, or a slug already used under the same ping key), 413
// (body over Options.MaxBodyBytes), 415 (a body that is not
// application/json) and 503 (the store could not be written).
//
// Checks defined in the config file (Source "config") are read-only through
// the API: updating or deleting them answers 409, since the next reload
// would undo the change; pausing and resuming them is allowed (it is
// operational state, kept across reloads).
//
// A Handler is safe for concurrent use and starts no goroutines.
package api

// Package api is the watchdog's JSON management API: healthchecks.io's
// Management API in its three versions, /api/v1/, /api/v2/ and /api/v3/,
// served by one Handler mounted at /api/ (the version comes from the path).
// Check objects are healthchecks.io's Check.to_dict(readonly, v) field for
// field (tags as one string, whole seconds, its time format, its keyword
// filters, channels), with Vitals' own fields alongside; docs/api.md lists
// every endpoint and has the compatibility table.
//
//	GET    /checks/                     list (?tag, ?slug; opt-in ?limit, ?cursor, ?name, ?name_prefix, ?status)
//	GET    /counts                      how many checks by status (Vitals' own; the list's filters)
//	POST   /checks/                     create, or with "unique" update (read-write key)
//	GET    /checks/{key}                get one (UUID or unique_key)
//	POST   /checks/{key}                update, partial (read-write key; PATCH too)
//	DELETE /checks/{key}                delete (read-write key)
//	POST   /checks/{key}/pause          pause (read-write key)
//	POST   /checks/{key}/resume         resume (read-write key)
//	GET    /checks/{key}/pings/         pings, newest first (read-write key)
//	GET    /checks/{key}/pings/{n}/body a ping's body, text/plain (read-write key)
//	GET    /checks/{key}/flips/         flips (?seconds, ?start, ?end)
//	GET    /channels/                   notification channels (read-write key)
//	POST   /channels/{id}/test          send a test notification (read-write key)
//	GET    /badges/                     badge URLs by tag
//	GET    /status/                     "OK" when the store answers (no key)
//
// The versions differ as healthchecks.io's do: v1 reports a running check
// as "started"; v1 and v2 derive a slug from a name given without one.
//
// Authentication: an API key in X-Api-Key (as healthchecks.io),
// Authorization: Bearer, or "api_key" in a POST body. Keys are read-only
// or read-write, compared in constant time against every configured key.
// A read-only key never sees a check's UUID (its ping secret), ping key,
// URLs or channels: it sees unique_key, and addresses checks by it.
//
// Errors are JSON, {"error": "...", "details": ["...", ...]}: error is
// healthchecks.io's text where it has one ("missing api key", "wrong api
// key", "could not parse request body", "check is not paused", ...),
// details Vitals' explanation. Unknown body fields are a 400 (a Vitals
// hardening; healthchecks.io ignores them).
//
// Checks defined in the config file (Source "config") are read-only through
// the API: updating or deleting them answers 409, since the next reload
// would undo the change; pausing and resuming them is allowed (it is
// operational state, kept across reloads).
//
// A Handler is safe for concurrent use and starts no goroutines.
package api

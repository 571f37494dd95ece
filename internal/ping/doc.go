// Package ping serves the healthchecks.io ping protocol over the watchdog
// engine, so that existing clients (cron one-liners with curl, runitor, the
// healthchecks.io client libraries) work unchanged against Vitals:
//
//	HEAD|GET|POST /ping/<uuid>                     success
//	HEAD|GET|POST /ping/<uuid>/start               a run started
//	HEAD|GET|POST /ping/<uuid>/fail                failure
//	HEAD|GET|POST /ping/<uuid>/log                 a message, status unchanged
//	HEAD|GET|POST /ping/<uuid>/<0-255>             exit status (0 success)
//	the same five under /ping/<ping-key>/<slug>[/…], with ?create=1
//	?rid=<uuid> on any of them pairs a start with its finish (a finish
//	without one, or a failure, ends every open run: package machine)
//
// Answers, as healthchecks.io gives them (text/plain bodies):
//
//	200 "OK"                   recorded (and durable: see below)
//	201 "Created"              slug URL with ?create=1 created the check
//	400 "invalid url format"   exit status above 255, or a slug that is not
//	                           lowercase [a-z0-9_-]{1,100} (even with ?create=1)
//	400 "invalid uuid format"  ?rid= is not a canonical UUID
//	400 "incomplete body"      the body could not be read to its end: not recorded
//	404 "not found"            no such check (X-Vitals-Reason says which part)
//	409 "ambiguous slug"       several checks have that ping key and slug
//	405 "method not allowed"   a method other than HEAD, GET and POST
//	503 "store unavailable"    the ping could not be made durable; retry
//
// A 200 is sent only after the ping and everything it caused are durable in
// the store. Every answer carries Access-Control-Allow-Origin: *,
// Cache-Control: no-store, and successful ones Ping-Body-Limit: <n>. The
// request body (of any method) is kept as the ping's log, truncated to
// Options.BodyLimit bytes, never rejected for its size; but a ping whose
// body cannot be read to its end (a malformed chunked encoding, a
// connection closed or reset before Content-Length bytes) is not recorded,
// and nothing is created for it: the client did not finish sending it.
package ping

// Package health lets a Go service say truthfully whether it is alive, ready
// and started, and lets an orchestrator ask cheaply.
//
// A [Monitor] holds registered [Check]s. Each check runs in the background on
// its own interval (with a random stagger of its first run), under a timeout
// that is enforced from outside the check, with panics and calls of
// runtime.Goexit turned into failures (the check runs again at its next
// interval) and a bound on how many checks run at once. The HTTP endpoints serve the
// latest results from a pre-encoded snapshot: a request never runs a check,
// so a flood of probes never reaches a database.
//
// # Semantics
//
//   - Liveness fails only for what a restart fixes (a stalled worker loop, a
//     deadlock). Readiness fails when the instance cannot serve now (its own
//     database is unreachable, it is draining, it is overloaded). Startup
//     fails until initialisation has finished; until then liveness and
//     readiness are DOWN too.
//   - A check is UP or DOWN. A check that has never succeeded is DOWN. It
//     takes FailureThreshold consecutive failures to take an UP check DOWN and
//     SuccessThreshold consecutive successes to bring it back.
//   - A check with a [Baseline] learns its normal duration and is DEGRADED
//     while its successful runs stay far slower than that; latency alone
//     never makes a check DOWN.
//   - A probe is UP when all its checks are UP, DEGRADED when only
//     non-critical checks are DOWN or some checks are DEGRADED, DOWN
//     otherwise. UP and DEGRADED answer HTTP 200, DOWN answers 503.
//
// # HTTP
//
// A Monitor is the http.Handler of its probes ([Monitor.ServeHTTP]);
// [Monitor.Mount] adds them to a ServeMux next to the application's routes.
// It serves /livez, /readyz, /startupz and /healthz (every check), their
// HEAD forms, /<probe>/<check> for one check, ?exclude=<check> to leave
// checks out and ?verbose for details. Details (and the checks in the IETF
// application/health+json format) are shown only to callers that
// [Options.Authorize] allows; anyone else gets {"status":"UP"} alone. Error
// texts are redacted of credentials and capped in length.
//
// [Monitor.Serve] runs an http.Server, on one listener or several, with a
// graceful drain: when its context ends, readiness turns DOWN at once while
// the server keeps serving for [ServeOptions.DrainPeriod], then the server
// shuts down. Liveness stays UP throughout. To answer probes apart from a
// saturated application server, Serve a second http.Server whose handler is
// a ServeMux with only the probes mounted.
//
// # Events
//
// [Monitor.Subscribe] calls a [Subscriber] after every check run, on every
// check transition and on every change of a probe's status, in order, until
// the cancel func it returns is called. Metrics exporters, protocol bridges
// and supervisors (health/healthprom, health/grpchealth, health/systemd)
// follow a Monitor this way.
package health

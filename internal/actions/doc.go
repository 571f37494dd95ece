// Package actions is what the watchdog does when a check flips: it tells
// people (webhook, Slack, e-mail) and acts on the target (restart a Docker
// container, restart a supervised process, run a command).
//
// This package is the wiring: a [System] builds the parts below from the
// config (at start and on every reload) and hands the daemon what the
// engine needs (a planner, a listener) and what the API needs (the
// policy's silences). The parts, each a package of its own:
//
//   - notify: what a notification is ([notify.Notification]), the
//     [notify.Notifier] interface and its optional interfaces, the one
//     [notify.Registry] of notifier kinds, and the kinds (webhook, slack,
//     email, docker, exec, process).
//   - outbox: the durable outbox. The [outbox.Planner] turns a flip into
//     rows by the flipping check's channels ([model.Routes]); the [outbox.Dispatcher] delivers
//     them with retries and backoff. It declares the [outbox.Policy] it
//     consults.
//   - policy: the alert policy, [policy.Suppression] (dependencies,
//     maintenance windows, silences), and the API's [policy.Silences].
//   - restart bounds restart loops; supervise runs and supervises
//     commands for the watchdog.
//
// Imports go one way: notify ← outbox ← policy ← actions (notify also
// uses restart and supervise; actions uses supervise). Only this package
// knows every part; the config loader takes the notifier registry
// ([System.Registry]) so that validation knows exactly the kinds the
// System builds.
//
// Everything goes through the durable outbox of the store:
//
//  1. The Planner (a model.Planner) turns a flip into outbox rows, one per
//     channel named in the check's Routes for the flip's new status. The
//     rows are written in the flip's own transaction, so a flip is never
//     recorded without its notifications. The Policy (dependencies,
//     maintenance windows, silences) is consulted first: it can drop a row
//     or hold it back until a window ends.
//  2. The Dispatcher delivers pending rows: it wakes when a flip is
//     committed (it is a model.Listener), sends each row through its
//     channel's Notifier, retries failures with capped exponential backoff
//     and jitter, and marks each row delivered once (compare-and-set in the
//     store). Rows left pending by a crash or a stop are delivered after the
//     next start.
//
// A channel is a named, configured Notifier. The kinds of channel are
// registered in one Registry; the config loader asks it to decode,
// validate and build each configured channel, so adding a kind is one
// Register call.
//
// Every notification carries an idempotency key (check/flip/channel): it is
// sent to webhooks as the Idempotency-Key header, so a receiver can drop the
// duplicate that a crash between sending and marking can cause.
package actions

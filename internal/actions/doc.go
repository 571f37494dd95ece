// Package actions is what the watchdog does when a check flips: it tells
// people (webhook, Slack, e-mail) and acts on the target (restart a Docker
// container, restart a supervised process, run a command).
//
// Everything goes through the durable outbox of the store:
//
//  1. A [Planner] (a model.Planner) turns a flip into outbox rows, one per
//     channel named in the check's [Rules] for the flip's new status. The
//     rows are written in the flip's own transaction, so a flip is never
//     recorded without its notifications. A [Policy] (dependencies,
//     maintenance windows, silences) is consulted first: it can drop a row
//     or hold it back until a window ends.
//  2. A [Dispatcher] delivers pending rows: it wakes when a flip is
//     committed (it is a model.Listener), sends each row through its
//     channel's [Notifier], retries failures with capped exponential backoff
//     and jitter, and marks each row delivered once (compare-and-set in the
//     store). Rows left pending by a crash or a stop are delivered after the
//     next start.
//
// A channel is a named, configured [Notifier]. The kinds of channel
// (webhook, slack, email, docker, exec, process) are registered in one
// [Registry]; the config loader asks it to decode, validate and build each
// configured channel, so adding a kind is one Register call.
//
// Every notification carries an idempotency key (check/flip/channel): it is
// sent to webhooks as the Idempotency-Key header, so a receiver can drop the
// duplicate that a crash between sending and marking can cause.
//
// Restart loops are bounded by package restart (exponential delay, at most N
// restarts in a window, then one "gave up" alert); package supervise runs
// and supervises commands for the watchdog.
package actions

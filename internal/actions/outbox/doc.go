// Package outbox is the durable outbox of notifications: the [Planner]
// turns a flip into rows (one per channel its check's model.Routes name), the
// [Dispatcher] delivers them through their channel's notify.Notifier,
// retrying failures with [Backoff], and [Row] and [Decode] are the rows'
// encoding.
//
// The rows are written in the flip's own transaction (the Planner is a
// store.UpdatePlanner), so a flip is never recorded without its
// notifications; the Dispatcher marks each row delivered once
// (compare-and-set in the store), and rows left pending by a crash or a
// stop are delivered after the next start. The [Policy] (dependencies,
// maintenance windows, silences) is consulted before rows are planned and
// when a held row comes due; outbox declares it, package policy
// implements it.
//
// outbox imports notify, model and store; never policy or actions.
package outbox

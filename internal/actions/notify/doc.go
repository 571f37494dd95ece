// Package notify owns what a notification is and who sends it: the
// [Notification] a channel is asked to send (its JSON form is the outbox
// payload and the webhook body), the [Notifier] interface with its
// optional interfaces ([Observer], [AttemptTimeouter]) and errors
// ([ErrPermanent], [RetryAtError]), the [Registry] of notifier kinds, and
// the kinds themselves: webhook, slack, email, docker, exec and process
// (the last three restart a target through a [Guard], bounded by package
// restart).
//
// The Registry is the single source of truth for the kinds: the config
// loader decodes and validates each configured channel through it, and the
// actions System builds channels from the specs it returned. Adding a kind
// is one Register call.
//
// notify is the bottom of the actions packages: it imports model, restart
// and supervise (the process kind's errors), never outbox, policy or
// actions.
package notify

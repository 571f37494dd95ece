// Package notify owns what a notification is and who sends it: the
// [Notification] a channel is asked to send (its JSON form is the outbox
// payload and the webhook body), the [Notifier] interface with its
// optional interfaces ([Observer], [AttemptTimeouter], [Runner]) and
// errors ([ErrPermanent], [RetryAtError]), the [Registry] of notifier
// kinds, and the kinds themselves: webhook, slack, email, pagerduty,
// opsgenie (the pager kinds: an incident opened on down is resolved on
// up), alertmanager (Prometheus Alertmanager's API v2, re-sent while
// firing), docker, exec and process (the last three restart a target
// through a [Guard], bounded by package restart). The kinds that send
// text for people show a notification as a [Message]: a default text per
// event, or the notifier's [Template] (see [Texts]); [SendTest] sends a
// test notification through a channel. The "url" kind (shoutrrr's
// services) is in package notify/shoutrrr.
//
// The Registry is the single source of truth for the kinds: the config
// loader decodes and validates each configured channel through it, and the
// actions System builds channels from the specs it returned. Adding a kind
// is one Register call.
//
// notify is the bottom of the actions packages: it imports model, clip,
// restart and supervise (the process kind's errors), never outbox, policy
// or actions.
package notify

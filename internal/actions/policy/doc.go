// Package policy is the alert policy: [Suppression] decides whether a
// flip's notifications go out now, later or never, by dependencies
// (parents), maintenance [Window]s and silences; [Silences] keeps the
// silences created through the API in a file. Suppression implements
// outbox.Policy, and remembers what it decided in the store
// (store.PolicyState) so that a restart forgets neither an absorbed nor a
// held alert.
//
// policy imports outbox (the Policy it implements, Verdict), notify
// (Notification), model and store; never actions.
package policy

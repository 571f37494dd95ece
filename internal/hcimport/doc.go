// Package hcimport copies a healthchecks.io project into Vitals, through
// healthchecks.io's Management API v3 on both sides: the source is
// healthchecks.io (hosted or self-hosted) or anything that speaks its API,
// the destination Vitals' compatible API, which takes a check's UUID on
// create. It is `vitals import healthchecks` (docs/import.md).
//
// The work is in three steps. [Load] reads both sides with a [Client]
// (paced, retried on 429 and 5xx, every answer bounded). [MakePlan], a
// pure function, compares them and says, check by check, what to do:
// create with the same UUID, update only the fields that differ, leave,
// or skip with a reason; channels are mapped by name (or a channel map)
// and those without a counterpart are listed. [Apply] carries out a plan
// and reports what it did; [PrintPlan], [PrintSummary] and [Progress] show
// it. The import never deletes, and a second run finds nothing to do.
//
// A check's UUID is the secret of its ping URL: nothing here prints it.
// Checks are named by their name and, where that is ambiguous, the start
// of their unique key; the clients' errors hold neither the UUID nor the
// API key.
package hcimport

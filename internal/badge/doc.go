// Package badge serves healthchecks.io-style status badges: small images
// (SVG) and JSON documents that show whether the checks carrying a tag,
// every check, or one check are up, late or down, meant to be embedded in
// READMEs, dashboards and status pages without an API key.
//
// [Keys] derives the badge URLs from the installation secret (stable
// across restarts and replicas, unguessable, never revealing a check's
// UUID); [Handler] serves them from the engine's in-memory state;
// [SVG], [Tally] and [Shields] are the three formats, drawn and counted as
// healthchecks.io does (hc/lib/badges.py, hc/api/views.py); [ParsePath]
// takes a badge URL apart. docs/badges.md describes the URLs and the
// differences from healthchecks.io.
//
// The package imports the standard library and internal/model only.
package badge

// Package config loads the watchdog's YAML configuration (vitals watchdog
// -config FILE, vitals validate FILE).
//
// Loading is strict and reports every problem at once: the file is parsed
// into a YAML node tree, ${NAME} and ${NAME:-default} references in values
// are expanded from the environment (an unset NAME without a default is an
// error), every mapping key is checked against the schema (an unknown key is
// an error, not silently ignored), the values are decoded, defaults are
// applied (all in defaults.go), and the whole is validated, including each
// check through model.Check.Validate. Every error names the file, the line
// and the field path:
//
//	watchdog.yaml:14: checks[2].cron: invalid cron expression "61 * * * *": ...
//
// and Load returns them all, joined with errors.Join (each an *Error).
//
// The ids of checks that set none are not known from the file alone: they
// are derived from the installation's secret, kept in the store, so the
// daemon passes IDs to ModelChecks and Actions (see ids.go and
// docs/pings.md). Loading needs no store.
//
// A check's probe is decoded directly into its kind of package pull (the
// probe registry pull.ProbeKinds), which knows its stored form.
//
// The reference of every field with its default is docs/config.md.
package config

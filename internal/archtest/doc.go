// Package archtest holds the architecture test: the rules about which
// package may import which, and how large a file may grow, checked with
// `go list` on every test run. It has no code of its own.
//
// The rules (docs/architecture.md says why):
//   - only cmd/…, main packages and the composition root (internal/daemon)
//     import the engine package (internal/watchdog);
//   - nothing under health/ imports internal/ (tests may use internal/testenv);
//   - the health packages other than the adapters (grpchealth, healthprom and
//     the client checks under health/checks/…check) depend on the standard
//     library only;
//   - no non-test Go file passes 800 lines.
//
// The package graph in docs/architecture.md is generated from the same
// `go list` answer; the test fails when it is out of date, and
//
//	go test ./internal/archtest -update
//
// rewrites it.
package archtest

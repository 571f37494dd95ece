// Package pull runs the watchdog's pull checks: it probes each one on its
// interval and reports every outcome to the engine, which applies
// thresholds, start period and flapping (package watchdog).
//
// A pull check's model.Check.Probe holds a JSON-encoded Spec: an HTTP(S)
// URL with conditions on the status, the JSON body (see Condition), the
// latency and the TLS certificate's expiry; a gRPC health target; a TCP
// address; or a command whose exit status decides. The network probes are
// those of package probe, shared with healthprobe and `vitals check`.
//
// The package owns the probe schema, once: the kinds of probe (HTTPProbe,
// GRPCProbe, TCPProbe, CommandProbe) are registered in ProbeKinds, the
// config decodes each check's probe into its kind directly (yaml tags),
// and each kind knows the Spec it is stored and run as. A stored Spec
// redacts itself for read-only readers (RedactJSON). Duration and TLS are
// shared by the config and the Spec, tagged for both encodings.
//
// The Scheduler keeps one timer heap (a deadlines.Heap) and one
// goroutine: the first probe of each check runs at a random point of its
// first interval, the next ones at a fixed rate. Each due probe runs in its own goroutine under a bound on
// concurrent probes, and a check whose previous probe is still running
// skips its turn, so a slow target never delays the others. Measured with
// 10,000 checks: BENCHMARKS.md ("Pull scheduler").
package pull

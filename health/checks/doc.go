// Package checks provides the built-in checkers of the health library,
// written with the standard library only. Each is a [health.Checker]
// returned by a constructor, configured by an options struct whose zero
// value is useful (every default is documented on its field), and safe for
// concurrent use.
//
// Dependencies and the machine:
//
//   - [NewSQL]: a database through the application's own *sql.DB (ping or
//     query), observing the pool's saturation; [NewSQLPool]: the pool
//     exhausted (every connection in use, requests waiting) over a
//     window, from its Stats alone. Client libraries (Redis,
//     AMQP, NATS, MQTT) have adapters in subpackages, so that this package
//     stays standard-library only.
//   - [NewTCP]: a TCP connection to an address can be opened.
//   - [NewDNS]: a host name resolves to at least N addresses.
//   - [NewHTTP]: an HTTP endpoint (a sidecar of the service) answers with an
//     accepted status.
//   - [NewDiskSpace]: free space and inodes of a file system (statfs).
//   - [NewDiskWrite]: a directory is really writable (create, write, fsync,
//     remove): read-only mounts, full disks and exhausted inodes fail it.
//   - [NewHeap]: the Go heap in use against a limit (runtime/metrics).
//   - [NewCgroupMemory]: the working set against the cgroup (container)
//     memory limit, cgroup v2 or v1.
//   - [NewGoroutines]: the number of goroutines against a limit.
//
// The process's own progress, fed by the application:
//
//   - [NewStall] and [NewStalls]: a worker loop calls Beat each iteration;
//     a missed period fails liveness (a stall or deadlock).
//   - [NewActivity]: "last message consumed" older than a bound fails or
//     degrades readiness.
//   - [NewInFlight]: in-flight requests above a limit for longer than a
//     grace time fail readiness (load shedding), with a middleware that
//     counts them.
//   - [NewProbe]: a synthetic request through the application's own
//     http.Handler stack; [IsSynthetic] tells it apart.
//   - [NewPassive]: middleware (and [Passive.Record] for other protocols)
//     counting request outcomes in a sliding window; a failure ratio over a
//     threshold ejects the instance from readiness for a bounded time.
//
// Errors name what failed, what was observed and what was allowed, and wrap
// a sentinel ([ErrThreshold], [ErrStalled], [ErrEjected], ...) for
// [errors.Is]. Checkers attach their measurement with [health.Observe].
//
// Which kind to register a checker as follows SPEC §1: liveness only for
// what a restart fixes ([Stall], [Stalls], [Goroutines], [Heap]); readiness
// for what makes this instance unable to serve now (its own data stores,
// disks, load, [Passive], [Activity]).
package checks

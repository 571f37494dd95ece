// Package metrics exports the watchdog to Prometheus
// (github.com/prometheus/client_golang): one set of series per check, read
// from the engine's in-memory state on each scrape, and the daemon's own
// totals (pings received, ping ingest latency, store write latency, probe
// durations), counted by a Recorder that decorates the store, the ping
// path and the probe reports.
//
// A scrape never touches the store and never runs a probe: Collector reads
// Engine.List, which copies published snapshots without waiting for any
// check's lock.
//
// Wiring, in the daemon:
//
//	rec := metrics.NewRecorder(metrics.RecorderOptions{})
//	st := rec.Store(sqliteStore)                     // store write latency
//	eng := watchdog.New(st, watchdog.Options{...})
//	pings := ping.New(rec.Pings(eng), ping.Options{}) // pings by kind, ingest latency
//	// the pull scheduler reports through rec.Reporter(eng) // probe durations
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.New(eng, metrics.Options{Recorder: rec}))
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// docs/metrics.md lists every series with its labels.
package metrics

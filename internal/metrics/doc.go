// Package metrics exports the watchdog to Prometheus
// (github.com/prometheus/client_golang): one set of series per check, read
// from the engine's in-memory state on each scrape, and the daemon's own
// totals (pings received, ping ingest latency, store write latency, probe
// durations), counted by a Recorder that decorates the store, the ping
// path and the probe reports.
//
// A scrape never touches the store and never runs a probe: Collector reads
// the engine's published snapshots through Engine.Refs, without copying
// them or waiting for any check's lock. Per-tag aggregates come with the
// per-check series, which Options.OmitPerCheck leaves out.
//
// Wiring, in the daemon:
//
//	rec := metrics.NewRecorder(metrics.RecorderOptions{})
//	st := rec.Store(sqliteStore)                     // store write latency
//	eng := watchdog.New(st, watchdog.Options{...})
//	pings := ping.New(rec.Pings(eng), ping.Options{}) // pings by kind, ingest latency
//	// the pull scheduler reports through rec.Reporter(eng) // probe durations
//	c := metrics.New(eng, metrics.Options{Recorder: rec, OmitPerCheck: true})
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(c)
//	mux.Handle("/metrics", metrics.Handler(reg, c)) // per-check series written straight, in the text format
//	// or, without per-check series: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
//
// docs/metrics.md lists every series with its labels.
package metrics

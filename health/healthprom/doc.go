// Package healthprom exports the state of a [health.Monitor] to Prometheus
// (github.com/prometheus/client_golang), in a package of its own so that
// the health core stays standard-library only.
//
// [New] returns a prometheus.Collector: per-check status, duration
// histogram, transitions, last success, consecutive failures and observed
// value, and each probe's aggregate status. A scrape never runs a check.
//
//	m := health.New(health.Options{})
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(healthprom.New(m, healthprom.Options{}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Example alerting rules over these metrics (a check down, a flapping
// check, the share of unready instances of a job) are in deploy/prometheus
// of the repository.
package healthprom

package healthprom

import (
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-go/vitals/health"
)

// Metric names with the default namespace. The example alerting rules in
// deploy/prometheus use them.
const (
	MetricCheckUp                 = "health_check_up"
	MetricCheckDuration           = "health_check_duration_seconds"
	MetricCheckTransitions        = "health_check_transitions_total"
	MetricCheckLastSuccess        = "health_check_last_success_timestamp_seconds"
	MetricCheckConsecutiveFailure = "health_check_consecutive_failures"
	MetricCheckObservedValue      = "health_check_observed_value"
	MetricCheckDegraded           = "health_check_degraded"
	MetricCheckBaseline           = "health_check_baseline_seconds"
	MetricProbeUp                 = "health_probe_up"
	MetricProbeStatus             = "health_probe_status"
)

// DefaultBuckets are the duration histogram's buckets, in seconds: from a
// millisecond (an in-process check) to 10 seconds (past the default
// timeout of 5).
var DefaultBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Options configure [New]. The zero value is useful.
type Options struct {
	// Namespace is the first part of every metric name. Default: "health"
	// (health_check_up, health_probe_up, ...).
	Namespace string

	// ConstLabels are added to every metric, such as {"component": "api"}
	// when one process runs several Monitors. Default: none.
	ConstLabels prometheus.Labels

	// Buckets of the duration histogram, in seconds. Default:
	// [DefaultBuckets].
	Buckets []float64
}

// Collector is a prometheus.Collector exporting a [health.Monitor]'s state:
//
//	health_check_up{check,kind,critical}                 1 when the check is UP or DEGRADED, 0 when DOWN (or not run yet)
//	health_check_degraded{check}                         1 when the check succeeds far slower than its normal (health.Baseline), else 0
//	health_check_baseline_seconds{check}                 the normal duration its health.Baseline learned (absent without one or while warming up)
//	health_check_duration_seconds{check}                 histogram of run durations
//	health_check_transitions_total{check,to}             status changes, to="up", "degraded" or "down"
//	health_check_last_success_timestamp_seconds{check}   Unix time of the last success (absent before one)
//	health_check_consecutive_failures{check}             failed runs since the last success
//	health_check_observed_value{check,unit}              the value the check observed, if any
//	health_probe_up{probe}                               1 when the probe answers 200 (UP or DEGRADED), 0 when 503
//	health_probe_status{probe,status}                    1 for the probe's current status (UP, DEGRADED, DOWN), 0 for the others
//
// probe is "liveness", "readiness", "startup" or "all" (/healthz); kind is
// the check's kinds as [health.Kind.String] writes them, such as
// "liveness+readiness"; critical is "true" or "false".
//
// A scrape never runs a check, not even a stale on-demand one: the
// durations and transitions are fed by a subscription to the Monitor as
// results are recorded, and the rest is read with [health.Monitor.Peek]. It is safe
// for concurrent use; it starts no goroutine and needs no stopping.
type Collector struct {
	m *health.Monitor

	durations                                           *prometheus.HistogramVec
	up, transitions, lastSuccess, consecFails, observed *prometheus.Desc
	degraded, baseline                                  *prometheus.Desc
	probeUp, probeStatus                                *prometheus.Desc

	mu          sync.Mutex
	transCounts map[string]*[3]uint64 // check -> transitions by the status changed to
}

var _ prometheus.Collector = (*Collector)(nil)

// probes are the Monitor's probes, with their label values.
var probes = [...]struct {
	kind  health.Kind
	label string
}{{health.Liveness, "liveness"}, {health.Readiness, "readiness"}, {health.Startup, "startup"}, {health.All, "all"}}

var statuses = [...]health.Status{health.StatusUp, health.StatusDegraded, health.StatusDown}

// New returns a Collector of m, subscribed to m for as long as both live
// (see [health.Monitor.Subscribe]): create one Collector per Monitor.
// Register the Collector with a prometheus.Registerer:
//
//	prometheus.MustRegister(healthprom.New(m, healthprom.Options{}))
func New(m *health.Monitor, opts Options) *Collector {
	ns := opts.Namespace
	if ns == "" {
		ns = "health"
	}
	buckets := opts.Buckets
	if len(buckets) == 0 {
		buckets = DefaultBuckets
	}
	cl := opts.ConstLabels
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, cl)
	}
	c := &Collector{
		m: m,
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:   ns,
			Name:        "check_duration_seconds",
			Help:        "Duration of health check runs.",
			ConstLabels: cl,
			Buckets:     buckets,
		}, []string{"check"}),
		up:          desc("check_up", "Whether the health check is UP (1) or DOWN (0, also before its first run).", "check", "kind", "critical"),
		transitions: desc("check_transitions_total", "Status changes of the health check, by the status changed to.", "check", "to"),
		lastSuccess: desc("check_last_success_timestamp_seconds", "Unix time of the last successful run of the health check.", "check"),
		consecFails: desc("check_consecutive_failures", "Failed runs of the health check since its last success.", "check"),
		observed:    desc("check_observed_value", "The value the health check observed in its latest run, in its unit.", "check", "unit"),
		probeUp:     desc("probe_up", "Whether the probe answers 200 (1: UP or DEGRADED) or 503 (0: DOWN).", "probe"),
		probeStatus: desc("probe_status", "The probe's current status (1) among UP, DEGRADED and DOWN.", "probe", "status"),
		degraded:    desc("check_degraded", "Whether the health check succeeds far slower than its learned normal (1) or not (0).", "check"),
		baseline:    desc("check_baseline_seconds", "The normal duration of the health check learned by its baseline.", "check"),
		transCounts: make(map[string]*[3]uint64),
	}
	// The Collector follows m for as long as both live: it is registered
	// once, with the Monitor it exports.
	m.Subscribe(health.Subscriber{
		OnResult: func(r health.Result) {
			c.durations.WithLabelValues(r.Name).Observe(r.Duration.Seconds())
		},
		OnCheck: func(e health.CheckEvent) {
			c.mu.Lock()
			defer c.mu.Unlock()
			n := c.transCounts[e.Result.Name]
			if n == nil {
				n = new([3]uint64)
				c.transCounts[e.Result.Name] = n
			}
			if int(e.To) < len(n) {
				n[e.To]++
			}
		},
	})
	return c
}

// Describe sends the descriptors of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	c.durations.Describe(ch)
	for _, d := range []*prometheus.Desc{c.up, c.transitions, c.lastSuccess, c.consecFails, c.observed, c.degraded, c.baseline, c.probeUp, c.probeStatus} {
		ch <- d
	}
}

// Collect sends the current metrics. It reads recorded results only.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	all := c.m.Peek(health.All)
	c.mu.Lock()
	trans := make(map[string][3]uint64, len(c.transCounts))
	for name, n := range c.transCounts {
		trans[name] = *n
	}
	c.mu.Unlock()
	for i := range all.Checks {
		r := &all.Checks[i]
		up := 0.0
		deg := 0.0
		switch r.Status {
		case health.StatusUp:
			up = 1
		case health.StatusDegraded:
			up, deg = 1, 1
		}
		send(ch, c.degraded, prometheus.GaugeValue, deg, r.Name)
		if r.Baseline > 0 {
			send(ch, c.baseline, prometheus.GaugeValue, r.Baseline.Seconds(), r.Name)
		}
		send(ch, c.up, prometheus.GaugeValue, up, r.Name, r.Kinds.String(), strconv.FormatBool(r.Critical))
		n := trans[r.Name]
		send(ch, c.transitions, prometheus.CounterValue, float64(n[health.StatusUp]), r.Name, "up")
		send(ch, c.transitions, prometheus.CounterValue, float64(n[health.StatusDegraded]), r.Name, "degraded")
		send(ch, c.transitions, prometheus.CounterValue, float64(n[health.StatusDown]), r.Name, "down")
		send(ch, c.consecFails, prometheus.GaugeValue, float64(r.ConsecutiveFailures), r.Name)
		if !r.LastSuccess.IsZero() {
			send(ch, c.lastSuccess, prometheus.GaugeValue,
				float64(r.LastSuccess.UnixNano())/1e9, r.Name)
		}
		if o := r.Observation; o != nil {
			send(ch, c.observed, prometheus.GaugeValue, o.Value, r.Name, strings.ToValidUTF8(o.Unit, "?"))
		}
	}
	c.durations.Collect(ch)
	for _, p := range probes {
		st := all.Status
		if p.kind != health.All {
			st = c.m.Peek(p.kind).Status
		}
		up := 0.0
		if st != health.StatusDown {
			up = 1
		}
		send(ch, c.probeUp, prometheus.GaugeValue, up, p.label)
		for _, s := range statuses {
			v := 0.0
			if s == st {
				v = 1
			}
			send(ch, c.probeStatus, prometheus.GaugeValue, v, p.label, s.String())
		}
	}
}

// send sends a const metric, or an invalid metric that the registry reports
// as a scrape error: a bad label value never panics.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

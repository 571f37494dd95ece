package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/store"
)

// DefaultBuckets are the latency histograms' buckets, in seconds: from
// 100 µs (a write that joined a group commit) to 10 s (a stuck disk, or a
// probe at its timeout).
var DefaultBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// RecorderOptions configure a Recorder. The zero value is useful.
type RecorderOptions struct {
	// Namespace is the first part of every metric name. Default "vitals".
	Namespace string
	// ConstLabels are added to every series. Default none.
	ConstLabels prometheus.Labels
	// Buckets of the latency histograms, in seconds. Default
	// DefaultBuckets.
	Buckets []float64
}

// Recorder counts the daemon's events as they happen, by decorating what
// produces them:
//
//	vitals_pings_received_total{kind}             pings recorded, by kind (success, start, fail, log, exitstatus)
//	vitals_ping_errors_total{reason}              pings not recorded: not_found, store
//	vitals_ping_ingest_duration_seconds           Engine.Ping, from the call to durable (histogram)
//	vitals_store_write_duration_seconds{op}       store writes: apply, create, update, delete, notification (histogram)
//	vitals_store_write_errors_total{op}           failed store writes
//	vitals_probe_duration_seconds{result}         probe durations reported by the pull scheduler, ok or fail (histogram)
//
// It is a prometheus.Collector (or pass it as Options.Recorder to New). It
// is safe for concurrent use, starts no goroutine and needs no stopping.
type Recorder struct {
	pings       *prometheus.CounterVec
	pingErrors  *prometheus.CounterVec
	ingest      prometheus.Histogram
	writes      *prometheus.HistogramVec
	writeErrors *prometheus.CounterVec
	probes      *prometheus.HistogramVec

	pingsByKind map[model.PingKind]prometheus.Counter
	opApply     prometheus.Observer
}

var _ prometheus.Collector = (*Recorder)(nil)

// pingKinds are the kinds a ping can be sent with.
var pingKinds = []model.PingKind{model.PingSuccess, model.PingStart, model.PingFail, model.PingLog, model.PingExitStatus}

// Store write operations, the values of the op label.
const (
	OpApply        = "apply"
	OpCreate       = "create"
	OpUpdate       = "update"
	OpDelete       = "delete"
	OpNotification = "notification"
)

// NewRecorder returns a Recorder whose series all exist from the start (at
// zero), so that rate() works from the first scrape.
func NewRecorder(opts RecorderOptions) *Recorder {
	ns := opts.Namespace
	if ns == "" {
		ns = "vitals"
	}
	b := opts.Buckets
	if len(b) == 0 {
		b = DefaultBuckets
	}
	cl := opts.ConstLabels
	r := &Recorder{
		pings: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "pings_received_total",
			Help: "Pings recorded, by the kind they were sent as.", ConstLabels: cl}, []string{"kind"}),
		pingErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "ping_errors_total",
			Help: "Pings not recorded: for an unknown check (not_found) or because the store failed (store).", ConstLabels: cl}, []string{"reason"}),
		ingest: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "ping_ingest_duration_seconds",
			Help: "Time to record a ping, from its arrival at the engine until it is durable.", ConstLabels: cl, Buckets: b}),
		writes: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "store_write_duration_seconds",
			Help: "Duration of store writes, by operation.", ConstLabels: cl, Buckets: b}, []string{"op"}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "store_write_errors_total",
			Help: "Failed store writes, by operation.", ConstLabels: cl}, []string{"op"}),
		probes: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "probe_duration_seconds",
			Help: "Duration of probes of pull checks, by result.", ConstLabels: cl, Buckets: b}, []string{"result"}),
		pingsByKind: make(map[model.PingKind]prometheus.Counter),
	}
	for _, k := range pingKinds {
		r.pingsByKind[k] = r.pings.WithLabelValues(string(k))
	}
	for _, reason := range []string{"not_found", "store"} {
		r.pingErrors.WithLabelValues(reason)
	}
	for _, op := range []string{OpApply, OpCreate, OpUpdate, OpDelete, OpNotification} {
		r.writes.WithLabelValues(op)
		r.writeErrors.WithLabelValues(op)
	}
	r.opApply = r.writes.WithLabelValues(OpApply)
	for _, res := range []string{"ok", "fail"} {
		r.probes.WithLabelValues(res)
	}
	return r
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	r.pings.Describe(ch)
	r.pingErrors.Describe(ch)
	r.ingest.Describe(ch)
	r.writes.Describe(ch)
	r.writeErrors.Describe(ch)
	r.probes.Describe(ch)
}

// Collect implements prometheus.Collector.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	r.pings.Collect(ch)
	r.pingErrors.Collect(ch)
	r.ingest.Collect(ch)
	r.writes.Collect(ch)
	r.writeErrors.Collect(ch)
	r.probes.Collect(ch)
}

// PingEngine is ping.Engine, instrumented by Recorder.Pings.
type PingEngine struct {
	ping.Engine
	r *Recorder
}

var _ ping.Engine = (*PingEngine)(nil)

// Pings returns e with Ping counted by kind and timed (ingest latency).
// Give it to ping.New in place of the engine.
func (r *Recorder) Pings(e ping.Engine) *PingEngine { return &PingEngine{Engine: e, r: r} }

// Ping records the ping through the wrapped engine, counting and timing it.
func (p *PingEngine) Ping(ctx context.Context, id model.CheckID, pg model.Ping) (model.State, error) {
	start := time.Now()
	st, err := p.Engine.Ping(ctx, id, pg)
	switch {
	case err == nil:
		p.r.ingest.Observe(time.Since(start).Seconds())
		if c, ok := p.r.pingsByKind[pg.Kind]; ok {
			c.Inc()
		} else {
			p.r.pings.WithLabelValues(string(pg.Kind)).Inc()
		}
	case errors.Is(err, store.ErrNotFound):
		p.r.pingErrors.WithLabelValues("not_found").Inc()
	default:
		p.r.pingErrors.WithLabelValues("store").Inc()
	}
	return st, err
}

// Reporter is how the pull scheduler reports probe results;
// *watchdog.Engine implements it.
type Reporter interface {
	Report(ctx context.Context, id model.CheckID, r model.Result) (model.State, error)
}

// ReportFunc adapts a function to Reporter.
type ReportFunc func(ctx context.Context, id model.CheckID, r model.Result) (model.State, error)

// Report calls f.
func (f ReportFunc) Report(ctx context.Context, id model.CheckID, r model.Result) (model.State, error) {
	return f(ctx, id, r)
}

// Reporter returns e with each result's duration observed in
// vitals_probe_duration_seconds. Give it to the pull scheduler in place of
// the engine.
func (r *Recorder) Reporter(e Reporter) Reporter {
	return ReportFunc(func(ctx context.Context, id model.CheckID, res model.Result) (model.State, error) {
		l := "fail"
		if res.OK {
			l = "ok"
		}
		r.probes.WithLabelValues(l).Observe(res.Duration.Seconds())
		return e.Report(ctx, id, res)
	})
}

package metrics

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vitals-go/vitals/internal/model"
)

// Source is what the Collector reads on each scrape; *watchdog.Engine
// implements it.
type Source interface {
	// List returns every check and its state, without waiting for store
	// writes.
	List() []model.CheckState
	// PendingDeadlines returns how many deadline timers are armed.
	PendingDeadlines() int
}

// Options configure a Collector. The zero value is useful.
type Options struct {
	// Namespace is the first part of every metric name. Default "vitals".
	Namespace string
	// ConstLabels are added to every series. Default none.
	ConstLabels prometheus.Labels
	// Recorder, when set, is collected with the Collector, so one
	// registration exports everything. Default nil.
	Recorder *Recorder
	// Now returns the current time, for the display status (grace,
	// started). Default time.Now.
	Now func() time.Time
}

// Statuses are the values of the status label, every status
// model.State.Display returns.
var Statuses = []model.Status{
	model.StatusNew, model.StatusUp, model.StatusGrace, model.StatusStarted,
	model.StatusDown, model.StatusFlapping, model.StatusPaused,
}

// Collector is a prometheus.Collector of every check of the engine:
//
//	vitals_check_up{check,unique_key,kind,status}          1 when the check is up, else 0
//	vitals_check_last_ping_timestamp_seconds{check,unique_key}    last ping or probe result (absent before one)
//	vitals_check_last_success_timestamp_seconds{check,unique_key} last success (absent before one)
//	vitals_check_last_duration_seconds{check,unique_key}   last run time or probe duration (absent when unknown)
//	vitals_check_deadline_timestamp_seconds{check,unique_key}     when the check goes down unless pinged (absent when none)
//	vitals_check_pings_total{check,unique_key}             pings received
//	vitals_check_flips_total{check,unique_key}             status changes
//	vitals_checks{kind,status}                             how many checks are in each status
//	vitals_deadlines_pending                               armed deadline timers
//
// check is the check's name, unique_key the hex SHA-1 of its UUID (as the
// API shows to read-only keys: the UUID is the ping secret and never
// appears in /metrics), kind "push" or "pull", status the displayed status
// (new, up, grace, started, down, flapping, paused). The counters come from
// the stored state, so they survive restarts of the watchdog.
//
// It is safe for concurrent use, starts no goroutine and needs no stopping.
type Collector struct {
	src    Source
	rec    *Recorder
	now    func() time.Time
	labels labelCache

	up, lastPing, lastSuccess, lastDuration, deadline, pings, flips *prometheus.Desc
	checks, pending                                                 *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector reading src. Register it with a
// prometheus.Registerer.
func New(src Source, opts Options) *Collector {
	ns := opts.Namespace
	if ns == "" {
		ns = "vitals"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, opts.ConstLabels)
	}
	per := []string{"check", "unique_key"}
	return &Collector{
		src:          src,
		rec:          opts.Recorder,
		now:          opts.Now,
		up:           desc("check_up", "Whether the check is up (1) or not (0: new, down, flapping or paused; the status label says which).", "check", "unique_key", "kind", "status"),
		lastPing:     desc("check_last_ping_timestamp_seconds", "Unix time of the check's last ping (push) or probe result (pull).", per...),
		lastSuccess:  desc("check_last_success_timestamp_seconds", "Unix time of the check's last success.", per...),
		lastDuration: desc("check_last_duration_seconds", "Run time of the check's last finished run (push) or duration of its last probe (pull).", per...),
		deadline:     desc("check_deadline_timestamp_seconds", "Unix time at which the check goes down unless it is pinged.", per...),
		pings:        desc("check_pings_total", "Pings received by the check.", per...),
		flips:        desc("check_flips_total", "Status changes of the check.", per...),
		checks:       desc("checks", "Number of checks by kind and displayed status.", "kind", "status"),
		pending:      desc("deadlines_pending", "Deadline timers armed in the engine.", nil...),
	}
}

// Describe sends the descriptors of every series.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.lastPing, c.lastSuccess, c.lastDuration, c.deadline, c.pings, c.flips, c.checks, c.pending} {
		ch <- d
	}
	if c.rec != nil {
		c.rec.Describe(ch)
	}
}

var kinds = []model.Kind{model.KindPush, model.KindPull}

// Collect sends the current series. It reads the engine's memory only.
// Concurrent scrapes are serialised.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	all := c.src.List()
	var counts [2][7]int // kind × status
	// At most 7 samples per check, allocated at once.
	samples := make([]sample, 0, 7*len(all))
	add := func(d *prometheus.Desc, labels []*dto.LabelPair, counter bool, v float64) {
		samples = append(samples, sample{desc: d, labels: labels, counter: counter, v: v})
		ch <- &samples[len(samples)-1]
	}
	c.labels.begin()
	defer c.labels.end()
	for i := range all {
		ck, st := &all[i].Check, &all[i].State
		status := st.Display(now)
		l := c.labels.getLocked(c, ck, status)
		up := 0.0
		if st.Status == model.StatusUp {
			up = 1
		}
		add(c.up, l.upPairs, false, up)
		if ki, si := kindIndex(ck.Kind), statusIndex(status); ki >= 0 && si >= 0 {
			counts[ki][si]++
		}
		if !st.LastPing.IsZero() {
			add(c.lastPing, l.per, false, unix(st.LastPing))
		}
		if !st.LastSuccess.IsZero() {
			add(c.lastSuccess, l.per, false, unix(st.LastSuccess))
		}
		if st.LastDuration > 0 {
			add(c.lastDuration, l.per, false, st.LastDuration.Seconds())
		}
		if !st.Deadline.IsZero() {
			add(c.deadline, l.per, false, unix(st.Deadline))
		}
		add(c.pings, l.per, true, float64(st.NPings))
		add(c.flips, l.per, true, float64(st.NFlips))
	}
	for ki, k := range kinds {
		for si, s := range Statuses {
			send(ch, c.checks, prometheus.GaugeValue, float64(counts[ki][si]), string(k), string(s))
		}
	}
	send(ch, c.pending, prometheus.GaugeValue, float64(c.src.PendingDeadlines()))
	if c.rec != nil {
		c.rec.Collect(ch)
	}
}

func kindIndex(k model.Kind) int {
	for i, kk := range kinds {
		if kk == k {
			return i
		}
	}
	return -1
}

func statusIndex(s model.Status) int {
	for i, ss := range Statuses {
		if ss == s {
			return i
		}
	}
	return -1
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// label makes s a valid label value (UTF-8), so one odd name never fails a
// whole scrape.
func label(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
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

package metrics

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vitals-go/vitals/internal/model"
)

// Source is what the Collector reads on each scrape; *watchdog.Engine
// implements it. A scrape reads memory only: never the store.
type Source interface {
	// Refs returns a live reference to every check (in any order), whose
	// snapshots are read without copying them or waiting for store writes.
	Refs() ([]model.CheckRef, uint64)
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
	// OmitPerCheck leaves out the per-check series (vitals_check_*: seven
	// per check, 600,000 at 100,000 checks), keeping the totals and the
	// per-tag aggregates. Default false: per-check series are exported.
	OmitPerCheck bool
	// MaxTags bounds the tags given per-tag aggregates (vitals_tag_*), the
	// first ones in byte order; the others are counted in
	// vitals_tags_omitted. Default DefaultMaxTags; negative: no per-tag
	// series.
	MaxTags int
}

// DefaultMaxTags is the default Options.MaxTags.
const DefaultMaxTags = 1000

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
//	vitals_tag_checks{tag,status}                          how many checks with the tag are in each status
//	vitals_tag_pings_total{tag}, vitals_tag_flips_total{tag} sums over the checks with the tag
//	vitals_tags_omitted                                    tags past Options.MaxTags, without series
//
// Options.OmitPerCheck leaves the vitals_check_* series out.
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

	omitPerCheck bool
	maxTags      int
	order        refOrder
	// heads are the families' HELP and TYPE lines and names their full
	// names, for WritePerCheck.
	heads, names map[*prometheus.Desc]string

	up, lastPing, lastSuccess, lastDuration, deadline, pings, flips *prometheus.Desc
	checks, pending                                                 *prometheus.Desc
	tagChecks, tagPings, tagFlips, tagsOmitted                      *prometheus.Desc
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
	if opts.MaxTags == 0 {
		opts.MaxTags = DefaultMaxTags
	}
	heads, names := make(map[*prometheus.Desc]string), make(map[*prometheus.Desc]string)
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		fq := prometheus.BuildFQName(ns, "", name)
		d := prometheus.NewDesc(fq, help, labels, opts.ConstLabels)
		heads[d], names[d] = familyHead(fq, help), fq
		return d
	}
	per := []string{"check", "unique_key"}
	c := &Collector{
		src:          src,
		rec:          opts.Recorder,
		now:          opts.Now,
		omitPerCheck: opts.OmitPerCheck,
		maxTags:      max(opts.MaxTags, 0),
		up:           desc("check_up", "Whether the check is up (1) or not (0: new, down, flapping or paused; the status label says which).", "check", "unique_key", "kind", "status"),
		lastPing:     desc("check_last_ping_timestamp_seconds", "Unix time of the check's last ping (push) or probe result (pull).", per...),
		lastSuccess:  desc("check_last_success_timestamp_seconds", "Unix time of the check's last success.", per...),
		lastDuration: desc("check_last_duration_seconds", "Run time of the check's last finished run (push) or duration of its last probe (pull).", per...),
		deadline:     desc("check_deadline_timestamp_seconds", "Unix time at which the check goes down unless it is pinged.", per...),
		pings:        desc("check_pings_total", "Pings received by the check.", per...),
		flips:        desc("check_flips_total", "Status changes of the check.", per...),
		checks:       desc("checks", "Number of checks by kind and displayed status.", "kind", "status"),
		pending:      desc("deadlines_pending", "Deadline timers armed in the engine.", nil...),
		tagChecks:    desc("tag_checks", "Number of checks with the tag, by displayed status.", "tag", "status"),
		tagPings:     desc("tag_pings_total", "Pings received by the checks that have the tag now (a sum: it drops when a check leaves the tag).", "tag"),
		tagFlips:     desc("tag_flips_total", "Status changes of the checks that have the tag now (a sum: it drops when a check leaves the tag).", "tag"),
		tagsOmitted:  desc("tags_omitted", "Tags left without vitals_tag_* series, past the collector's tag bound.", nil...),
	}
	c.heads, c.names = heads, names
	return c
}

// Describe sends the descriptors of every series.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.lastPing, c.lastSuccess, c.lastDuration, c.deadline, c.pings, c.flips, c.checks, c.pending,
		c.tagChecks, c.tagPings, c.tagFlips, c.tagsOmitted} {
		ch <- d
	}
	if c.rec != nil {
		c.rec.Describe(ch)
	}
}

var kinds = []model.Kind{model.KindPush, model.KindPull}

// Collect sends the current series. It reads the engine's memory only
// (the checks' published snapshots, uncopied), never the store.
// Concurrent scrapes are serialised.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	refs := c.order.sorted(c.src)
	var counts [2][7]int // kind × status
	tags := make(map[string]*tagTotals)
	var samples []sample
	if !c.omitPerCheck {
		// At most 7 samples per check, allocated at once.
		samples = make([]sample, 0, 7*len(refs))
		c.labels.begin()
		defer c.labels.end()
	}
	add := func(d *prometheus.Desc, labels []*dto.LabelPair, counter bool, v float64) {
		samples = append(samples, sample{desc: d, labels: labels, counter: counter, v: v})
		ch <- &samples[len(samples)-1]
	}
	for _, r := range refs {
		cs := r.Load()
		ck, st := &cs.Check, &cs.State
		status := st.Display(now)
		si := statusIndex(status)
		if ki := kindIndex(ck.Kind); ki >= 0 && si >= 0 {
			counts[ki][si]++
		}
		if c.maxTags > 0 {
			for _, t := range ck.Tags {
				t = label(t) // two tags that label alike are one series
				tt := tags[t]
				if tt == nil {
					tt = &tagTotals{}
					tags[t] = tt
				}
				if si >= 0 {
					tt.statuses[si]++
				}
				tt.pings += st.NPings
				tt.flips += st.NFlips
			}
		}
		if c.omitPerCheck {
			continue
		}
		l := c.labels.getLocked(c, ck, status, true)
		up := 0.0
		if st.Status == model.StatusUp {
			up = 1
		}
		add(c.up, l.upPairs, false, up)
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
	c.collectTags(ch, tags)
	send(ch, c.pending, prometheus.GaugeValue, float64(c.src.PendingDeadlines()))
	if c.rec != nil {
		c.rec.Collect(ch)
	}
}

// refOrder keeps the checks' refs sorted by name, then id, between
// scrapes, re-sorting them only when the source's generation moves (a
// check added, removed or renamed): the registry sorts every family's
// series by their labels on each scrape, and series that come sorted
// (check is the first label) make that sort a linear pass instead of the
// largest cost of a scrape of 100,000 checks.
type refOrder struct {
	mu   sync.Mutex
	gen  uint64
	refs []model.CheckRef
}

func (o *refOrder) sorted(src Source) []model.CheckRef {
	refs, gen := src.Refs()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.refs != nil && gen == o.gen && len(refs) == len(o.refs) {
		return o.refs
	}
	slices.SortFunc(refs, func(a, b model.CheckRef) int {
		x, y := &a.Load().Check, &b.Load().Check
		if c := strings.Compare(x.Name, y.Name); c != 0 {
			return c
		}
		return bytes.Compare(x.ID[:], y.ID[:])
	})
	o.refs, o.gen = refs, gen
	return refs
}

// tagTotals are one tag's aggregates during a scrape.
type tagTotals struct {
	statuses     [7]int // by Statuses
	pings, flips int64
}

// collectTags sends the per-tag aggregates of the first c.maxTags tags
// (in byte order) and how many tags were left out.
func (c *Collector) collectTags(ch chan<- prometheus.Metric, tags map[string]*tagTotals) {
	if c.maxTags <= 0 {
		return
	}
	names := slices.Sorted(maps.Keys(tags))
	omitted := max(len(names)-c.maxTags, 0)
	names = names[:len(names)-omitted]
	for _, t := range names {
		tt := tags[t]
		for si, s := range Statuses {
			send(ch, c.tagChecks, prometheus.GaugeValue, float64(tt.statuses[si]), t, string(s))
		}
		send(ch, c.tagPings, prometheus.CounterValue, float64(tt.pings), t)
		send(ch, c.tagFlips, prometheus.CounterValue, float64(tt.flips), t)
	}
	send(ch, c.tagsOmitted, prometheus.GaugeValue, float64(omitted))
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

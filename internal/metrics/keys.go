package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vitals-go/vitals/internal/model"
)

// UniqueKey returns a check's unique_key; see [model.UniqueKey].
func UniqueKey(id model.CheckID) string { return model.UniqueKey(id) }

// labelCache keeps each check's label pairs across scrapes, so that a
// scrape of an unchanged check allocates no labels (the pairs are shared
// read-only by the metrics of every scrape, as client_golang's own const
// metrics share theirs). Entries not seen during a scrape are dropped at
// its end, so deleted checks do not accumulate. Scrapes using it are
// serialised (begin locks, end unlocks).
type labelCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[model.CheckID]*checkLabels
}

// checkLabels are one check's label pairs: per for the {check,
// unique_key} series, up for vitals_check_up (which also has kind and
// status).
type checkLabels struct {
	gen          uint64
	name         string
	kind         model.Kind
	status       model.Status
	key          string
	per, upPairs []*dto.LabelPair
	// perText and upText are per and upPairs in the text format
	// ({name="value",...}), for WritePerCheck.
	perText, upText string
}

func (k *labelCache) begin() {
	k.mu.Lock()
	k.gen++
	if k.m == nil {
		k.m = make(map[model.CheckID]*checkLabels)
	}
}

// getLocked returns the label pairs of check c in status, between begin
// and end.
func (k *labelCache) getLocked(c *Collector, ck *model.Check, status model.Status) *checkLabels {
	e := k.m[ck.ID]
	if e == nil {
		e = &checkLabels{key: UniqueKey(ck.ID)}
		k.m[ck.ID] = e
	}
	e.gen = k.gen
	if e.per == nil || e.name != ck.Name {
		e.name = ck.Name
		e.per = prometheus.MakeLabelPairs(c.lastPing, []string{label(ck.Name), e.key})
		e.perText = string(appendLabels(nil, e.per))
		e.upPairs = nil
	}
	if e.upPairs == nil || e.kind != ck.Kind || e.status != status {
		e.kind, e.status = ck.Kind, status
		e.upPairs = prometheus.MakeLabelPairs(c.up, []string{label(ck.Name), e.key, label(string(ck.Kind)), string(status)})
		e.upText = string(appendLabels(nil, e.upPairs))
	}
	return e
}

func (k *labelCache) end() {
	for id, e := range k.m {
		if e.gen != k.gen {
			delete(k.m, id)
		}
	}
	k.mu.Unlock()
}

// sample is a gauge or counter with precomputed label pairs; a scrape
// allocates them in one slice.
type sample struct {
	desc    *prometheus.Desc
	labels  []*dto.LabelPair
	counter bool
	v       float64
}

func (s *sample) Desc() *prometheus.Desc { return s.desc }

func (s *sample) Write(out *dto.Metric) error {
	out.Label = s.labels
	if s.counter {
		out.Counter = &dto.Counter{Value: &s.v}
	} else {
		out.Gauge = &dto.Gauge{Value: &s.v}
	}
	return nil
}

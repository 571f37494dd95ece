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

// checkLabels are one check's labels: perText for the {check,
// unique_key} series and upText for vitals_check_up (which also has kind
// and status), in the text format ({name="value",...}) for WritePerCheck;
// per and upPairs the same as label pairs, kept only once Collect has
// needed them (the registry's path), as at 100,000 checks they are tens of
// megabytes of pointers the text path never reads.
type checkLabels struct {
	gen             uint64
	name            string
	kind            model.Kind
	status          model.Status
	key             string
	perText, upText string
	per, upPairs    []*dto.LabelPair
}

func (k *labelCache) begin() {
	k.mu.Lock()
	k.gen++
	if k.m == nil {
		k.m = make(map[model.CheckID]*checkLabels)
	}
}

// getLocked returns the labels of check c in status, between begin and
// end; with pairs, their label pairs too (Collect).
func (k *labelCache) getLocked(c *Collector, ck *model.Check, status model.Status, pairs bool) *checkLabels {
	e := k.m[ck.ID]
	if e == nil {
		e = &checkLabels{key: UniqueKey(ck.ID)}
		k.m[ck.ID] = e
	}
	e.gen = k.gen
	perPairs := func() []*dto.LabelPair {
		return prometheus.MakeLabelPairs(c.lastPing, []string{label(ck.Name), e.key})
	}
	upPairs := func() []*dto.LabelPair {
		return prometheus.MakeLabelPairs(c.up, []string{label(ck.Name), e.key, label(string(ck.Kind)), string(status)})
	}
	if e.perText == "" || e.name != ck.Name {
		e.name = ck.Name
		p := perPairs()
		e.perText = string(appendLabels(nil, p))
		e.per, e.upPairs, e.upText = nil, nil, ""
		if pairs {
			e.per = p
		}
	}
	if e.upText == "" || e.kind != ck.Kind || e.status != status {
		e.kind, e.status = ck.Kind, status
		p := upPairs()
		e.upText = string(appendLabels(nil, p))
		e.upPairs = nil
		if pairs {
			e.upPairs = p
		}
	}
	if pairs && e.per == nil {
		e.per = perPairs()
	}
	if pairs && e.upPairs == nil {
		e.upPairs = upPairs()
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

package prometheus

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// The evaluation below uses the bare promql engine over a few in-memory
// series, not promqltest: promqltest's storage drags in the TSDB and remote
// write (80 modules, some 800 MB to download on a cold CI), promql alone
// about 20.

// sample is one float sample.
type sample struct {
	t int64
	f float64
}

func (s sample) T() int64                      { return s.t }
func (s sample) ST() int64                     { return 0 }
func (s sample) F() float64                    { return s.f }
func (s sample) H() *histogram.Histogram       { return nil }
func (s sample) FH() *histogram.FloatHistogram { return nil }
func (s sample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s sample) Copy() chunks.Sample           { return s }

// memStorage is a read-only storage.Queryable over fixed series.
type memStorage struct{ series []*storage.SeriesEntry }

func (m memStorage) Querier(int64, int64) (storage.Querier, error) { return m, nil }

func (m memStorage) Select(_ context.Context, _ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	var out []storage.Series
	for _, s := range m.series {
		lset := s.Labels()
		if slices.IndexFunc(ms, func(mt *labels.Matcher) bool { return !mt.Matches(lset.Get(mt.Name)) }) < 0 {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	return &seriesSet{series: out, i: -1}
}

func (memStorage) LabelValues(context.Context, string, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (memStorage) LabelNames(context.Context, *storage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, nil
}

func (memStorage) Close() error { return nil }

type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *seriesSet) At() storage.Series                { return s.series[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// load parses series in promqltest's notation, one per line, a sample
// every step from time 0: `metric{label="v"} 1 1 0 0`.
func load(t *testing.T, step time.Duration, text string) memStorage {
	t.Helper()
	p := parser.NewParser(parser.Options{})
	var m memStorage
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		lset, values, err := p.ParseSeriesDesc(line)
		if err != nil {
			t.Fatalf("series %q: %v", line, err)
		}
		var samples []chunks.Sample
		for i, v := range values {
			if !v.Omitted {
				samples = append(samples, sample{t: int64(i) * step.Milliseconds(), f: v.Value})
			}
		}
		m.series = append(m.series, storage.NewListSeries(lset, samples))
	}
	return m
}

// eval evaluates expr at time at over st and returns "labels value" lines,
// sorted.
func eval(t *testing.T, st memStorage, expr string, at time.Duration) []string {
	t.Helper()
	ng := promql.NewEngine(promql.EngineOpts{
		Logger:        slog.New(slog.DiscardHandler),
		MaxSamples:    1e6,
		Timeout:       10 * time.Second,
		LookbackDelta: 5 * time.Minute,
	})
	q, err := ng.NewInstantQuery(context.Background(), st, nil, expr, time.UnixMilli(0).Add(at))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%s: %v", expr, res.Err)
	}
	vec, err := res.Vector()
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var out []string
	for _, s := range vec {
		out = append(out, fmt.Sprintf("%s %g", s.Metric, s.F))
	}
	slices.Sort(out)
	return out
}

// TestRulesEvaluate runs each alert's expression (taken from the rules
// file) through Prometheus' query engine over example series, checking
// what fires and what does not.
func TestRulesEvaluate(t *testing.T) {
	rules := loadRules(t)
	const a = `job="api",instance="a:8080"`
	const b = `job="api",instance="b:8080"`
	for _, tc := range []struct {
		alert  string
		series string
		at     time.Duration
		want   []string
	}{
		{
			alert: "HealthCheckDown",
			series: `
				health_check_up{` + a + `,check="db",kind="readiness",critical="true"} 1 1 0 0 0
				health_check_up{` + b + `,check="db",kind="readiness",critical="true"} 1 1 1 1 1
				health_check_up{` + a + `,check="cache",kind="readiness",critical="false"} 0 0 0 0 0`,
			at:   4 * time.Minute,
			want: []string{`{__name__="health_check_up", check="db", critical="true", instance="a:8080", job="api", kind="readiness"} 0`},
		},
		{
			alert: "HealthCheckDegraded",
			series: `
				health_check_up{` + a + `,check="db",kind="readiness",critical="true"} 0 0 0
				health_check_up{` + a + `,check="cache",kind="readiness",critical="false"} 0 0 0`,
			at:   2 * time.Minute,
			want: []string{`{__name__="health_check_up", check="cache", critical="false", instance="a:8080", job="api", kind="readiness"} 0`},
		},
		{
			// db flips at every scrape on a; on b it went down once; on a
			// the cache flipped 4 times between scrapes (seen by the
			// counter only).
			alert: "HealthCheckFlapping",
			series: `
				health_check_up{` + a + `,check="db",kind="readiness",critical="true"} 1 0 1 0 1 0 1
				health_check_up{` + b + `,check="db",kind="readiness",critical="true"} 1 1 1 0 0 0 0
				health_check_up{` + a + `,check="cache",kind="readiness",critical="false"} 1 1 1 1 1 1 1
				health_check_transitions_total{` + a + `,check="db",to="down"} 0 1 1 2 2 3 3
				health_check_transitions_total{` + a + `,check="db",to="up"} 0 0 1 1 2 2 3
				health_check_transitions_total{` + b + `,check="db",to="down"} 0 0 0 1 1 1 1
				health_check_transitions_total{` + b + `,check="db",to="up"} 0 0 0 0 0 0 0
				health_check_transitions_total{` + a + `,check="cache",to="down"} 0 0 2 2 2 2 2
				health_check_transitions_total{` + a + `,check="cache",to="up"} 0 0 2 2 2 2 2`,
			at: 6 * time.Minute,
			want: []string{
				`{check="cache", instance="a:8080", job="api"} 4`,
				`{check="db", instance="a:8080", job="api"} 6`,
			},
		},
		{
			// api: 2 of 4 instances unready; web: 1 of 5.
			alert: "HealthUnreadyInstancesHigh",
			series: `
				health_probe_up{job="api",instance="1",probe="readiness"} 0 0
				health_probe_up{job="api",instance="2",probe="readiness"} 0 0
				health_probe_up{job="api",instance="3",probe="readiness"} 1 1
				health_probe_up{job="api",instance="4",probe="readiness"} 1 1
				health_probe_up{job="api",instance="1",probe="liveness"} 1 1
				health_probe_up{job="web",instance="1",probe="readiness"} 0 0
				health_probe_up{job="web",instance="2",probe="readiness"} 1 1
				health_probe_up{job="web",instance="3",probe="readiness"} 1 1
				health_probe_up{job="web",instance="4",probe="readiness"} 1 1
				health_probe_up{job="web",instance="5",probe="readiness"} 1 1`,
			at:   time.Minute,
			want: []string{`{job="api"} 0.5`},
		},
	} {
		t.Run(tc.alert, func(t *testing.T) {
			r, ok := rules[tc.alert]
			if !ok {
				t.Fatal("no such rule")
			}
			got := eval(t, load(t, time.Minute, tc.series), r.Expr, tc.at)
			if !slices.Equal(got, tc.want) {
				t.Errorf("at %v:\n got  %q\n want %q", tc.at, got, tc.want)
			}
		})
	}
}

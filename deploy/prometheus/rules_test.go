// Package prometheus holds example Prometheus alerting rules for the
// metrics of health/healthprom, and the test that validates them with
// Prometheus' own parsers and query engine. It is a module of its own so
// that the library's go.mod does not carry Prometheus' dependencies.
package prometheus

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vitals-go/vitals/health"
	"github.com/vitals-go/vitals/health/healthprom"
)

const rulesFile = "health-alerts.yml"

// targetLabels are attached by Prometheus to every scraped series.
var targetLabels = []string{"job", "instance"}

// loadRules parses the rules file with Prometheus' rule parser, which also
// parses every expression and template, and returns the alerting rules by
// name.
func loadRules(t *testing.T) map[string]rulefmt.Rule {
	t.Helper()
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation,
		parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Errorf("%s: %v", rulesFile, err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	rules := map[string]rulefmt.Rule{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: rule %q is not an alerting rule", g.Name, r.Expr)
				continue
			}
			if _, dup := rules[r.Alert]; dup {
				t.Errorf("alert %s defined twice", r.Alert)
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s: needs a severity label and a summary annotation", r.Alert)
			}
			rules[r.Alert] = r
		}
	}
	for _, want := range []string{"HealthCheckDown", "HealthCheckDegraded", "HealthCheckFlapping", "HealthUnreadyInstancesHigh"} {
		if _, ok := rules[want]; !ok {
			t.Errorf("alert %s is missing", want)
		}
	}
	return rules
}

func TestRulesParse(t *testing.T) {
	rules := loadRules(t)
	p := parser.NewParser(parser.Options{})
	for name, r := range rules {
		if _, err := p.ParseExpr(r.Expr); err != nil {
			t.Errorf("alert %s: expression: %v", name, err)
		}
	}
}

// exported gathers what healthprom really exports for a Monitor whose
// checks have all run, failed and recovered: metric name -> label name ->
// the values seen.
func exported(t *testing.T) map[string]map[string][]string {
	t.Helper()
	m := health.New(health.Options{Logger: slog.New(slog.DiscardHandler)})
	var n atomic.Int64
	enough := make(chan struct{})
	flaky := health.CheckerFunc(func(ctx context.Context) error {
		i := n.Add(1)
		if i == 20 {
			close(enough)
		}
		if i%3 == 0 {
			return fmt.Errorf("flaky")
		}
		health.Observe(ctx, 1, "percent")
		return nil
	})
	for _, c := range []health.Check{
		{Name: "db", Checker: flaky, Kinds: health.Readiness | health.Liveness},
		{Name: "cache", Checker: flaky, NonCritical: true},
	} {
		c.Interval, c.NoStagger = time.Millisecond, true
		if err := m.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(healthprom.New(m, healthprom.Options{}))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	<-enough // every check has run, failed and succeeded
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string][]string{}
	for _, mf := range mfs {
		lv := map[string][]string{}
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				if !slices.Contains(lv[lp.GetName()], lp.GetValue()) {
					lv[lp.GetName()] = append(lv[lp.GetName()], lp.GetValue())
				}
			}
		}
		name := mf.GetName()
		out[name] = lv
		if mf.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				out[name+suffix] = lv
			}
		}
	}
	return out
}

// TestRulesUseExportedMetrics checks every selector of every rule against
// the series healthprom exports.
func TestRulesUseExportedMetrics(t *testing.T) {
	rules := loadRules(t)
	metrics := exported(t)
	p := parser.NewParser(parser.Options{})
	for name, r := range rules {
		expr, err := p.ParseExpr(r.Expr)
		if err != nil {
			t.Fatalf("alert %s: %v", name, err)
		}
		for _, problem := range selectorProblems(expr, metrics) {
			t.Errorf("alert %s: %s", name, problem)
		}
	}
}

// TestSelectorProblemsCatchesMistakes checks that the check above is not
// vacuous: typical mistakes in a rule are reported.
func TestSelectorProblemsCatchesMistakes(t *testing.T) {
	metrics := exported(t)
	p := parser.NewParser(parser.Options{})
	for expr, want := range map[string]string{
		`health_check_status == 0`:                          `"health_check_status", which healthprom does not export`,
		`health_check_up{severity="page"} == 0`:             `no label "severity"`,
		`health_probe_up{probe="ready"} == 0`:               `{probe="ready"}: healthprom writes only`,
		`health_check_up{critical="yes"}`:                   `{critical="yes"}`,
		`rate(health_check_duration_seconds_count[5m]) > 1`: ``,
		`health_check_up{job="api",check="anything"} == 0`:  ``,
	} {
		e, err := p.ParseExpr(expr)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(selectorProblems(e, metrics), "; ")
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: problems %q; want %q", expr, got, want)
		}
	}
}

// selectorProblems checks every selector of expr: the metric exists, every
// label matched on exists on it (or is a target label), and an equality
// matcher's value is one healthprom writes (check names aside, which are
// the user's).
func selectorProblems(expr parser.Expr, metrics map[string]map[string][]string) []string {
	var out []string
	for _, sel := range parser.ExtractSelectors(expr) {
		var metric string
		for _, mt := range sel {
			if mt.Name == model.MetricNameLabel && mt.Type == labels.MatchEqual {
				metric = mt.Value
			}
		}
		lv, ok := metrics[metric]
		if !ok {
			out = append(out, fmt.Sprintf("selects %q, which healthprom does not export", metric))
			continue
		}
		for _, mt := range sel {
			if mt.Name == model.MetricNameLabel || slices.Contains(targetLabels, mt.Name) {
				continue
			}
			values, ok := lv[mt.Name]
			if !ok {
				out = append(out, fmt.Sprintf("%s has no label %q", metric, mt.Name))
				continue
			}
			if mt.Type == labels.MatchEqual && mt.Name != "check" && !slices.Contains(values, mt.Value) {
				out = append(out, fmt.Sprintf("%s{%s=%q}: healthprom writes only %q", metric, mt.Name, mt.Value, values))
			}
		}
	}
	return out
}

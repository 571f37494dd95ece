package metrics_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	promodel "github.com/prometheus/common/model"

	"github.com/vitals-go/vitals/internal/metrics"
	"github.com/vitals-go/vitals/internal/model"
)

// series parses a text exposition into "family{labels} value" lines,
// sorted, failing on anything a Prometheus server would refuse.
func series(t *testing.T, body string) []string {
	t.Helper()
	parser := expfmt.NewTextParser(promodel.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%.2000s", err, body)
	}
	var out []string
	for name, f := range fams {
		out = append(out, "# "+name+" "+f.GetType().String()+" "+f.GetHelp())
		for _, m := range f.GetMetric() {
			var b strings.Builder
			b.WriteString(name)
			for _, l := range m.GetLabel() {
				b.WriteString(" " + l.GetName() + "=" + l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			b.WriteString(" " + promodel.SampleValue(v).String())
			out = append(out, b.String())
		}
	}
	slices.Sort(out)
	return out
}

// TestHandlerWritesWhatCollectSends: Handler (the registry without the
// per-check series, then WritePerCheck) serves exactly the series, types
// and help of the registry serving Collect's per-check series, for odd
// names too, plain and gzipped.
func TestHandlerWritesWhatCollectSends(t *testing.T) {
	e, _, _ := tagged(t)
	if _, err := e.Create(context.Background(), model.Check{Name: `a "quoted" \ name`, Kind: model.KindPush, Tags: []string{`t"\`}}); err != nil {
		t.Fatal(err)
	}
	full := prometheus.NewRegistry()
	full.MustRegister(metrics.New(e, metrics.Options{ConstLabels: prometheus.Labels{"site": "a"}}))
	c := metrics.New(e, metrics.Options{OmitPerCheck: true, ConstLabels: prometheus.Labels{"site": "a"}})
	split := prometheus.NewRegistry()
	split.MustRegister(c)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(full, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := series(t, rec.Body.String())
	if len(want) < 40 {
		t.Fatalf("only %d series from the registry", len(want))
	}
	h := metrics.Handler(split, c)
	for _, enc := range []string{"", "gzip"} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if enc == "gzip" {
			if rec.Header().Get("Content-Encoding") != "gzip" {
				t.Fatalf("gzip asked, Content-Encoding %q", rec.Header().Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			body = string(b)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%q: Content-Type %q", enc, ct)
		}
		if got := series(t, body); !slices.Equal(got, want) {
			t.Errorf("%q: Handler serves\n%s\nwant\n%s", enc, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

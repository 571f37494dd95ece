package daemon

import (
	"context"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	promodel "github.com/prometheus/common/model"
)

// documentedMetric is a series name in the first column of a table row of
// docs/metrics.md.
var documentedMetric = regexp.MustCompile("(?m)^\\| `(vitals_[a-z0-9_]+)`")

// TestMetricsDocMatchesServed: every series docs/metrics.md documents is
// served by a real daemon's /metrics, and every vitals_ series it serves is
// documented. The daemon runs a push check through a finished run (so the
// per-check series that are absent before a ping exist) and a pull check.
func TestMetricsDocMatchesServed(t *testing.T) {
	doc, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range documentedMetric.FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, m[1])
	}
	if len(documented) < 10 {
		t.Fatalf("found only %d metrics in docs/metrics.md: %v", len(documented), documented)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx := context.Background()
	d := newDaemon(t, ctx, `server: {listen: ["127.0.0.1:0"]}
store: {sqlite: {path: v.db}}
pings: {ping_key: pk}
checks:
  - {name: job, slug: job, period: 1h, tags: [batch]}
  - {name: port, tcp: {address: "`+ln.Addr().String()+`"}, interval: 1s}
`, nil)
	runDaemon(t, ctx, d)
	h := &harness{t: t, d: d, base: "http://" + d.Addrs()[0].String()}
	for _, p := range []string{"/ping/pk/job/start", "/ping/pk/job"} {
		if code, body := h.do("POST", p, ""); code != 200 {
			t.Fatalf("POST %s: %d %s", p, code, body)
		}
	}
	waitFor(t, "a probe of the pull check", func() bool {
		for _, cs := range d.Engine().List() {
			if cs.Check.Name == "port" {
				return !cs.State.LastPing.IsZero()
			}
		}
		return false
	})
	code, body := h.do("GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(promodel.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	served := map[string]bool{}
	for name := range fams {
		served[name] = true
	}
	// The store's commits are counted for real: the pings were committed.
	if f := fams["vitals_store_commits_total"]; f == nil || f.GetMetric()[0].GetCounter().GetValue() < 1 {
		t.Errorf("vitals_store_commits_total %v, want at least the pings' commits", f)
	}
	for _, name := range documented {
		if !served[name] {
			t.Errorf("docs/metrics.md documents %s, which /metrics does not serve", name)
		}
	}
	for name := range served {
		if strings.HasPrefix(name, "vitals_") && !slices.Contains(documented, name) {
			t.Errorf("/metrics serves %s, which docs/metrics.md does not document", name)
		}
	}
}

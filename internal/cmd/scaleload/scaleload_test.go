package main

import (
	"bufio"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	promodel "github.com/prometheus/common/model"
)

// The histogram's quantiles land within its 2 % buckets.
func TestHistQuantile(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for q, want := range map[float64]float64{0.5: 500, 0.99: 990} {
		got := ms(h.quantile(q))
		if math.Abs(got-want)/want > 0.03 {
			t.Errorf("p%v = %v ms, want %v ± 3 %%", q*100, got, want)
		}
	}
}

// quantile interpolates cumulative buckets as Prometheus does.
func TestQuantile(t *testing.T) {
	b := map[float64]float64{0.1: 50, 1: 100, math.Inf(1): 100}
	if got, n := quantile(0.5, b); got != 0.1 || n != 100 {
		t.Errorf("p50 %v of %v", got, n)
	}
	if got, _ := quantile(0.75, b); math.Abs(got-0.55) > 1e-9 {
		t.Errorf("p75 %v, want 0.55", got)
	}
	if got, _ := quantile(0.5, map[float64]float64{}); !math.IsNaN(got) {
		t.Errorf("empty: %v", got)
	}
}

// histogram reads a histogram as the watchdog exposes it, the +Inf bucket
// included, and subtracts the scrape before: 10 observations of which 6
// came after the first scrape, the slowest at 2 s. (The text parser keeps
// the +Inf bucket among the buckets; counting it again from the sample
// count doubled the total, and every quantile read from the top half: the
// p50 was the maximum and the p99 "≥ the last bucket".)
func TestHistogramFromText(t *testing.T) {
	parse := func(text string) families {
		t.Helper()
		p := expfmt.NewTextParser(promodel.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		return fams
	}
	const head = "# HELP lag x\n# TYPE lag histogram\n"
	before := parse(head + `lag_bucket{le="0.1"} 4
lag_bucket{le="1"} 4
lag_bucket{le="2.5"} 4
lag_bucket{le="+Inf"} 4
lag_sum 0.2
lag_count 4
`)
	after := parse(head + `lag_bucket{le="0.1"} 8
lag_bucket{le="1"} 9
lag_bucket{le="2.5"} 10
lag_bucket{le="+Inf"} 10
lag_sum 3
lag_count 10
`)
	b := after.histogram("lag", before)
	if b[math.Inf(1)] != 6 {
		t.Fatalf("count %v, want 6 (buckets %v)", b[math.Inf(1)], b)
	}
	if got, n := quantile(0.5, b); n != 6 || got > 0.1 {
		t.Errorf("p50 %v of %v, want ≤ 0.1 of 6", got, n)
	}
	if got, _ := quantile(0.99, b); got <= 1 || got > 2.5 {
		t.Errorf("p99 %v, want in (1, 2.5]", got)
	}
}

// roundTrip reads answers of a real server back to back on one
// connection, with and without a body, and sees Connection: close.
func TestRoundTrip(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/close") {
			w.Header().Set("Connection", "close")
		}
		if strings.HasSuffix(r.URL.Path, "/new") {
			w.WriteHeader(http.StatusCreated)
		}
		w.Write([]byte("OK"))
	}))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for _, tc := range []struct {
		path   string
		status int
		keep   bool
	}{{"/ping/a", 200, true}, {"/ping/new", 201, true}, {"/ping/close", 200, false}} {
		status, keep, err := roundTrip(c, br, request(tc.path))
		if err != nil || status != tc.status || keep != tc.keep {
			t.Errorf("%s: %d %v %v", tc.path, status, keep, err)
		}
	}
}

// The silent checks are the asked share of the file's heartbeat checks.
func TestIsLate(t *testing.T) {
	w := &workload{fileHB: 88_200, late: 2_646}
	n := 0
	for i := range w.fileHB + 100 {
		if w.isLate(i) {
			n++
		}
	}
	if n != w.late {
		t.Errorf("%d silent, want %d", n, w.late)
	}
}

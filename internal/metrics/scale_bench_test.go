package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vitals-go/vitals/internal/metrics"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/watchdog"
	"github.com/vitals-go/vitals/internal/watchdog/watchdogtest"
)

// sqliteEngine is a real engine on SQLite (Synchronous OFF: only the setup
// writes; a scrape never touches the store) with n push checks in 100
// tags ("team-NN"), two thirds of them pinged (a start and a success: up,
// with a last ping, a run time and a deadline), the rest new.
func sqliteEngine(b *testing.B, n int) *watchdog.Engine {
	b.Helper()
	e, _ := watchdogtest.SQLite(b, n, func(i int) model.Check {
		return model.Check{Name: fmt.Sprintf("job-%06d", i), Kind: model.KindPush,
			Tags: []string{fmt.Sprintf("team-%02d", i%100)}, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}
	}, func(i int) []model.PingKind {
		if i%3 == 0 {
			return nil
		}
		return []model.PingKind{model.PingStart, model.PingSuccess}
	})
	return e
}

// discard is a ResponseWriter that counts the body and keeps none of it,
// as a server streams a scrape to its socket (httptest.ResponseRecorder
// would grow a 68 MB buffer at 100,000 checks).
type discard struct {
	h    http.Header
	code int
	n    int
}

func (d *discard) Header() http.Header  { return d.h }
func (d *discard) WriteHeader(code int) { d.code = code }
func (d *discard) Write(p []byte) (int, error) {
	d.n += len(p)
	return len(p), nil
}

// stream serves one /metrics request (text format, no compression) and
// returns the body size.
func stream(b *testing.B, h http.Handler) int {
	d := &discard{h: http.Header{}}
	h.ServeHTTP(d, httptest.NewRequest("GET", "/metrics", nil))
	if d.code != 0 && d.code != 200 {
		b.Fatalf("scrape: %d", d.code)
	}
	return d.n
}

// BenchmarkScrapeScale is a full /metrics scrape (text format,
// uncompressed) of 10,000 and 100,000 checks on SQLite, the 10,000
// figures being the same run's baseline. gathered: every series through
// the registry (promhttp), as before issue 14; per-check: every series,
// the daemon's way (metrics.Handler: the registry without the per-check
// series, which are then written straight in the text format); tags:
// metrics.per_check off (totals and 100 tags' aggregates only).
//
//	go test -run '^$' -bench ScrapeScale -benchtime 5x ./internal/metrics/
func BenchmarkScrapeScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		e := sqliteEngine(b, n)
		for _, mode := range []string{"gathered", "per-check", "tags"} {
			b.Run(fmt.Sprintf("checks=%d/%s", n, mode), func(b *testing.B) {
				c := metrics.New(e, metrics.Options{Recorder: metrics.NewRecorder(metrics.RecorderOptions{}), OmitPerCheck: mode != "gathered"})
				reg := prometheus.NewRegistry()
				reg.MustRegister(c)
				h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
				if mode == "per-check" {
					h = metrics.Handler(reg, c)
				}
				size := stream(b, h)
				b.ReportAllocs()
				for b.Loop() {
					stream(b, h)
				}
				b.ReportMetric(float64(size), "body-bytes")
			})
		}
	}
}

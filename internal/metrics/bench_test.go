package metrics_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vitals-go/vitals/internal/metrics"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// benchEngine is a real engine with n push checks, two thirds of them
// pinged (up, with a last ping, a run time and a deadline), the rest new.
func benchEngine(b *testing.B, n int) *watchdog.Engine {
	b.Helper()
	st := memstore.New(memstore.Options{})
	e := watchdog.New(st, watchdog.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := e.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close(); st.Close() })
	ctx := context.Background()
	for i := range n {
		c, err := e.Create(ctx, model.Check{Name: fmt.Sprintf("job-%05d", i), Kind: model.KindPush,
			Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}})
		if err != nil {
			b.Fatal(err)
		}
		if i%3 != 0 {
			if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingStart}); err != nil {
				b.Fatal(err)
			}
			if _, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return e
}

// scrape serves one /metrics request (text format, no compression) and
// returns the body size.
func scrape(b *testing.B, h http.Handler) int {
	req := httptest.NewRequest("GET", "/metrics", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.Len()
}

const benchChecks = 10_000

// BenchmarkScrape10k is a full /metrics scrape of 10,000 checks through
// promhttp: Engine.List, the Collector, gathering and text encoding.
func BenchmarkScrape10k(b *testing.B) {
	e := benchEngine(b, benchChecks)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(e, metrics.Options{Recorder: metrics.NewRecorder(metrics.RecorderOptions{})}))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	size := scrape(b, h)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		scrape(b, h)
	}
	b.ReportMetric(float64(size), "body-bytes")
}

// BenchmarkScrape10kBaseline scrapes the same per-check series held in
// plain client_golang GaugeVec / CounterVec metrics, set once: what the
// registry and the encoder cost for these series, without reading the
// engine.
func BenchmarkScrape10kBaseline(b *testing.B) {
	e := benchEngine(b, benchChecks)
	per := []string{"check", "unique_key"}
	up := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_up", Help: "h"}, []string{"check", "unique_key", "kind", "status"})
	lastPing := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_last_ping_timestamp_seconds", Help: "h"}, per)
	lastSuccess := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_last_success_timestamp_seconds", Help: "h"}, per)
	lastDuration := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_last_duration_seconds", Help: "h"}, per)
	deadline := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vitals_check_deadline_timestamp_seconds", Help: "h"}, per)
	pings := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vitals_check_pings_total", Help: "h"}, per)
	flips := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vitals_check_flips_total", Help: "h"}, per)
	reg := prometheus.NewRegistry()
	reg.MustRegister(up, lastPing, lastSuccess, lastDuration, deadline, pings, flips)
	now := time.Now()
	for _, cs := range e.List() {
		c, s := cs.Check, cs.State
		k := metrics.UniqueKey(c.ID)
		v := 0.0
		if s.Status == model.StatusUp {
			v = 1
		}
		up.WithLabelValues(c.Name, k, string(c.Kind), string(s.Display(now))).Set(v)
		if !s.LastPing.IsZero() {
			lastPing.WithLabelValues(c.Name, k).Set(float64(s.LastPing.UnixNano()) / 1e9)
		}
		if !s.LastSuccess.IsZero() {
			lastSuccess.WithLabelValues(c.Name, k).Set(float64(s.LastSuccess.UnixNano()) / 1e9)
		}
		if s.LastDuration > 0 {
			lastDuration.WithLabelValues(c.Name, k).Set(s.LastDuration.Seconds())
		}
		if !s.Deadline.IsZero() {
			deadline.WithLabelValues(c.Name, k).Set(float64(s.Deadline.UnixNano()) / 1e9)
		}
		pings.WithLabelValues(c.Name, k).Add(float64(s.NPings))
		flips.WithLabelValues(c.Name, k).Add(float64(s.NFlips))
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	size := scrape(b, h)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		scrape(b, h)
	}
	b.ReportMetric(float64(size), "body-bytes")
}

// BenchmarkEngineList10k is the Collector's read of the engine alone.
func BenchmarkEngineList10k(b *testing.B) {
	e := benchEngine(b, benchChecks)
	b.ReportAllocs()
	for b.Loop() {
		if len(e.List()) != benchChecks {
			b.Fatal("short list")
		}
	}
}

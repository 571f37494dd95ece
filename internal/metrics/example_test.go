package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vitals-go/vitals/internal/metrics"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// The daemon's wiring: the Recorder decorates the store and the ping path,
// the Collector reads the engine on each scrape.
func Example() {
	rec := metrics.NewRecorder(metrics.RecorderOptions{})
	st := memstore.New(memstore.Options{})
	defer st.Close()
	eng := watchdog.New(rec.Store(st), watchdog.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := eng.Start(context.Background()); err != nil {
		panic(err)
	}
	defer eng.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(eng, metrics.Options{Recorder: rec}))

	id := model.CheckID(uuid.MustParse("5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"))
	if _, err := eng.Create(context.Background(), model.Check{ID: id, Name: "backup", Kind: model.KindPush}); err != nil {
		panic(err)
	}
	// What the ping handler does, through the instrumented engine.
	if _, err := rec.Pings(eng).Ping(context.Background(), id, model.Ping{Kind: model.PingSuccess}); err != nil {
		panic(err)
	}

	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "vitals_check_up") || strings.HasPrefix(l, `vitals_pings_received_total{kind="success"}`) {
			fmt.Println(l)
		}
	}
	// Output:
	// vitals_check_up{check="backup",kind="push",status="up",unique_key="a386880ceaf12bb4ae2ccdfe62cc8ceb0ff07343"} 1
	// vitals_pings_received_total{kind="success"} 1
}

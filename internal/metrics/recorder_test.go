package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vitals-go/vitals/internal/metrics"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// TestWiredToRealEngine wires the Recorder and the Collector as the daemon
// does, over the real engine, the real SQLite store and the real ping
// handler, and reads the series a scrape shows after a few pings and a
// probe result.
func TestWiredToRealEngine(t *testing.T) {
	sq, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	rec := metrics.NewRecorder(metrics.RecorderOptions{})
	eng := watchdog.New(rec.Store(sq), watchdog.Options{})
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.New(eng, metrics.Options{Recorder: rec}), metrics.SQLite(sq, ""))
	srv := httptest.NewServer(ping.New(rec.Pings(eng), ping.Options{}))
	defer srv.Close()

	ctx := context.Background()
	push, err := eng.Create(ctx, model.Check{Name: "backup", Kind: model.KindPush})
	if err != nil {
		t.Fatal(err)
	}
	pull, err := eng.Create(ctx, model.Check{Name: "web", Kind: model.KindPull, Probe: []byte(`{}`),
		Schedule: model.Schedule{Period: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "/start", "/0", "/log", "/fail", "/3", ""} {
		resp, err := http.Post(srv.URL+"/ping/"+push.ID.Secret()+p, "text/plain", strings.NewReader("out"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("ping %s: %d", p, resp.StatusCode)
		}
	}
	if resp, err := http.Get(srv.URL + "/ping/" + uuid.NewString()); err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown check: %v %v", resp, err)
	}
	if _, err := rec.Reporter(eng).Report(ctx, pull.ID, model.Result{OK: false, Error: "refused", Time: time.Now(), Duration: 30 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	want := `
# HELP vitals_pings_received_total Pings recorded, by the kind they were sent as.
# TYPE vitals_pings_received_total counter
vitals_pings_received_total{kind="exitstatus"} 2
vitals_pings_received_total{kind="fail"} 1
vitals_pings_received_total{kind="log"} 1
vitals_pings_received_total{kind="start"} 1
vitals_pings_received_total{kind="success"} 2
# HELP vitals_ping_errors_total Pings not recorded: for an unknown check (not_found) or because the store failed (store).
# TYPE vitals_ping_errors_total counter
vitals_ping_errors_total{reason="not_found"} 1
vitals_ping_errors_total{reason="store"} 0
# HELP vitals_store_write_errors_total Failed store writes, by operation.
# TYPE vitals_store_write_errors_total counter
vitals_store_write_errors_total{op="apply"} 0
vitals_store_write_errors_total{op="create"} 0
vitals_store_write_errors_total{op="delete"} 0
vitals_store_write_errors_total{op="notification"} 0
vitals_store_write_errors_total{op="update"} 0
# HELP vitals_check_pings_total Pings received by the check.
# TYPE vitals_check_pings_total counter
vitals_check_pings_total{check="backup",unique_key="` + metrics.UniqueKey(push.ID) + `"} 7
vitals_check_pings_total{check="web",unique_key="` + metrics.UniqueKey(pull.ID) + `"} 0
# HELP vitals_check_up Whether the check is up (1) or not (0: new, down, flapping or paused; the status label says which).
# TYPE vitals_check_up gauge
vitals_check_up{check="backup",kind="push",status="up",unique_key="` + metrics.UniqueKey(push.ID) + `"} 1
vitals_check_up{check="web",kind="pull",status="down",unique_key="` + metrics.UniqueKey(pull.ID) + `"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "vitals_pings_received_total", "vitals_ping_errors_total",
		"vitals_store_write_errors_total", "vitals_check_pings_total", "vitals_check_up"); err != nil {
		t.Error(err)
	}
	counts := map[string]uint64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			if h := m.GetHistogram(); h != nil {
				key := mf.GetName()
				for _, l := range m.Label {
					key += "," + l.GetValue()
				}
				counts[key] = h.GetSampleCount()
			}
		}
	}
	for key, want := range map[string]uint64{
		"vitals_ping_ingest_duration_seconds":        7,
		"vitals_store_write_duration_seconds,create": 2,
		"vitals_probe_duration_seconds,fail":         1,
		"vitals_probe_duration_seconds,ok":           0,
	} {
		if counts[key] != want {
			t.Errorf("%s: %d observations, want %d", key, counts[key], want)
		}
	}
	// The store's own counters: every write committed, in at most as many
	// transactions as writes.
	var commits, writes float64
	for _, mf := range mfs {
		switch mf.GetName() {
		case "vitals_store_commits_total":
			commits = mf.Metric[0].GetCounter().GetValue()
		case "vitals_store_committed_writes_total":
			writes = mf.Metric[0].GetCounter().GetValue()
		}
	}
	if commits < 1 || writes < 10 || commits > writes {
		t.Errorf("store counters: %v commits, %v writes", commits, writes)
	}
	if problems, err := testutil.CollectAndLint(metrics.SQLite(sq, "")); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// Every ping and the result were one Apply each (some may share a
	// group commit, but each is timed).
	if n := counts["vitals_store_write_duration_seconds,apply"]; n != 8 {
		t.Errorf("%d applies timed, want 8", n)
	}
}

package outbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

// BenchmarkDeadlineToAlertmanager is BenchmarkDeadlineToWebhook with every
// check routed to two channels, the webhook and an alertmanager channel
// posting to an Alertmanager-shaped receiver on loopback (POST
// /api/v2/alerts, a JSON array of alerts): the figures of both kinds come
// from the same run. Reported from each check's deadline: hook-* when the
// webhook receiver got the alert, am-* when the Alertmanager receiver did.
//
//	go test -run '^$' -bench DeadlineToAlertmanager -benchtime 1x ./internal/actions/outbox/
func BenchmarkDeadlineToAlertmanager(b *testing.B) {
	for range b.N {
		const n = 1000
		hooks, ams := newArrivals(n), newArrivals(n)
		var keysMu sync.Mutex // byKey: unique key → id, filled as the checks are created
		byKey := map[string]model.CheckID{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			now := time.Now()
			body, _ := io.ReadAll(r.Body)
			if r.URL.Path == "/api/v2/alerts" {
				var alerts []notify.AlertmanagerAlert
				if json.Unmarshal(body, &alerts) == nil {
					keysMu.Lock()
					for _, a := range alerts {
						ams.add(byKey[a.Labels[notify.LabelUniqueKey]], now)
					}
					keysMu.Unlock()
				}
				return
			}
			var m struct {
				CheckID model.CheckID `json:"check_id"`
			}
			if json.Unmarshal(body, &m) == nil {
				hooks.add(m.CheckID, now)
			}
		}))
		wh, _ := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL + "/hook"}, nil)
		am, err := notify.NewAlertmanager(notify.AlertmanagerConfig{URL: srv.URL}, notify.Deps{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		deadlines, _ := deadlineRun(b, n, notify.Channels{"ops": wh, "am": am}, func(c model.Check) {
			keysMu.Lock()
			byKey[c.ID.UniqueKey()] = c.ID
			keysMu.Unlock()
		}, map[string]*arrivals{"hook": hooks, "am": ams})
		srv.Close()
		percentiles(b, "hook-", hooks.at, deadlines)
		percentiles(b, "am-", ams.at, deadlines)
	}
}

package outbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

// BenchmarkDeadlineToPagers: as BenchmarkDeadlineToWebhook (1000 push
// checks on SQLite, deadlines staggered over 10 s), each check's down
// routed to three channels of one dispatcher: a webhook, a PagerDuty and
// an Opsgenie notifier, each to its own loopback receiver (the pagers'
// shaped as the providers', answering 202). Reported from each check's
// deadline: when the receiver got the alert, per kind (hook-, pd-, og-:
// the same run, so the webhook is the baseline), and the flip (flip-).
//
//	go test -run '^$' -bench DeadlineToPagers -benchtime 1x ./internal/actions/outbox/
func BenchmarkDeadlineToPagers(b *testing.B) {
	for range b.N {
		const n = 1000
		kinds := []string{"hook", "pd", "og"}
		got := map[string]*arrivals{}
		for _, k := range kinds {
			got[k] = newArrivals(n)
		}
		var byKey sync.Map // unique key → check
		check := func(key string) model.CheckID {
			v, _ := byKey.Load(key)
			id, _ := v.(model.CheckID)
			return id
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			now := time.Now()
			var m struct {
				CheckID  model.CheckID `json:"check_id"` // webhook
				DedupKey string        `json:"dedup_key"`
				Alias    string        `json:"alias"`
			}
			body, _ := io.ReadAll(r.Body)
			if json.Unmarshal(body, &m) != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			switch {
			case strings.HasPrefix(r.URL.Path, "/hook"):
				got["hook"].add(m.CheckID, now)
			case strings.HasPrefix(r.URL.Path, "/pd/"):
				got["pd"].add(check(m.DedupKey), now)
			case strings.HasPrefix(r.URL.Path, "/og/"):
				got["og"].add(check(m.Alias), now)
			}
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"status":"success"}`)
		}))
		deps := notify.Deps{Logger: quiet}
		wh, _ := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL + "/hook"}, nil)
		pd, _ := notify.NewPagerDuty(notify.PagerDutyConfig{RoutingKey: "R0UT1NGK3Y0123456789abcdefABCDEF", URL: srv.URL + "/pd/v2/enqueue"}, deps)
		og, _ := notify.NewOpsgenie(notify.OpsgenieConfig{APIKey: "k", URL: srv.URL + "/og"}, deps)
		deadlines, flips := deadlineRun(b, n, notify.Channels{"hook": wh, "pd": pd, "og": og},
			func(c model.Check) { byKey.Store(c.ID.UniqueKey(), c.ID) }, got)
		srv.Close()
		percentiles(b, "flip-", flips.at, deadlines)
		for _, k := range kinds {
			percentiles(b, k+"-", got[k].at, deadlines)
		}
	}
}

package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/notify/shoutrrr"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// BenchmarkDeadlineToDeliveryKinds is BenchmarkDeadlineToWebhook for
// every notifier kind that posts over HTTP, each in its own round of the
// same run: 1000 push checks on the SQLite store, deadlines staggered over
// 10 s, each routed to one channel whose receiver is a loopback HTTP
// server answering as the provider does. Reported from each check's
// deadline to the receiver getting its alert, per kind: webhook-* (the
// baseline), url-* (shoutrrr's generic webhook service, ?template=json,
// with the default text rendered), pagerduty-*, opsgenie-*,
// alertmanager-*.
//
//	go test -run '^$' -bench DeadlineToDeliveryKinds -benchtime 1x ./internal/actions/outbox/
func BenchmarkDeadlineToDeliveryKinds(b *testing.B) {
	for range b.N {
		for _, kind := range []string{"webhook", "url", "pagerduty", "opsgenie", "alertmanager"} {
			deliveries(b, kind)
		}
	}
}

// deliveries runs one round of 1000 checks to a channel of kind and
// reports its percentiles, prefixed with the kind.
func deliveries(b *testing.B, kind string) {
	const n = 1000
	got := newArrivals(n)
	var mu sync.Mutex
	byName := map[string]model.CheckID{} // and by unique key
	lookup := func(k string) model.CheckID {
		mu.Lock()
		defer mu.Unlock()
		return byName[k]
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/api/v2/alerts" { // Alertmanager: a list of alerts
			var alerts []notify.AlertmanagerAlert
			if json.Unmarshal(body, &alerts) == nil {
				for _, a := range alerts {
					got.add(lookup(a.Labels[notify.LabelUniqueKey]), now)
				}
			}
			return
		}
		var m struct {
			CheckID  model.CheckID `json:"check_id"`  // webhook
			Title    string        `json:"title"`     // shoutrrr: `"<name>" is DOWN`
			DedupKey string        `json:"dedup_key"` // PagerDuty
			Alias    string        `json:"alias"`     // Opsgenie
		}
		if json.Unmarshal(body, &m) != nil {
			return
		}
		switch {
		case m.DedupKey != "":
			m.CheckID = lookup(m.DedupKey)
			w.WriteHeader(http.StatusAccepted)
		case m.Alias != "":
			m.CheckID = lookup(m.Alias)
			w.WriteHeader(http.StatusAccepted)
		case m.Title != "":
			name, _, _ := strings.Cut(strings.TrimPrefix(m.Title, `"`), `"`)
			m.CheckID = lookup(name)
		}
		got.add(m.CheckID, now)
	}))
	defer srv.Close()
	var ch notify.Notifier
	var err error
	switch kind {
	case "webhook":
		ch, err = notify.NewWebhook(notify.WebhookConfig{URL: srv.URL}, nil)
	case "url":
		ch, err = (&shoutrrr.Config{URL: "generic+" + srv.URL + "/hook?template=json"}).Build(notify.Deps{})
	case "pagerduty":
		ch, err = (&notify.PagerDutyConfig{RoutingKey: "bench-routing-key", URL: srv.URL + "/v2/enqueue"}).Build(notify.Deps{Logger: quiet})
	case "opsgenie":
		ch, err = (&notify.OpsgenieConfig{APIKey: "bench-api-key", URL: srv.URL}).Build(notify.Deps{Logger: quiet})
	case "alertmanager":
		ch, err = notify.NewAlertmanager(notify.AlertmanagerConfig{URL: srv.URL}, notify.Deps{Logger: quiet})
	}
	if err != nil {
		b.Fatal(err)
	}
	deadlines, _ := deadlineRun(b, n, notify.Channels{"ops": ch}, func(c model.Check) {
		mu.Lock()
		byName[c.Name] = c.ID
		byName[c.ID.UniqueKey()] = c.ID
		mu.Unlock()
	}, map[string]*arrivals{kind: got})
	if c, ok := ch.(interface{ Close() }); ok {
		c.Close()
	}
	percentiles(b, kind+"-", got.at, deadlines)
}

// staggeredChecks creates n push checks routed down to the channels down, named
// "check-<i>", whose deadlines are staggered from ~3 s to ~13 s (period
// 2 s + i×10 ms, grace 1 s), telling created (when not nil) of each
// before it exists, and returns each one's deadline.
func staggeredChecks(b *testing.B, e *watchdog.Engine, n int, down []string, created func(model.Check)) map[model.CheckID]time.Time {
	ctx := context.Background()
	deadlines := map[model.CheckID]time.Time{}
	for i := range n {
		c := model.Check{ID: model.NewCheckID(), Name: fmt.Sprint("check-", i), Kind: model.KindPush,
			Schedule: model.Schedule{Period: 2*time.Second + time.Duration(i)*10*time.Millisecond, Grace: time.Second},
			Routes:   model.Routes{Down: down}}
		if created != nil {
			created(c)
		}
		if _, err := e.Create(ctx, c); err != nil {
			b.Fatal(err)
		}
		s, err := e.Ping(ctx, c.ID, model.Ping{Kind: model.PingSuccess})
		if err != nil {
			b.Fatal(err)
		}
		deadlines[c.ID] = s.Deadline
	}
	return deadlines
}

// awaitArrivals waits, at most 90 s, until a has all its arrivals.
func awaitArrivals(b *testing.B, a *arrivals, what string) {
	timeout := time.NewTimer(90 * time.Second)
	defer timeout.Stop()
	select {
	case <-a.done:
	case <-timeout.C:
		a.mu.Lock()
		defer a.mu.Unlock()
		b.Fatalf("only %d of %d %s arrived", len(a.at), a.want, what)
	}
}

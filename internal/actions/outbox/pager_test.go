package outbox

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/notify/pagertest"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
)

// The pager kinds through the real path: engine, planner, SQLite outbox,
// dispatcher, HTTP to local receivers that check the providers' schemas.
// A check's down triggers (after a 429 whose Retry-After is honoured) and
// its recovery resolves with the same key, so the incident follows the
// check; a trigger still waiting out a Retry-After when its check
// recovers is not sent at all; a 400 fails the row at once, and the row's
// error holds no key.
func TestPagersThroughTheOutbox(t *testing.T) {
	const pdKey, ogKey = "R0UT1NGK3Y0123456789abcdefABCDEF", "G3N1EK3Y-eb24-3592-faa2-4ba2a551"
	pd, og := pagertest.NewPagerDuty(t, pdKey), pagertest.NewOpsgenie(t, ogKey)
	deps := notify.Deps{Logger: quiet, CheckURL: func(id model.CheckID) string { return "https://vitals.example.com/status/" + id.UniqueKey() }}
	pdn, err := notify.NewPagerDuty(notify.PagerDutyConfig{RoutingKey: pdKey, URL: pd.URL()}, deps)
	if err != nil {
		t.Fatal(err)
	}
	ogn, err := notify.NewOpsgenie(notify.OpsgenieConfig{APIKey: ogKey, URL: og.URL()}, deps)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := startWatchdog(t, st, notify.Channels{"pd": pdn, "og": ogn}, DispatcherOptions{Backoff: Backoff{Initial: 5 * time.Millisecond, Max: 40 * time.Millisecond}})
	defer w.stop(t)
	ctx := context.Background()
	pagers := model.Routes{Down: []string{"pd", "og"}, Up: []string{"pd", "og"}, Flapping: []string{"pd", "og"}}
	ping := func(c model.Check, k model.PingKind) {
		t.Helper()
		if _, err := w.eng.Ping(ctx, c.ID, model.Ping{Kind: k}); err != nil {
			t.Fatal(err)
		}
	}
	create := func(i int) model.Check {
		t.Helper()
		c, err := w.eng.Create(ctx, routed(i, pagers))
		if err != nil {
			t.Fatal(err)
		}
		ping(c, model.PingSuccess) // new → up: no alert
		return c
	}
	calls := func(r *pagertest.Receiver, key string) (got []pagertest.Call) {
		for _, c := range r.Calls() {
			if c.Key == key {
				got = append(got, c)
			}
		}
		return got
	}
	throttled := pagertest.Answer{Code: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}}

	// 1. Down: 429 with Retry-After: 1, then accepted; up: resolved.
	a := create(1)
	pd.Then(throttled)
	og.Then(throttled)
	ping(a, model.PingFail)
	for _, r := range []*pagertest.Receiver{pd, og} {
		waitUntil(t, "trigger retried and accepted", func() bool { return len(calls(r, a.ID.UniqueKey())) == 2 })
		cs := calls(r, a.ID.UniqueKey())
		// Not before Retry-After, less the dispatcher's Coalesce (a row due
		// within 100 ms of a read goes with it).
		if cs[0].Action != "trigger" || cs[1].Action != "trigger" || cs[1].At.Sub(cs[0].At) < time.Second-100*time.Millisecond {
			t.Fatalf("trigger then its retry after Retry-After (1s): %s at %v, %s at %v", cs[0].Action, cs[0].At, cs[1].Action, cs[1].At)
		}
	}
	ping(a, model.PingSuccess)
	for _, r := range []*pagertest.Receiver{pd, og} {
		waitUntil(t, "resolved", func() bool { return len(calls(r, a.ID.UniqueKey())) == 3 })
		if c := calls(r, a.ID.UniqueKey())[2]; c.Action != "resolve" {
			t.Fatalf("third call %s, want resolve", c.Action)
		}
	}

	// 2. Down, the trigger waits out a Retry-After; the check recovers
	// meanwhile: the resolve goes out, the trigger never does.
	b := create(2)
	slow := pagertest.Answer{Code: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"2"}}}
	pd.Then(slow)
	og.Then(slow)
	ping(b, model.PingFail)
	for _, r := range []*pagertest.Receiver{pd, og} {
		waitUntil(t, "first trigger", func() bool { return len(calls(r, b.ID.UniqueKey())) == 1 })
	}
	ping(b, model.PingSuccess)
	waitUntil(t, "every row of b done", func() bool {
		rows, _ := st.Notifications(ctx, store.NotificationQuery{CheckID: b.ID, Limit: 10})
		done := 0
		for _, r := range rows {
			if r.State == model.NotificationDelivered {
				done++
			}
		}
		return done == 4
	})
	for _, r := range []*pagertest.Receiver{pd, og} {
		var got []string
		for _, c := range calls(r, b.ID.UniqueKey()) {
			got = append(got, c.Action)
		}
		if strings.Join(got, ",") != "trigger,resolve" {
			t.Fatalf("calls %v, want the throttled trigger and the resolve only", got)
		}
	}

	// 3. A 400 fails the row at once; its error names the answer, not
	// the key.
	c := create(3)
	bad := pagertest.Answer{Code: http.StatusBadRequest, Body: `{"status":"invalid event","message":"Event object is invalid","errors":["echo: ` + pdKey + ` ` + ogKey + `"]}`}
	pd.Then(bad)
	og.Then(bad)
	ping(c, model.PingFail)
	var rows []model.Notification
	waitUntil(t, "rows failed", func() bool {
		rows, _ = st.Notifications(ctx, store.NotificationQuery{CheckID: c.ID, State: model.NotificationFailed, Limit: 10})
		return len(rows) == 2
	})
	for _, r := range rows {
		key := map[string]string{"pd": pdKey, "og": ogKey}[r.Channel] // each redacts its own key
		if r.Attempts != 1 || !strings.Contains(r.LastError, "400 Bad Request: invalid event: Event object is invalid: echo: ") ||
			strings.Contains(r.LastError, key) {
			t.Errorf("row %s: %d attempts, error %q", r.Channel, r.Attempts, r.LastError)
		}
	}
}

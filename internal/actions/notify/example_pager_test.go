package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

// A check's down triggers a PagerDuty incident and its recovery resolves
// it, both with the check's unique key as dedup_key (here a local
// receiver stands for events.pagerduty.com).
func ExamplePagerDuty() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct {
			EventAction string `json:"event_action"`
			DedupKey    string `json:"dedup_key"`
		}
		json.NewDecoder(r.Body).Decode(&e)
		fmt.Println(e.EventAction, e.DedupKey)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	pd, err := notify.NewPagerDuty(notify.PagerDutyConfig{RoutingKey: "R0UT1NGK3Y0123456789abcdefABCDEF", URL: srv.URL}, notify.Deps{})
	if err != nil {
		panic(err)
	}
	id := model.CheckID(uuid.MustParse("0b7e2f7c-58a3-4f9a-9e59-2c1c0c7b9d10"))
	at := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	down := notify.Notification{Event: notify.EventDown, CheckID: id, Check: "api", State: model.StatusDown, Previous: model.StatusUp, Time: at}
	up := notify.Notification{Event: notify.EventUp, CheckID: id, Check: "api", State: model.StatusUp, Previous: model.StatusDown, Time: at.Add(time.Minute)}
	for _, n := range []notify.Notification{down, up} {
		if err := pd.Send(context.Background(), n); err != nil {
			panic(err)
		}
	}
	// Output:
	// trigger d70ea511d4227fef010ebb3ce3cbbf962865b4f5
	// resolve d70ea511d4227fef010ebb3ce3cbbf962865b4f5
}

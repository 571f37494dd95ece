package outbox

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

func TestBuildAndCheckRoutes(t *testing.T) {
	specs := map[string]notify.Spec{
		"ops":    &notify.WebhookConfig{URL: "http://127.0.0.1:1/hook"},
		"worker": &notify.ProcessConfig{Name: "worker"},
	}
	ch, err := notify.Build(specs, notify.Deps{})
	if err == nil || !strings.Contains(err.Error(), "notifiers.worker: name: no such supervised process") || ch["ops"] == nil {
		t.Fatalf("Build: %v, %v", ch, err)
	}
	ch, err = notify.Build(specs, notify.Deps{Processes: func(string) (notify.Restarter, bool) { return notify.RestarterFunc(nil), true }})
	if err != nil || len(ch) != 2 {
		t.Fatalf("Build with processes: %v", err)
	}
	_, known := ch["ops"]
	_ = known
	err = CheckRoutes(model.Routes{Down: []string{"ops", "pager"}, Flapping: []string{"x"}}, func(n string) bool { _, ok := ch[n]; return ok })
	if err == nil || err.Error() != "actions.down[1]: unknown notifier \"pager\"\nactions.flapping[0]: unknown notifier \"x\"" {
		t.Fatalf("CheckRoutes: %v", err)
	}
}

// A recovery's row keeps when the outage began (the transition's
// FromSince), so that its message says how long the check was down; a
// row stored before that field existed decodes without it.
func TestPlannerKeepsOutageStart(t *testing.T) {
	down := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	c := model.Check{ID: model.CheckID(uuid.New()), Name: "api", Routes: model.Routes{Up: []string{"ops"}}}
	tr := model.Transition{Check: c, Flip: model.Flip{ID: uuid.New(), CheckID: c.ID, From: model.StatusDown, To: model.StatusUp, Time: down.Add(90 * time.Minute)}, FromSince: down}
	rows := NewPlanner(PlannerOptions{}).Plan(tr)
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	n, err := Decode(rows[0])
	if err != nil || !n.PreviousSince.Equal(down) || n.Outage() != 90*time.Minute {
		t.Fatalf("decoded %+v, %v", n, err)
	}
	old := rows[0]
	old.Payload = []byte(`{"event":"up","check":"api","state":"up","previous":"down","reason":"","time":"2026-11-22T02:30:00Z"}`)
	if n, err := Decode(old); err != nil || n.Outage() != 0 || !strings.Contains(n.Title(), "UP") {
		t.Fatalf("an old row: %+v, %v", n, err)
	}
}

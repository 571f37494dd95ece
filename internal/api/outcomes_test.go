package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// Each flip in GET /checks/{key}/flips carries the outcome of the actions it
// caused: one outbox row per channel with its delivery state.
func TestFlipsCarryActionOutcomes(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	planner := model.PlannerFunc(func(tr model.Transition) []model.Notification {
		return []model.Notification{{ID: uuid.Must(uuid.NewV7()), FlipID: tr.Flip.ID, CheckID: tr.Check.ID,
			Channel: "webhook:ops", State: model.NotificationPending, NextAttempt: tr.Flip.Time, Created: tr.Flip.Time}}
	})
	e := watchdog.New(st, watchdog.Options{})
	if err := e.AddPlanner(planner); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv := httptest.NewServer(api.New(api.Options{Engine: e, Store: st, Keys: []api.Key{{Name: "ops", Secret: rwKey}}}))
	defer srv.Close()
	f := &fixture{srv: srv, e: e, st: st}

	c := f.create(t, `{"name":"backup","timeout":3600,"grace":60}`)
	id := c["uuid"].(string)
	ctx := context.Background()
	uid := model.CheckID(uuid.MustParse(id))
	for _, k := range []model.PingKind{model.PingSuccess, model.PingFail} {
		if _, err := e.Ping(ctx, uid, model.Ping{Kind: k, ExitStatus: -1}); err != nil {
			t.Fatal(err)
		}
	}
	r := f.do(t, "GET", "/api/v1/checks/"+id+"/flips", rwKey, "")
	if r.code != http.StatusOK {
		t.Fatalf("flips: %d %s", r.code, r.body)
	}
	flips := r.json(t)["flips"].([]any)
	if len(flips) != 2 {
		t.Fatalf("flips %v", flips)
	}
	for _, fl := range flips {
		acts := fl.(map[string]any)["actions"].([]any)
		if len(acts) != 1 {
			t.Fatalf("flip %v: actions %v, want the one outbox row", fl, acts)
		}
		a := acts[0].(map[string]any)
		if a["channel"] != "webhook:ops" || a["state"] != string(model.NotificationPending) || a["attempts"] != float64(0) {
			t.Errorf("action outcome %v", a)
		}
	}
}

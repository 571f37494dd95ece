package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// FuzzCheckBody sends arbitrary bodies to create, update and pause: every
// answer is a JSON object with a known status, errors carry a message, and
// whatever was accepted is a valid check in the engine.
func FuzzCheckBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"backup"}`,
		`{"name":"x","slug":"x","ping_key":"pk","tags":"a b","desc":"d","timeout":60,"grace":10,"methods":"POST","manual_resume":true}`,
		`{"name":"x","schedule":"0 3 * * *","tz":"Europe/Riga","grace":60}`,
		`{"name":"x","kind":"pull","timeout":10,"grace":0,"probe":{"url":"http://127.0.0.1/"}}`,
		`{"name":"x","thresholds":{"failures":2,"successes":3,"start_period":5,"flap_changes":3,"flap_window":10}}`,
		`{"name":"x","timeout":1e308}`, `{"name":"x","timeout":-0}`, `{"name":"x","tags":["a",""]}`,
		`{"reason":"maintenance"}`, `{"name":"x"} {}`, `[`, `{"name":"\ud800"}`, `null`, `{"probe":null}`,
		`{"name":"x","channels":"*","unique":["name","timeout"],"timeout":60}`, `{"name":"x","channels":"mail,,"}`,
		`{"name":"x","channels":"11111111-1111-4111-8111-111111111111,restart"}`, `{"name":"x","unique":["status"]}`,
		`{"name":"x","uuid":"f618072a-7bde-4eee-af63-71a77c5723bc"}`, `{"name":"x","uuid":"00000000-0000-0000-0000-000000000000"}`,
		`{"api_key":"` + rwKey + `","name":"x"}`, `{"api_key":7}`, `{"name":"x","subject":"OK","subject_fail":"ERR","filter_body":true}`,
		`{"name":"x","start_kw":"a","success_kw":"b","failure_kw":"c","filter_http_body":true,"filter_default_fail":false}`,
		`{"name":"x","schedule":"*/5 * * * *","timeout":60}`, `{"name":"Crème Brûlée","tags":"a b"}`,
	} {
		f.Add(s)
	}
	st := memstore.New(memstore.Options{})
	e := watchdog.New(st, watchdog.Options{})
	if err := e.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close(); st.Close() })
	h := api.New(api.Options{Engine: e, Store: st, Keys: []api.Key{{Secret: rwKey}}, PingKey: "pk",
		Channels: func() []model.Channel {
			return []model.Channel{{ID: uuid.MustParse("11111111-1111-4111-8111-111111111111"), Name: "mail", Kind: "email"},
				{ID: uuid.MustParse("22222222-2222-4222-8222-222222222222"), Name: "restart", Kind: "docker"}}
		}})
	seed, err := e.Create(context.Background(), configless("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{"POST", "/api/v1/checks"},
			{"POST", "/api/v2/checks/"},
			{"POST", "/api/v3/checks/"},
			{"PATCH", "/api/v1/checks/" + seed.ID.Secret()},
			{"POST", "/api/v3/checks/" + seed.ID.Secret()},
			{"POST", "/api/v2/checks/" + seed.ID.Secret() + "/pause"},
		} {
			req := httptest.NewRequest(target.method, target.path, strings.NewReader(body))
			req.Header.Set("X-Api-Key", rwKey)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", target.method, target.path, err, rec.Body)
			}
			switch rec.Code {
			case http.StatusOK, http.StatusCreated:
				id, err := model.ParseCheckID(m["uuid"].(string))
				if err != nil {
					t.Fatalf("uuid: %v", err)
				}
				cs, ok := e.Get(id)
				if !ok {
					t.Fatalf("accepted check %s is not in the engine", id)
				}
				if err := cs.Check.Validate(); err != nil {
					t.Fatalf("accepted an invalid check: %v", err)
				}
				if id != seed.ID {
					e.Delete(context.Background(), id) // keep the engine small
				}
			case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
				if msg, _ := m["error"].(string); msg == "" {
					t.Fatalf("error answer without a message: %s", rec.Body)
				}
			default:
				t.Fatalf("%s %s: unexpected status %d: %s", target.method, target.path, rec.Code, rec.Body)
			}
		}
	})
}

// FuzzRequest sends arbitrary methods, paths and queries: the router and
// the query parsers answer every one with a JSON object and a known
// status, never a panic.
func FuzzRequest(f *testing.F) {
	for _, s := range [][2]string{
		{"GET", "/api/v1/checks"}, {"GET", "/api/v1/checks?limit=2&cursor=eA&tag=a&tag=b&slug=x"},
		{"GET", "/api/v1/checks/00000000-0000-0000-0000-000000000000/pings?cursor=MTI"},
		{"GET", "/api/v1/checks/7d800ad4321c25580c065cc55653f8d06e2a44ee/flips?cursor=MjAyNi0xMS0yMlQwMDowMDowMFo"},
		{"DELETE", "/api/v1/checks/x/"}, {"POST", "/api/v1/checks//pause"}, {"OPTIONS", "/api/v1/"}, {"GET", "/api/v2/checks"},
		{"GET", "/api/v3/checks/?tag=a&tag=b&slug=x&limit=5"}, {"OPTIONS", "/api/v3/checks/"}, {"GET", "/api/v3/status/"},
		{"GET", "/api/v3/channels/"}, {"GET", "/api/v2/badges"}, {"GET", "/api/v4/checks/"}, {"GET", "/api/v1/checks/x/pings/1/body"},
		{"GET", "/api/v3/checks/7d800ad4321c25580c065cc55653f8d06e2a44ee/flips/?seconds=60&start=1&end=99999999999"},
	} {
		f.Add(s[0], s[1])
	}
	st := memstore.New(memstore.Options{})
	e := watchdog.New(st, watchdog.Options{})
	if err := e.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close(); st.Close() })
	if _, err := e.Create(context.Background(), configless("seed")); err != nil {
		f.Fatal(err)
	}
	h := api.New(api.Options{Engine: e, Store: st, Keys: []api.Key{{Secret: roKey, ReadOnly: true}}})
	f.Fuzz(func(t *testing.T, method, target string) {
		req, err := http.NewRequest(method, "http://vitals"+target, nil)
		if err != nil || req.URL.Path == "" {
			return
		}
		req.Header.Set("X-Api-Key", roKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch ct := rec.Header().Get("Content-Type"); {
		case rec.Code == http.StatusNoContent && method == http.MethodOptions:
			return
		case strings.HasPrefix(ct, "text/plain") && strings.Contains(req.URL.Path, "/status"):
			return
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, target, err, rec.Body)
		}
		switch rec.Code {
		case 200, 400, 401, 404, 405:
		default:
			t.Fatalf("%s %s: unexpected status %d: %s", method, target, rec.Code, rec.Body)
		}
	})
}

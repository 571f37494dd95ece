package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	} {
		f.Add(s)
	}
	st := memstore.New(memstore.Options{})
	e := watchdog.New(st, watchdog.Options{})
	if err := e.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close(); st.Close() })
	h := api.New(api.Options{Engine: e, Store: st, Keys: []api.Key{{Secret: rwKey}}, PingKey: "pk"})
	seed, err := e.Create(context.Background(), configless("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, target := range []struct{ method, path string }{
			{"POST", "/api/v1/checks"},
			{"PATCH", "/api/v1/checks/" + seed.ID.Secret()},
			{"POST", "/api/v1/checks/" + seed.ID.Secret() + "/pause"},
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
				if rec.Code == http.StatusCreated {
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
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", method, target, err, rec.Body)
		}
		switch rec.Code {
		case 200, 400, 403, 404, 405:
		default:
			t.Fatalf("%s %s: unexpected status %d: %s", method, target, rec.Code, rec.Body)
		}
	})
}

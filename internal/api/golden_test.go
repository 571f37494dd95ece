package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// The golden files in testdata/hc/v{1,2,3} are healthchecks.io's own
// answers: the examples of its API documentation (templates/docs/api*.md,
// SITE_ROOT replaced by https://hc.example.com) and of its tests (see
// testdata/hc/README.md). Each golden test builds the state the answer
// describes through the real engine and a real SQLite store, in a
// synctest bubble so that pings arrive at the documented instants, then
// asks the API and compares: every key of the golden answer is present
// with the same JSON type, and equal, except goldenLoose.

// site is the origin the golden files use for SITE_ROOT.
const site = "https://hc.example.com"

// goldenLoose are the fields whose values cannot match healthchecks.io's
// examples; they are compared by JSON type (and URL prefix) only.
var goldenLoose = map[string]string{
	// badge keys are the badge code's secret, not the docs' UUIDs
	"badge_url": site + "/b/",
	"svg":       site + "/badge/", "svg3": site + "/badge/", "json": site + "/badge/",
	"json3": site + "/badge/", "shields": site + "/badge/", "shields3": site + "/badge/",
}

// docChannels are the channels the golden answers name.
var docChannels = []model.Channel{
	{ID: uuid.MustParse("4ec5a071-2d08-4baa-898a-eb4eb3cd6941"), Name: "My Work Email", Kind: "email"},
	{ID: uuid.MustParse("746a083e-f542-4554-be1a-707ce16d3acc"), Name: "My Phone", Kind: "sms"},
}

// checkChannels are the channels of the checks in list_checks.
var checkChannels = []model.Channel{
	{ID: uuid.MustParse("1bdea468-03bf-47b8-ab27-29a9dd0e4b94"), Name: "ops mail", Kind: "email"},
	{ID: uuid.MustParse("51c6eb2b-2ae1-456b-99fe-6f1e0a36cd3c"), Name: "ops hook", Kind: "webhook"},
}

// docUUIDs are the UUIDs behind the read-only examples' unique keys.
var docUUIDs = map[string]string{
	"a6c7b0a8a66bed0df66abfdab3c77736861703ee": "31365bce-8da9-4729-8ff3-aaa71d56b712",
	"124f983e0e3dcaeba921cfcef46efd084576e783": "803f680d-e89b-492b-82ef-2be7b774a92d",
}

// goldenEnv is the engine, the store, the API and the ping handler inside
// one synctest bubble.
type goldenEnv struct {
	t      *testing.T
	v      int
	e      *watchdog.Engine
	apiH   *api.Handler
	pingH  *ping.Handler
	chans  []model.Channel
	events []pingEvent
}

type pingEvent struct {
	at   time.Time
	path string // after /ping/
	hdr  []string
}

func newGoldenEnv(t *testing.T, v int) *goldenEnv {
	// The bubble's clock starts in 2000; the examples are of 2020. Jump
	// before anything ticks, and keep the store's and the engine's
	// periodic work out of the way (synctest would run every tick).
	time.Sleep(time.Until(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)))
	const rarely = 10 * 365 * 24 * time.Hour
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{CheckpointInterval: rarely, CompactInterval: rarely})
	if err != nil {
		t.Fatal(err)
	}
	e := watchdog.New(st, watchdog.Options{SweepInterval: rarely, RetiredRetention: rarely})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); st.Close() })
	g := &goldenEnv{t: t, v: v, e: e, chans: slices.Concat(docChannels, checkChannels)}
	g.apiH = api.New(api.Options{Engine: e, Store: st, PingURL: site + "/ping/",
		Keys:     []api.Key{{Name: "ops", Secret: rwKey}, {Name: "dash", Secret: roKey, ReadOnly: true}},
		Channels: func() []model.Channel { return g.chans },
		BadgeURLs: func(tag string) map[string]string {
			p := "/badge/0f7a/sig"
			if tag != "*" {
				p += "/" + tag
			}
			return map[string]string{"svg": p + "-2.svg", "svg3": p + ".svg", "json": p + "-2.json", "json3": p + ".json",
				"shields": p + "-2.shields", "shields3": p + ".shields"}
		},
		CheckBadgeURL: func(id model.CheckID) string { return "/b/2/" + id.UniqueKey()[:12] + ".svg" },
	})
	g.pingH = ping.New(e, ping.Options{TrustProxyHeaders: true})
	return g
}

// do serves one request; path is after /api/v{v}.
func (g *goldenEnv) do(method, path, key, body string) (int, string) {
	g.t.Helper()
	var req *http.Request
	target := fmt.Sprintf("%s/api/v%d%s", site, g.v, path)
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	rec := httptest.NewRecorder()
	g.apiH.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// seed creates the check obj describes (a golden check object) with id,
// and queues the pings that give it its n_pings, last_ping and status.
func (g *goldenEnv) seed(obj map[string]any, id string) {
	g.t.Helper()
	in := map[string]any{"uuid": id}
	for _, k := range []string{"name", "slug", "tags", "desc", "grace", "timeout", "schedule", "tz", "manual_resume", "methods",
		"start_kw", "success_kw", "failure_kw", "filter_subject", "filter_body", "filter_http_body", "filter_default_fail", "channels"} {
		if v, ok := obj[k]; ok {
			in[k] = v
		}
	}
	if in["name"] == "" || in["name"] == nil {
		in["name"] = "unnamed"
	}
	body, _ := json.Marshal(in)
	// v3 takes the slug as given.
	v := g.v
	g.v = 3
	code, out := g.do("POST", "/checks/", rwKey, string(body))
	g.v = v
	if code != http.StatusCreated {
		g.t.Fatalf("seeding %s: %d %s", body, code, out)
	}
	n := int(obj["n_pings"].(float64))
	status, _ := obj["status"].(string)
	if n == 0 {
		return
	}
	last, err := time.Parse(time.RFC3339, obj["last_ping"].(string))
	if err != nil {
		g.t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		p := id
		if i == n && status == "down" {
			p += "/fail"
		}
		g.events = append(g.events, pingEvent{at: last.Add(-time.Duration(n-i) * time.Second), path: p})
	}
}

// run sends the queued pings in time order, each at its instant.
func (g *goldenEnv) run() {
	g.t.Helper()
	slices.SortStableFunc(g.events, func(a, b pingEvent) int { return a.at.Compare(b.at) })
	for _, ev := range g.events {
		g.sleepUntil(ev.at)
		req := httptest.NewRequest("GET", "http://hc.example.com/ping/"+ev.path, nil)
		req.Header.Set("User-Agent", "curl/7.68.0")
		req.Header.Set("X-Forwarded-For", "192.0.2.0")
		for i := 0; i+1 < len(ev.hdr); i += 2 {
			req.Header.Set(ev.hdr[i], ev.hdr[i+1])
		}
		rec := httptest.NewRecorder()
		g.pingH.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			g.t.Fatalf("ping %s: %d %s", ev.path, rec.Code, rec.Body)
		}
	}
	g.events = nil
	synctest.Wait()
}

func (g *goldenEnv) sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}

// goldenCase asks for one golden answer; prepare builds its state.
type goldenCase struct {
	file          string
	method, path  string // {uuid} is replaced by the check's UUID
	key, body     string
	code          int
	prepare       func(g *goldenEnv, want map[string]any) (uuid string)
	textPlainBody bool
}

// idOf is a golden check's UUID: its uuid, the last part of its
// update_url (v1 and v2 examples have no uuid), or the UUID behind its
// unique_key.
func idOf(obj map[string]any) string {
	if s, ok := obj["uuid"].(string); ok {
		return s
	}
	if s, ok := obj["update_url"].(string); ok {
		return s[strings.LastIndex(s, "/")+1:]
	}
	return docUUIDs[obj["unique_key"].(string)]
}

func seedAll(g *goldenEnv, want map[string]any) string {
	for _, x := range want["checks"].([]any) {
		g.seed(x.(map[string]any), idOf(x.(map[string]any)))
	}
	g.run()
	return ""
}

func seedOne(g *goldenEnv, want map[string]any) string {
	id := idOf(want)
	g.seed(want, id)
	g.run()
	return id
}

// seedNew seeds the golden check as a new check (for the calls that then
// change its status).
func seedNew(g *goldenEnv, want map[string]any) string {
	obj := map[string]any{}
	for k, v := range want {
		obj[k] = v
	}
	obj["n_pings"] = 0.0
	id := idOf(want)
	g.seed(obj, id)
	return id
}

var goldenCases = []goldenCase{
	{file: "list_checks", method: "GET", path: "/checks/", key: rwKey, code: 200, prepare: seedAll},
	{file: "list_checks_readonly", method: "GET", path: "/checks/", key: roKey, code: 200, prepare: seedAll},
	{file: "get_check", method: "GET", path: "/checks/{uuid}", key: rwKey, code: 200, prepare: seedOne},
	{file: "get_check_readonly", method: "GET", path: "/checks/{unique_key}", key: roKey, code: 200, prepare: seedOne},
	{file: "create_check", method: "POST", path: "/checks/", code: 201,
		prepare: func(g *goldenEnv, want map[string]any) string { return idOf(want) },
		body:    `{"api_key": "` + rwKey + `", "name": "Backups", "tags": "prod www", "timeout": 3600, "grace": 60, "uuid": "{uuid}"}`},
	{file: "update_check", method: "POST", path: "/checks/{uuid}", key: rwKey, code: 200,
		prepare: func(g *goldenEnv, want map[string]any) string {
			id := idOf(want)
			g.seed(map[string]any{"name": "x", "timeout": 60.0, "n_pings": 0.0}, id)
			return id
		},
		body: `{"name": "Backups", "tags": "prod www", "timeout": 3600, "grace": 60}`},
	{file: "pause_check", method: "POST", path: "/checks/{uuid}/pause", key: rwKey, code: 200, prepare: seedNew},
	{file: "resume_check", method: "POST", path: "/checks/{uuid}/resume", key: rwKey, code: 200,
		prepare: func(g *goldenEnv, want map[string]any) string {
			id := seedNew(g, want)
			if code, out := g.do("POST", "/checks/"+id+"/pause", rwKey, ""); code != 200 {
				g.t.Fatalf("pause: %d %s", code, out)
			}
			return id
		}},
	{file: "delete_check", method: "DELETE", path: "/checks/{uuid}", key: rwKey, code: 200, prepare: seedNew},
	{file: "list_pings", method: "GET", path: "/checks/{uuid}/pings/", key: rwKey, code: 200,
		prepare: func(g *goldenEnv, want map[string]any) string {
			id := "f618072a-7bde-4eee-af63-71a77c5723bc"
			g.seed(map[string]any{"name": "pinged", "timeout": 3600.0, "n_pings": 0.0}, id)
			pings := want["pings"].([]any)
			for i := len(pings) - 1; i >= 0; i-- { // oldest first
				p := pings[i].(map[string]any)
				at, err := time.Parse("2006-01-02T15:04:05.999999-07:00", p["date"].(string))
				if err != nil {
					g.t.Fatal(err)
				}
				path := id
				if p["type"] == "start" {
					path += "/start"
				}
				if rid, ok := p["rid"].(string); ok {
					path += "?rid=" + rid
				}
				g.events = append(g.events, pingEvent{at: at, path: path})
			}
			g.run()
			return id
		}},
	{file: "list_flips", method: "GET", path: "/checks/{uuid}/flips/", key: roKey, code: 200,
		prepare: func(g *goldenEnv, want map[string]any) string {
			id := "f618072a-7bde-4eee-af63-71a77c5723bc"
			g.seed(map[string]any{"name": "flipping", "timeout": 3600.0, "n_pings": 0.0}, id)
			flips := want["flips"].([]any)
			for i := len(flips) - 1; i >= 0; i-- {
				f := flips[i].(map[string]any)
				at, err := time.Parse(time.RFC3339, f["timestamp"].(string))
				if err != nil {
					g.t.Fatal(err)
				}
				path := id
				if f["up"] == 0.0 {
					path += "/fail"
				}
				g.events = append(g.events, pingEvent{at: at, path: path})
			}
			g.run()
			return id
		}},
	{file: "list_channels", method: "GET", path: "/channels/", key: rwKey, code: 200,
		prepare: func(g *goldenEnv, want map[string]any) string { g.chans = docChannels; return "" }},
	{file: "list_badges", method: "GET", path: "/badges/", key: roKey, code: 200,
		prepare: func(g *goldenEnv, want map[string]any) string {
			var tags []string
			for tag := range want["badges"].(map[string]any) {
				if tag != "*" {
					tags = append(tags, tag)
				}
			}
			g.seed(map[string]any{"name": "tagged", "tags": strings.Join(tags, " "), "n_pings": 0.0}, uuid.NewString())
			return ""
		}},
	{file: "status", method: "GET", path: "/status/", code: 200, textPlainBody: true,
		prepare: func(*goldenEnv, map[string]any) string { return "" }},
}

func TestGolden(t *testing.T) {
	for _, v := range api.Versions {
		for _, gc := range goldenCases {
			t.Run(fmt.Sprintf("v%d/%s", v, gc.file), func(t *testing.T) {
				ext := ".json"
				if gc.textPlainBody {
					ext = ".txt"
				}
				raw, err := os.ReadFile(filepath.Join("testdata", "hc", fmt.Sprintf("v%d", v), gc.file+ext))
				if err != nil {
					t.Fatal(err)
				}
				var want map[string]any
				if !gc.textPlainBody {
					if err := json.Unmarshal(raw, &want); err != nil {
						t.Fatal(err)
					}
				}
				synctest.Test(t, func(t *testing.T) {
					g := newGoldenEnv(t, v)
					id := gc.prepare(g, want)
					path := strings.ReplaceAll(gc.path, "{uuid}", id)
					if strings.Contains(path, "{unique_key}") {
						path = strings.ReplaceAll(path, "{unique_key}", want["unique_key"].(string))
					}
					code, body := g.do(gc.method, path, gc.key, strings.ReplaceAll(gc.body, "{uuid}", id))
					if code != gc.code {
						t.Fatalf("%s %s: %d, want %d: %s", gc.method, path, code, gc.code, body)
					}
					if gc.textPlainBody {
						if body != string(raw) {
							t.Fatalf("body %q, want %q", body, raw)
						}
						return
					}
					var got any
					if err := json.Unmarshal([]byte(body), &got); err != nil {
						t.Fatalf("answer is not JSON: %v\n%s", err, body)
					}
					for _, d := range compareGolden("", want, got) {
						t.Error(d)
					}
				})
			})
		}
	}
}

// compareGolden returns how got differs from want: a key of want missing
// in got, a different JSON type, a different value (except goldenLoose;
// durations to healthchecks.io's two decimals).
func compareGolden(path string, want, got any) []string {
	key := path[strings.LastIndex(path, ".")+1:]
	if jsonType(want) != jsonType(got) {
		return []string{fmt.Sprintf("%s: got %s %v, want %s %v", path, jsonType(got), got, jsonType(want), want)}
	}
	if prefix, ok := goldenLoose[key]; ok {
		if s, _ := got.(string); !strings.HasPrefix(s, prefix) {
			return []string{fmt.Sprintf("%s: got %q, want a URL under %s", path, s, prefix)}
		}
		return nil
	}
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			out = append(out, compareGolden(path+"."+k, wv, gv)...)
		}
	case []any:
		g := got.([]any)
		if len(g) != len(w) {
			return []string{fmt.Sprintf("%s: %d items, want %d", path, len(g), len(w))}
		}
		for i := range w {
			out = append(out, compareGolden(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
	case float64:
		g := got.(float64)
		if key == "duration" {
			w = math.Round(w*100) / 100
		}
		if g != w {
			out = append(out, fmt.Sprintf("%s: got %v, want %v", path, g, w))
		}
	default:
		if want != got {
			out = append(out, fmt.Sprintf("%s: got %#v, want %#v", path, got, want))
		}
	}
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}

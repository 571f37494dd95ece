package api_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
)

var (
	chMail   = model.Channel{ID: uuid.MustParse("11111111-1111-4111-8111-111111111111"), Name: "mail", Kind: "email"}
	chHook   = model.Channel{ID: uuid.MustParse("22222222-2222-4222-8222-222222222222"), Name: "hook", Kind: "webhook"}
	chDocker = model.Channel{ID: uuid.MustParse("33333333-3333-4333-8333-333333333333"), Name: "restart-web", Kind: "docker"}
	chDupA   = model.Channel{ID: uuid.MustParse("44444444-4444-4444-8444-444444444444"), Name: "dup", Kind: "slack"}
	chDupB   = model.Channel{ID: uuid.MustParse("55555555-5555-4555-8555-555555555555"), Name: "dup", Kind: "slack"}
)

func channelsFixture(t *testing.T, opts api.Options) *fixture {
	t.Helper()
	opts.Channels = func() []model.Channel { return []model.Channel{chMail, chHook, chDocker, chDupA, chDupB} }
	return newFixture(t, opts)
}

// The three versions differ where healthchecks.io's do: v1 reports a
// running check as "started"; v1 and v2 derive the slug from the name;
// every URL names the version asked.
func TestVersionDifferences(t *testing.T) {
	f := newFixture(t, api.Options{PingKey: "pk"})
	for _, tc := range []struct {
		v          string
		slug       string
		runningSts string
	}{{"v1", "nightly-backup-db", "started"}, {"v2", "nightly-backup-db", "new"}, {"v3", "", "new"}} {
		t.Run(tc.v, func(t *testing.T) {
			r := f.do(t, "POST", "/api/"+tc.v+"/checks/", rwKey, `{"name":"Nightly Backup (DB) `+tc.v+`"}`)
			if r.code != 201 {
				t.Fatalf("create: %d %s", r.code, r.body)
			}
			c := r.json(t)
			wantSlug := tc.slug
			if wantSlug != "" {
				wantSlug += "-" + tc.v
			}
			if c["slug"] != wantSlug {
				t.Errorf("slug %q, want %q", c["slug"], wantSlug)
			}
			id := c["uuid"].(string)
			if c["update_url"] != f.srv.URL+"/api/"+tc.v+"/checks/"+id || c["pause_url"] != f.srv.URL+"/api/"+tc.v+"/checks/"+id+"/pause" {
				t.Errorf("urls %v %v", c["update_url"], c["pause_url"])
			}
			f.ping(t, id+"/start")
			g := f.do(t, "GET", "/api/"+tc.v+"/checks/"+id, rwKey, "").json(t)
			if g["status"] != tc.runningSts || g["started"] != true {
				t.Errorf("running: status %v started %v, want %s true", g["status"], g["started"], tc.runningSts)
			}
			// An explicit slug wins in every version.
			u := f.do(t, "POST", "/api/"+tc.v+"/checks/"+id, rwKey, `{"name":"Renamed","slug":"given-`+tc.v+`"}`).json(t)
			if u["slug"] != "given-"+tc.v {
				t.Errorf("explicit slug: %v", u["slug"])
			}
		})
	}
	// v1 and v2: an automatic slug another check has is left unset (no
	// 409); an explicit one is still refused.
	a := f.do(t, "POST", "/api/v1/checks/", rwKey, `{"name":"Same Name"}`).json(t)
	b := f.do(t, "POST", "/api/v2/checks/", rwKey, `{"name":"Same Name"}`)
	if a["slug"] != "same-name" || b.code != 201 || b.json(t)["slug"] != "" {
		t.Errorf("colliding auto slug: %v, %d %s", a["slug"], b.code, b.body)
	}
	if r := f.do(t, "POST", "/api/v3/checks/", rwKey, `{"name":"x","slug":"same-name"}`); r.code != 409 {
		t.Errorf("colliding explicit slug: %d %s", r.code, r.body)
	}
}

func TestSlugify(t *testing.T) {
	f := newFixture(t, api.Options{})
	for in, want := range map[string]string{
		"Nightly Backup":       "nightly-backup",
		"  Ünïcödé  -- test_":  "unicode-test",
		"a_b-c d":              "a_b-c-d",
		"Crème brûlée (daily)": "creme-brulee-daily",
		"---":                  "",
		"日本":                   "",
	} {
		got := f.create(t, `{"name":"`+in+`"}`)
		if got["slug"] != want {
			t.Errorf("slugify(%q) = %q, want %q", in, got["slug"], want)
		}
	}
}

// unique: the first create makes the check (201), the second finds it
// and updates it (200); a field named in unique but absent means no lookup.
func TestUniqueUpsert(t *testing.T) {
	f := newFixture(t, api.Options{})
	body := `{"name":"backups","tags":"prod","timeout":3600,"grace":60,"unique":["name","timeout"]}`
	r1 := f.do(t, "POST", "/api/v3/checks/", rwKey, body)
	r2 := f.do(t, "POST", "/api/v3/checks/", rwKey, strings.Replace(body, `"prod"`, `"prod db"`, 1))
	if r1.code != 201 || r2.code != 200 {
		t.Fatalf("upsert: %d then %d: %s", r1.code, r2.code, r2.body)
	}
	if r1.json(t)["uuid"] != r2.json(t)["uuid"] || r2.json(t)["tags"] != "prod db" {
		t.Errorf("second answer: %s", r2.body)
	}
	for _, u := range []string{"slug", "tags", "grace"} {
		if r := f.do(t, "POST", "/api/v3/checks/", rwKey, `{"name":"backups","unique":["`+u+`"]}`); r.code != 201 {
			t.Errorf("unique %s absent: %d, want 201", u, r.code)
		}
	}
	if r := f.do(t, "POST", "/api/v3/checks/", rwKey, `{"name":"backups","unique":[]}`); r.code != 201 {
		t.Errorf("empty unique: %d", r.code)
	}
	// A config check matched: 200 when nothing would change, else 409.
	id := model.NewCheckID()
	if _, err := f.e.Sync(context.Background(), model.SourceConfig, []model.Check{{ID: id, Name: "cfg", Kind: model.KindPush}}); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "POST", "/api/v3/checks/", rwKey, `{"name":"cfg","unique":["name"]}`); r.code != 200 || r.json(t)["uuid"] != id.Secret() {
		t.Errorf("config check, no change: %d %s", r.code, r.body)
	}
	if r := f.do(t, "POST", "/api/v3/checks/", rwKey, `{"name":"cfg","desc":"new","unique":["name"]}`); r.code != 409 {
		t.Errorf("config check, a change: %d %s", r.code, r.body)
	}
}

// The "uuid" extension creates a check with a given UUID (the importer's
// way to keep ping URLs).
func TestCreateWithUUID(t *testing.T) {
	f := newFixture(t, api.Options{})
	id := "f618072a-7bde-4eee-af63-71a77c5723bc"
	c := f.create(t, `{"name":"imported","uuid":"`+id+`"}`)
	if c["uuid"] != id || c["ping_url"] != f.srv.URL+"/ping/"+id {
		t.Fatalf("created %v", c)
	}
	f.ping(t, id)
	if r := f.do(t, "POST", "/api/v3/checks/", rwKey, `{"name":"again","uuid":"`+id+`"}`); r.code != 409 {
		t.Errorf("taken uuid: %d %s", r.code, r.body)
	}
}

func TestChannels(t *testing.T) {
	f := channelsFixture(t, api.Options{})
	r := f.do(t, "GET", "/api/v3/channels/", rwKey, "")
	if r.code != 200 || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("channels: %d %s", r.code, r.body)
	}
	chs := r.json(t)["channels"].([]any)
	if len(chs) != 5 || !reflect.DeepEqual(chs[0], map[string]any{"id": chMail.ID.String(), "name": "mail", "kind": "email"}) {
		t.Errorf("channels %v", chs)
	}
	if r := f.do(t, "GET", "/api/v3/channels/", roKey, ""); r.code != 401 {
		t.Errorf("channels with a read-only key: %d", r.code)
	}
	sorted := func(ids ...uuid.UUID) string {
		var s []string
		for _, id := range ids {
			s = append(s, id.String())
		}
		return strings.Join(s, ",")
	}
	for _, tc := range []struct{ spec, want, err string }{
		// Actions are named, never "*"; routes go by name, so of two
		// channels with one name the first is shown.
		{"*", sorted(chMail.ID, chHook.ID, chDupA.ID), ""},
		{"", "", ""},
		{"mail", sorted(chMail.ID), ""},
		{"hook," + chMail.ID.String(), sorted(chMail.ID, chHook.ID), ""},
		{strings.ToUpper(chHook.ID.String()), sorted(chHook.ID), ""},
		{"restart-web", sorted(chDocker.ID), ""},
		{"nope", "", "invalid channel identifier: nope"},
		{"mail,", "", "empty channel identifier"},
		{"dup", "", "non-unique channel identifier: dup"},
		{chDupA.ID.String(), sorted(chDupA.ID), ""},
	} {
		r := f.do(t, "POST", "/api/v3/checks/", rwKey, `{"name":"c","channels":"`+tc.spec+`"}`)
		if tc.err != "" {
			if r.code != 400 || r.json(t)["error"] != tc.err {
				t.Errorf("channels %q: %d %s, want 400 %q", tc.spec, r.code, r.body, tc.err)
			}
			continue
		}
		c := r.json(t)
		if r.code != 201 || c["channels"] != tc.want {
			t.Errorf("channels %q: %d %v, want %q", tc.spec, r.code, c["channels"], tc.want)
		}
		warned := strings.Contains(r.body, "no channels: this check never alerts")
		if warned != (tc.want == "") {
			t.Errorf("channels %q: warnings %v", tc.spec, c["warnings"])
		}
		cs, _ := f.e.Get(model.CheckID(uuid.MustParse(c["uuid"].(string))))
		if tc.spec == "mail" && !reflect.DeepEqual(cs.Check.Routes, model.RouteAll([]string{"mail"})) {
			t.Errorf("routes %+v", cs.Check.Routes)
		}
	}
	// Update: absent leaves them, "" clears them.
	id := f.do(t, "POST", "/api/v3/checks/", rwKey, `{"name":"u","channels":"mail"}`).json(t)["uuid"].(string)
	if c := f.do(t, "POST", "/api/v3/checks/"+id, rwKey, `{"desc":"d"}`).json(t); c["channels"] != chMail.ID.String() {
		t.Errorf("absent channels: %v", c["channels"])
	}
	if c := f.do(t, "POST", "/api/v3/checks/"+id, rwKey, `{"channels":""}`).json(t); c["channels"] != "" {
		t.Errorf("cleared channels: %v", c["channels"])
	}
	// A route to a channel no longer configured is left out of
	// "channels" and warned about.
	cid := model.NewCheckID()
	if _, err := f.e.Create(context.Background(), model.Check{ID: cid, Name: "old", Kind: model.KindPush, Routes: model.RouteAll([]string{"gone", "mail"})}); err != nil {
		t.Fatal(err)
	}
	c := f.do(t, "GET", "/api/v3/checks/"+cid.Secret(), rwKey, "").json(t)
	if c["channels"] != chMail.ID.String() || !reflect.DeepEqual(c["warnings"], []any{`channel "gone" is not configured: its alerts fail`}) {
		t.Errorf("unconfigured route: %v %v", c["channels"], c["warnings"])
	}
}

// healthchecks.io's authorize: a POST body may carry the key as api_key.
func TestAPIKeyInBody(t *testing.T) {
	f := newFixture(t, api.Options{})
	r := f.do(t, "POST", "/api/v3/checks/", "", `{"api_key":"`+rwKey+`","name":"b"}`)
	if r.code != 201 {
		t.Fatalf("create with api_key: %d %s", r.code, r.body)
	}
	id := r.json(t)["uuid"].(string)
	for _, tc := range []struct {
		body string
		code int
		err  string
	}{
		{`{"api_key":"` + roKey + `","name":"b"}`, 401, "wrong api key"},
		{`{"api_key":"nope","name":"b"}`, 401, "wrong api key"},
		{`{"api_key":5,"name":"b"}`, 401, "missing api key"},
		{`{"name":"b"}`, 401, "missing api key"},
		{`not json`, 400, "could not parse request body"},
		{`[1,2]`, 400, "json validation error: value is not an object"},
	} {
		r := f.do(t, "POST", "/api/v3/checks/", "", tc.body)
		if r.code != tc.code || r.json(t)["error"] != tc.err {
			t.Errorf("%s: %d %s, want %d %q", tc.body, r.code, r.body, tc.code, tc.err)
		}
	}
	if r := f.do(t, "POST", "/api/v3/checks/"+id+"/pause", "", `{"api_key":"`+rwKey+`"}`); r.code != 200 {
		t.Errorf("pause with api_key: %d %s", r.code, r.body)
	}
	// GET takes no body key.
	if r := f.do(t, "GET", "/api/v3/checks/", "", `{"api_key":"`+rwKey+`"}`); r.code != 401 {
		t.Errorf("GET with a body key: %d", r.code)
	}
}

// healthchecks.io's cors decorator.
func TestCORS(t *testing.T) {
	f := newFixture(t, api.Options{})
	id := f.create(t, `{"name":"c"}`)["uuid"].(string)
	for path, methods := range map[string]string{
		"/api/v3/checks/":                 "GET, POST, OPTIONS",
		"/api/v1/checks/" + id:            "DELETE, GET, PATCH, POST, OPTIONS",
		"/api/v2/checks/" + id + "/pause": "POST, OPTIONS",
		"/api/v3/channels/":               "GET, OPTIONS",
	} {
		r := f.do(t, "OPTIONS", path, "", "")
		if r.code != 204 || r.body != "" {
			t.Errorf("OPTIONS %s: %d %q", path, r.code, r.body)
		}
		h := r.header
		if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Methods") != methods ||
			h.Get("Access-Control-Max-Age") != "600" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "X-Api-Key") {
			t.Errorf("OPTIONS %s: %v", path, h)
		}
	}
	r := f.do(t, "GET", "/api/v3/checks/", "", "")
	if r.code != 401 || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("401 without CORS: %d %v", r.code, r.header)
	}
}

// A read-only key sees no secret: no uuid, ping key, URLs or channels,
// and no pings; it reads flips and badges.
func TestReadOnlyView(t *testing.T) {
	f := channelsFixture(t, api.Options{PingKey: "pk"})
	c := f.create(t, `{"name":"secretive","slug":"s","channels":"mail"}`)
	id := c["uuid"].(string)
	for _, path := range []string{"/api/v1/checks/", "/api/v3/checks/" + c["unique_key"].(string), "/api/v2/checks/" + id} {
		r := f.do(t, "GET", path, roKey, "")
		if r.code != 200 {
			t.Fatalf("%s: %d %s", path, r.code, r.body)
		}
		for _, secret := range []string{id, `"uuid"`, `"ping_url"`, `"update_url"`, `"pause_url"`, `"resume_url"`, `"channels"`, `"ping_key"`} {
			if strings.Contains(r.body, secret) {
				t.Errorf("%s shows %s to a read-only key: %s", path, secret, r.body)
			}
		}
		if !strings.Contains(r.body, `"unique_key":"`+c["unique_key"].(string)) {
			t.Errorf("%s: no unique_key", path)
		}
	}
	for _, p := range []string{"/pings/", "/pings/1/body"} {
		if r := f.do(t, "GET", "/api/v3/checks/"+id+p, roKey, ""); r.code != 401 {
			t.Errorf("%s with a read-only key: %d", p, r.code)
		}
	}
	for _, p := range []string{"/api/v3/checks/" + id + "/flips/", "/api/v3/badges/"} {
		if r := f.do(t, "GET", p, roKey, ""); r.code != 200 {
			t.Errorf("%s with a read-only key: %d %s", p, r.code, r.body)
		}
	}
}

// Pings no longer carry their body: body_url points to it.
func TestPingBody(t *testing.T) {
	f := newFixture(t, api.Options{})
	id := f.create(t, `{"name":"b"}`)["uuid"].(string)
	f.ping(t, id)
	req, _ := http.NewRequest("POST", f.srv.URL+"/ping/"+id+"/fail", strings.NewReader("disk full\x00\xff"))
	resp, err := f.srv.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ping with a body: %v %v", resp, err)
	}
	resp.Body.Close()
	pings := f.do(t, "GET", "/api/v2/checks/"+id+"/pings/", rwKey, "").json(t)["pings"].([]any)
	newest, oldest := pings[0].(map[string]any), pings[len(pings)-1].(map[string]any)
	wantURL := f.srv.URL + "/api/v2/checks/" + id + "/pings/2/body"
	if newest["body_url"] != wantURL || oldest["body_url"] != nil || newest["body"] != nil {
		t.Fatalf("pings %v", pings)
	}
	b := f.do(t, "GET", "/api/v2/checks/"+id+"/pings/2/body", rwKey, "")
	if b.code != 200 || b.body != "disk full\x00\xff" || b.header.Get("Content-Type") != "text/plain" {
		t.Errorf("body: %d %q %v", b.code, b.body, b.header)
	}
	for _, n := range []string{"1", "3", "0", "x", "99999999999999999999", "9223372036854775807"} {
		if r := f.do(t, "GET", "/api/v3/checks/"+id+"/pings/"+n+"/body", rwKey, ""); r.code != 404 {
			t.Errorf("body of ping %s: %d %s", n, r.code, r.body)
		}
	}
}

// Pausing a paused check answers it without a new flip; /status/ needs no
// key and says whether the store answers; /badges/ is empty without
// badges.
func TestPauseStatusBadges(t *testing.T) {
	var storeErr error
	f := newFixture(t, api.Options{Status: func(context.Context) error { return storeErr }})
	id := f.create(t, `{"name":"p"}`)["uuid"].(string)
	for range 2 {
		if r := f.do(t, "POST", "/api/v3/checks/"+id+"/pause", rwKey, ""); r.code != 200 || r.json(t)["status"] != "paused" {
			t.Fatalf("pause: %d %s", r.code, r.body)
		}
	}
	if fl := f.do(t, "GET", "/api/v3/checks/"+id+"/flips/", rwKey, "").json(t)["flips"].([]any); len(fl) != 1 {
		t.Errorf("flips after pausing twice: %v", fl)
	}
	if r := f.do(t, "GET", "/api/v3/status/", "", ""); r.code != 200 || r.body != "OK" {
		t.Errorf("status: %d %q", r.code, r.body)
	}
	storeErr = errors.New("disk gone")
	if r := f.do(t, "GET", "/api/v1/status", "", ""); r.code != 503 {
		t.Errorf("status with a failing store: %d %q", r.code, r.body)
	}
	if r := f.do(t, "GET", "/api/v3/badges/", roKey, ""); r.code != 200 || r.body != `{"badges":{}}`+"\n" {
		t.Errorf("badges: %d %s", r.code, r.body)
	}
}

// ?seconds, ?start and ?end select flips as healthchecks.io's
// FlipsFiltersForm.
func TestFlipsFilters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGoldenEnv(t, 3)
		id := uuid.NewString()
		g.seed(map[string]any{"name": "f", "timeout": 3600.0, "n_pings": 0.0}, id)
		t0 := time.Date(2020, 6, 1, 12, 0, 0, 0, time.UTC)
		for i, kind := range []string{"", "/fail", "", "/fail"} { // up, down, up, down: one an hour
			g.events = append(g.events, pingEvent{at: t0.Add(time.Duration(i) * time.Hour), path: id + kind})
		}
		g.run()
		g.sleepUntil(t0.Add(3*time.Hour + 30*time.Minute))
		for _, tc := range []struct {
			q    string
			want int
		}{
			{"", 4},
			{"?seconds=3600", 1},
			{"?seconds=7200", 2},
			{"?seconds=0", 4},
			{"?start=" + unix(t0.Add(time.Hour)), 3},
			{"?end=" + unix(t0.Add(time.Hour)), 1},
			{"?start=" + unix(t0.Add(time.Hour)) + "&end=" + unix(t0.Add(3*time.Hour)), 2},
			{"?start=" + unix(t0) + "&seconds=3600", 1},
			{"?start=&end=", 4},
		} {
			code, body := g.do("GET", "/checks/"+id+"/flips/"+tc.q, roKey, "")
			if code != 200 || strings.Count(body, `"timestamp"`) != tc.want {
				t.Errorf("flips%s: %d, want %d flips: %s", tc.q, code, tc.want, body)
			}
		}
		for _, q := range []string{"?start=abc", "?start=-1", "?end=10000000001", "?seconds=31536001", "?seconds=1.5"} {
			if code, body := g.do("GET", "/checks/"+id+"/flips/"+q, roKey, ""); code != 400 {
				t.Errorf("flips%s: %d %s, want 400", q, code, body)
			}
		}
	})
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

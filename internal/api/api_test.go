package api_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
)

func TestKeys(t *testing.T) {
	f := newFixture(t, api.Options{})
	c := f.create(t, `{"name":"backup"}`)
	id := c["uuid"].(string)
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		body               string
		code               int
		err                string
	}{
		{"no key", "GET", "/api/v1/checks", nil, "", 401, "missing api key"},
		{"wrong key", "GET", "/api/v1/checks", []string{"X-Api-Key", "nope"}, "", 401, "wrong api key"},
		{"prefix of a key", "GET", "/api/v1/checks", []string{"X-Api-Key", rwKey[:len(rwKey)-1]}, "", 401, "wrong api key"},
		{"empty bearer", "GET", "/api/v1/checks", []string{"Authorization", "Bearer "}, "", 401, "missing api key"},
		{"basic auth is not a key", "GET", "/api/v1/checks", []string{"Authorization", "Basic cnc6cnc="}, "", 401, "missing api key"},
		{"read-only list", "GET", "/api/v1/checks", []string{"X-Api-Key", roKey}, "", 200, ""},
		{"read-only bearer", "GET", "/api/v1/checks", []string{"Authorization", "Bearer " + roKey}, "", 200, ""},
		{"lower-case bearer", "GET", "/api/v1/checks", []string{"Authorization", "bearer " + rwKey}, "", 200, ""},
		{"read-only create", "POST", "/api/v1/checks", []string{"X-Api-Key", roKey}, `{"name":"x"}`, 401, "wrong api key"},
		{"read-only update", "PATCH", "/api/v1/checks/" + id, []string{"X-Api-Key", roKey}, `{"name":"x"}`, 401, "wrong api key"},
		{"read-only delete", "DELETE", "/api/v1/checks/" + id, []string{"X-Api-Key", roKey}, "", 401, "wrong api key"},
		{"read-only pause", "POST", "/api/v1/checks/" + id + "/pause", []string{"X-Api-Key", roKey}, "", 401, "wrong api key"},
		{"read-only resume", "POST", "/api/v1/checks/" + id + "/resume", []string{"X-Api-Key", roKey}, "", 401, "wrong api key"},
		{"read-write create", "POST", "/api/v1/checks", []string{"X-Api-Key", rwKey}, `{"name":"x"}`, 201, ""},
		{"read-write bearer pause", "POST", "/api/v1/checks/" + id + "/pause", []string{"Authorization", "Bearer " + rwKey}, "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.method, tc.path, "", tc.body, tc.hdr...)
			if r.code != tc.code {
				t.Fatalf("code %d, want %d: %s", r.code, tc.code, r.body)
			}
			if tc.err != "" {
				if got := r.json(t)["error"]; got != tc.err {
					t.Errorf("error %q, want %q", got, tc.err)
				}
			}
			if tc.code == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestNoKeysConfigured(t *testing.T) {
	f := newFixture(t, api.Options{Keys: []api.Key{{Secret: ""}}})
	for _, k := range []string{"", "anything"} {
		if r := f.do(t, "GET", "/api/v1/checks", k, ""); r.code != 401 {
			t.Errorf("key %q: %d, want 401", k, r.code)
		}
	}
}

// TestMalformed is the table of bad requests, each with its exact answer.
func TestMalformed(t *testing.T) {
	f := newFixture(t, api.Options{MaxBodyBytes: 1024})
	c := f.create(t, `{"name":"backup","slug":"backup","ping_key":"pk"}`)
	id := c["uuid"].(string)
	cfg, err := f.e.Create(context.Background(), model.Check{ID: model.NewCheckID(), Name: "from-config", Kind: model.KindPush, Source: model.SourceConfig})
	if err != nil {
		t.Fatal(err)
	}
	checks := "/api/v1/checks"
	one := checks + "/" + id
	big := `{"name":"` + strings.Repeat("x", 2000) + `"}`
	for _, tc := range []struct {
		name, method, path, body, ctype string
		code                            int
		err                             string
		details                         []string
		allow                           string
	}{
		{"unknown endpoint", "GET", "/api/v1/nope", "", "", 404, "no such endpoint: /api/v1/nope", nil, ""},
		{"unknown sub-resource", "GET", one + "/nope", "", "", 404, "no such endpoint: " + one + "/nope", nil, ""},
		{"unknown check", "GET", checks + "/" + uuid.NewString(), "", "", 404, "check not found", nil, ""},
		{"not a uuid", "GET", checks + "/backup", "", "", 404, "check not found", nil, ""},
		{"non-canonical uuid", "GET", checks + "/" + strings.ReplaceAll(id, "-", "") + "0000", "", "", 404, "check not found", nil, ""},
		{"unknown check pings", "GET", checks + "/" + uuid.NewString() + "/pings", "", "", 404, "check not found", nil, ""},
		{"PUT on checks", "PUT", checks, `{}`, "", 405, "method PUT not allowed", []string{"allowed: GET, HEAD, OPTIONS, POST"}, "GET, HEAD, OPTIONS, POST"},
		{"GET on pause", "GET", one + "/pause", "", "", 405, "method GET not allowed", []string{"allowed: OPTIONS, POST"}, "OPTIONS, POST"},
		{"POST on pings", "POST", one + "/pings", "", "", 405, "method POST not allowed", []string{"allowed: GET, HEAD, OPTIONS"}, "GET, HEAD, OPTIONS"},
		{"PUT on a check", "PUT", one, `{}`, "", 405, "method PUT not allowed", []string{"allowed: DELETE, GET, HEAD, OPTIONS, PATCH, POST"}, "DELETE, GET, HEAD, OPTIONS, PATCH, POST"},
		{"empty body", "POST", checks, "", "", 400, "invalid check", []string{"name: is required"}, ""},
		{"not JSON", "POST", checks, `name=x`, "", 400, "could not parse request body", []string{"invalid JSON at byte 2: invalid character 'a' in literal null (expecting 'u')"}, ""},
		{"truncated", "POST", checks, `{"name":"x"`, "", 400, "could not parse request body", []string{"invalid JSON: unexpected end of input"}, ""},
		{"trailing comma", "POST", checks, `{"name":"x",}`, "", 400, "could not parse request body", []string{"invalid JSON at byte 13: invalid character '}' looking for beginning of object key string"}, ""},
		{"two objects", "POST", checks, `{"name":"x"} {"name":"y"}`, "", 400, "could not parse request body", []string{"invalid JSON: data after the value"}, ""},
		{"array", "POST", checks, `[{"name":"x"}]`, "", 400, "json validation error: value is not an object", []string{"expected a JSON object, got array"}, ""},
		{"unknown field", "POST", checks, `{"name":"x","nme":"y"}`, "", 400, `unknown field "nme"`, nil, ""},
		{"hc channels unknown", "POST", checks, `{"name":"x","channels":"nope"}`, "", 400, "invalid channel identifier: nope", nil, ""},
		{"nested unknown field", "POST", checks, `{"name":"x","thresholds":{"failure":2}}`, "", 400, `unknown field "failure"`, nil, ""},
		{"timeout as string", "POST", checks, `{"name":"x","timeout":"60"}`, "", 400, "json validation error: timeout is not a number", []string{"timeout: expected a number, got string"}, ""},
		{"name as number", "POST", checks, `{"name":5}`, "", 400, "json validation error: name is not a string", []string{"name: expected a string, got number"}, ""},
		{"tags as number", "POST", checks, `{"name":"x","tags":5}`, "", 400, "json validation error: tags is not a string", []string{"tags: expected an array of strings or a space-separated string, got number"}, ""},
		{"nested wrong type", "POST", checks, `{"name":"x","thresholds":{"failures":"2"}}`, "", 400, "thresholds.failures: expected an integer, got string", nil, ""},
		{"fraction for an integer", "POST", checks, `{"name":"x","thresholds":{"failures":1.5}}`, "", 400, "thresholds.failures: 1.5 is not an integer in range", nil, ""},
		{"integer overflow", "POST", checks, `{"name":"x","thresholds":{"successes":1e30}}`, "", 400, "thresholds.successes: 1e30 is not an integer in range", nil, ""},
		{"bool as string", "POST", checks, `{"name":"x","manual_resume":"yes"}`, "", 400, "json validation error: manual_resume is not a boolean", []string{"manual_resume: expected a boolean, got string"}, ""},
		{"no content type", "POST", checks, `{"name":"no type"}`, "-", 201, "", nil, ""},
		{"form content type (curl --data)", "POST", checks, `{"name":"form type"}`, "application/x-www-form-urlencoded", 201, "", nil, ""},
		{"latin-1 charset", "POST", checks, `{"name":"x"}`, "application/json; charset=iso-8859-1", 415, `charset "iso-8859-1": the body must be UTF-8`, nil, ""},
		{"json with utf-8 charset", "POST", checks, `{"name":"charset ok"}`, "application/json; charset=UTF-8", 201, "", nil, ""},
		{"too large", "POST", checks, big, "", 413, "request body larger than 1024 bytes", nil, ""},
		{"too large on a GET", "GET", checks, big, "", 413, "request body larger than 1024 bytes", nil, ""},
		{"too large on pause", "POST", one + "/pause", big, "", 413, "request body larger than 1024 bytes", nil, ""},
		{"missing name", "POST", checks, `{"tags":"a b"}`, "", 400, "invalid check", []string{"name: is required"}, ""},
		{"every problem reported", "POST", checks,
			`{"name":"","slug":"Bad Slug","kind":"poll","timeout":-1,"tz":"Mars/Olympus","thresholds":{"failures":-1,"flap_window":65}}`, "", 400, "invalid check",
			[]string{
				"timeout: must be from 1 to 31536000 seconds",
				"name: is required",
				`slug: "Bad Slug" must be 1-100 characters of a-z, 0-9, '-' and '_'`,
				`kind: "poll" must be "push" or "pull"`,
				"timeout: must be positive",
				`tz: unknown time zone "Mars/Olympus"`,
				"thresholds.failures: must be between 1 and 1000 (0 or unset means 1)",
				"thresholds.flap_window: must be 0-64",
				"thresholds: flap_changes and flap_window are set together",
			}, ""},
		{"local time zone", "POST", checks, `{"name":"x","schedule":"0 3 * * *","tz":"Local"}`, "", 400, "invalid check",
			[]string{`tz: "Local" is not allowed: name an IANA zone, such as "Europe/Paris" or "UTC"`}, ""},
		{"NUL in a name", "POST", checks, `{"name":"db\u0000primary"}`, "", 400, "invalid check",
			[]string{"name: character U+0000 at byte 2 is not allowed (no control, line-separator or bidi-override characters)"}, ""},
		{"escape sequence in a tag", "POST", checks, `{"name":"x","tags":["ok","\u001b[2J"]}`, "", 400, "invalid check",
			[]string{"tags: character U+001B at byte 0 is not allowed (no control, line-separator or bidi-override characters)"}, ""},
		{"bidi override in a name", "POST", checks, `{"name":"\u202eyrammirp"}`, "", 400, "invalid check",
			[]string{"name: character U+202E at byte 0 is not allowed (no control, line-separator or bidi-override characters)"}, ""},
		{"control character in desc", "POST", checks, `{"name":"x","desc":"line one\nline two\u0000"}`, "", 400, "invalid check",
			[]string{"desc: character U+0000 at byte 17 is not allowed (no control, line-separator or bidi-override characters)"}, ""},
		{"invalid UTF-8", "POST", checks, "{\"name\":\"db\xff\"}", "", 400, "could not parse request body", []string{"invalid UTF-8 at byte 11: the body must be UTF-8"}, ""},
		{"huge failures", "POST", checks, `{"name":"x","thresholds":{"failures":1000000000000000000}}`, "", 400, "invalid check",
			[]string{"thresholds.failures: must be between 1 and 1000 (0 or unset means 1)"}, ""},
		{"huge successes", "POST", checks, `{"name":"x","thresholds":{"successes":1001}}`, "", 400, "invalid check",
			[]string{"thresholds.successes: must be between 1 and 1000 (0 or unset means 1)"}, ""},
		{"huge start period", "POST", checks, `{"name":"x","thresholds":{"start_period":31536001}}`, "", 400, "invalid check",
			[]string{"thresholds.start_period: must be from 0 to 31536000 seconds"}, ""},
		{"update to a NUL name", "PATCH", one, `{"name":"a\u0000"}`, "", 400, "invalid check",
			[]string{"name: character U+0000 at byte 1 is not allowed (no control, line-separator or bidi-override characters)"}, ""},
		{"schedule wins over timeout", "POST", checks, `{"name":"both","timeout":60,"schedule":"* * * * *"}`, "", 201, "", nil, ""},
		{"bad cron", "POST", checks, `{"name":"x","schedule":"61 * * * *"}`, "", 400, "invalid check",
			[]string{"schedule: end of range (61) above maximum (59): 61"}, ""},
		{"zero grace", "POST", checks, `{"name":"x","grace":0}`, "", 400, "invalid check", []string{"grace: must be positive for push checks"}, ""},
		{"huge grace", "POST", checks, `{"name":"x","grace":1e300}`, "", 400, "invalid check", []string{"grace: must be from 0 to 31536000 seconds"}, ""},
		{"bad methods", "POST", checks, `{"name":"x","methods":"GET"}`, "", 400, "invalid check", []string{`methods: must be "" (HEAD, GET and POST) or "POST"`}, ""},
		{"bad ping key", "POST", checks, `{"name":"x","ping_key":"a/b"}`, "", 400, "invalid check", []string{"ping_key: must be 1-100 characters of a-z, A-Z, 0-9, '-' and '_'"}, ""},
		{"pull without probe", "POST", checks, `{"name":"x","kind":"pull","timeout":10}`, "", 400, "invalid check", []string{"probe: required for pull checks"}, ""},
		{"probe not an object", "POST", checks, `{"name":"x","kind":"pull","timeout":10,"probe":"http://x"}`, "", 400, "invalid check", []string{"probe: expected an object, got string"}, ""},
		{"push with probe", "POST", checks, `{"name":"x","probe":{"url":"http://x"}}`, "", 400, "invalid check", []string{"probe: push checks take no probe"}, ""},
		{"duplicate slug", "POST", checks, `{"name":"other","slug":"backup","ping_key":"pk"}`, "", 409, `slug "backup" is already used by another check with the same ping key`, nil, ""},
		{"update invalid", "PATCH", one, `{"timeout":0.5}`, "", 400, "invalid check", []string{"timeout: must be from 1 to 31536000 seconds"}, ""},
		{"update config check", "POST", checks + "/" + cfg.ID.Secret(), `{"name":"renamed"}`, "", 409, `check "from-config" is defined in the config file: change it there and reload`, nil, ""},
		{"delete config check", "DELETE", checks + "/" + cfg.ID.Secret(), "", "", 409, `check "from-config" is defined in the config file: remove it there and reload`, nil, ""},
		{"resume a running check", "POST", one + "/resume", "", "", 409, "check is not paused", nil, ""},
		{"pause with unknown field", "POST", one + "/pause", `{"why":"x"}`, "", 400, `unknown field "why"`, nil, ""},
		{"pause with a non-object", "POST", one + "/pause", `123`, "", 400, "json validation error: value is not an object", []string{"expected a JSON object, got number"}, ""},
		{"unique not a list", "POST", checks, `{"name":"x","unique":"name"}`, "", 400, "json validation error: unique is not an array", []string{"unique: expected an array, got string"}, ""},
		{"unique bad value", "POST", checks, `{"name":"x","unique":["status"]}`, "", 400, "json validation error: an item in 'unique' has unexpected value", []string{"unique: each item must be one of name, slug, tags, timeout, grace"}, ""},
		{"uuid not canonical", "POST", checks, `{"name":"x","uuid":"` + strings.ReplaceAll(id, "-", "") + `"}`, "", 400, "invalid check", []string{"uuid: must be a UUID in its canonical form (8-4-4-4-12 hex digits), not nil"}, ""},
		{"nil uuid", "POST", checks, `{"name":"x","uuid":"00000000-0000-0000-0000-000000000000"}`, "", 400, "invalid check", []string{"uuid: must be a UUID in its canonical form (8-4-4-4-12 hex digits), not nil"}, ""},
		{"uuid taken", "POST", checks, `{"name":"x","uuid":"` + id + `"}`, "", 409, "check already exists", []string{"a check with this uuid exists: update it with POST /checks/{uuid}"}, ""},
		{"uuid on update", "POST", one, `{"uuid":"` + uuid.NewString() + `"}`, "", 400, "invalid check", []string{"uuid: can only be given on create"}, ""},
		{"keyword too long", "POST", checks, `{"name":"x","success_kw":"` + strings.Repeat("k", 201) + `"}`, "", 400, "invalid check", []string{"success_kw: longer than 200 bytes"}, ""},
		{"bad flips start", "GET", one + "/flips/?start=abc", "", "", 400, "start: must be an integer", nil, ""},
		{"negative flips start", "GET", one + "/flips/?start=-123", "", "", 400, "start: out of bounds (0 to 10000000000)", nil, ""},
		{"flips seconds too large", "GET", one + "/flips/?seconds=31536001", "", "", 400, "seconds: out of bounds (0 to 31536000)", nil, ""},
		{"no ping body", "GET", one + "/pings/1/body", "", "", 404, "ping not found", nil, ""},
		{"unknown version", "GET", "/api/v4/checks/", "", "", 404, "no such endpoint: /api/v4/checks/", nil, ""},
		{"no version", "GET", "/api/checks/", "", "", 404, "no such endpoint: /api/checks/", nil, ""},
		{"bad limit", "GET", checks + "?limit=0", "", "", 400, "limit: must be an integer from 1 to 1000", nil, ""},
		{"limit too large", "GET", one + "/pings?limit=1001", "", "", 400, "limit: must be an integer from 1 to 1000", nil, ""},
		{"bad cursor", "GET", checks + "?cursor=!!!", "", "", 400, "cursor: invalid (pass the next_cursor of the previous page)", nil, ""},
		{"bad pings cursor", "GET", one + "/pings?cursor=eA", "", "", 400, "cursor: invalid (pass the next_cursor of the previous page)", nil, ""},
		{"bad flips cursor", "GET", one + "/flips?cursor=eA", "", "", 400, "cursor: invalid (pass the next_cursor of the previous page)", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{}
			switch tc.ctype {
			case "":
			case "-":
				hdr = []string{"Content-Type", ""}
			default:
				hdr = []string{"Content-Type", tc.ctype}
			}
			r := f.do(t, tc.method, tc.path, rwKey, tc.body, hdr...)
			if r.code != tc.code {
				t.Fatalf("code %d, want %d: %s", r.code, tc.code, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.err == "" {
				return
			}
			m := r.json(t)
			if m["error"] != tc.err {
				t.Errorf("error:\n got %q\nwant %q", m["error"], tc.err)
			}
			var details []string
			if d, ok := m["details"].([]any); ok {
				for _, x := range d {
					details = append(details, x.(string))
				}
			}
			if !reflect.DeepEqual(details, tc.details) {
				t.Errorf("details:\n got %q\nwant %q", details, tc.details)
			}
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

// TestLifecycle walks every endpoint over the real engine and SQLite store:
// create, get (by UUID and unique_key), list, pings through the ping
// protocol, pause, flips, resume, update, delete.
func TestLifecycle(t *testing.T) {
	f := newFixture(t, api.Options{PingURL: "https://vitals.example.com/ping/", PingKey: "pk"})
	c := f.create(t, `{"name":"nightly backup","slug":"backup","tags":"prod db","desc":"pg_dump","timeout":3600,"grace":300,"methods":"POST","thresholds":{"failures":2}}`)
	id := c["uuid"].(string)
	want := map[string]any{
		"name": "nightly backup", "slug": "backup", "ping_key": "pk", "tags": "prod db", "desc": "pg_dump",
		"kind": "push", "source": "api", "timeout": 3600.0, "grace": 300.0, "methods": "POST", "status": "new",
		"started": false, "last_ping": nil, "next_ping": nil, "n_pings": 0.0, "n_flips": 0.0,
		"ping_url":   "https://vitals.example.com/ping/" + id,
		"update_url": "https://vitals.example.com/api/v1/checks/" + id, "pause_url": "https://vitals.example.com/api/v1/checks/" + id + "/pause",
		"thresholds": map[string]any{"failures": 2.0, "successes": 1.0, "start_period": 0.0, "flap_changes": 0.0, "flap_window": 0.0},
	}
	for k, v := range want {
		if !reflect.DeepEqual(c[k], v) {
			t.Errorf("created %s = %#v, want %#v", k, c[k], v)
		}
	}
	ukey := c["unique_key"].(string)
	if len(ukey) != 40 {
		t.Fatalf("unique_key %q", ukey)
	}

	// Get, by UUID and by unique key; the read-only key sees no secret.
	if r := f.do(t, "GET", "/api/v1/checks/"+id, rwKey, ""); r.code != 200 || r.json(t)["name"] != "nightly backup" {
		t.Fatalf("get: %d %s", r.code, r.body)
	}
	ro := f.do(t, "GET", "/api/v1/checks/"+ukey, roKey, "")
	if ro.code != 200 {
		t.Fatalf("get by unique key: %d %s", ro.code, ro.body)
	}
	for _, secret := range []string{id, `"ping_key"`, `"ping_url"`, `"uuid"`, `"update_url"`} {
		if strings.Contains(ro.body, secret) {
			t.Errorf("read-only view shows %s: %s", secret, ro.body)
		}
	}

	// Pings through the real ping protocol, then read back.
	rid := uuid.NewString()
	f.ping(t, id+"/start?rid="+rid)
	f.ping(t, id+"/0?rid="+rid)
	f.ping(t, id+"/fail")
	f.ping(t, id+"/fail") // two failures: down (thresholds.failures 2)
	if r := f.do(t, "GET", "/api/v1/checks/"+id+"/pings", roKey, ""); r.code != 401 {
		t.Fatalf("pings with a read-only key: %d %s", r.code, r.body)
	}
	r := f.do(t, "GET", "/api/v1/checks/"+id+"/pings", rwKey, "")
	if r.code != 200 {
		t.Fatalf("pings: %d %s", r.code, r.body)
	}
	pings := r.json(t)["pings"].([]any)
	if len(pings) != 4 {
		t.Fatalf("%d pings: %s", len(pings), r.body)
	}
	p0, p2 := pings[0].(map[string]any), pings[2].(map[string]any)
	if p0["type"] != "fail" || p0["n"] != 4.0 || p0["method"] != "POST" {
		t.Errorf("newest ping %v", p0)
	}
	if p2["type"] != "success" || p2["exit_status"] != 0.0 || p2["rid"] != rid || p2["duration"] == nil {
		t.Errorf("exit-status ping %v", p2)
	}
	got := f.do(t, "GET", "/api/v1/checks/"+id, rwKey, "").json(t)
	if got["status"] != "down" || got["n_pings"] != 4.0 || got["last_ping"] == nil {
		t.Errorf("after pings: %v", got)
	}

	// Pause, resume, and the flips they made.
	r = f.do(t, "POST", "/api/v1/checks/"+id+"/pause", rwKey, `{"reason":"maintenance"}`)
	if r.code != 200 || r.json(t)["status"] != "paused" {
		t.Fatalf("pause: %d %s", r.code, r.body)
	}
	r = f.do(t, "POST", "/api/v1/checks/"+id+"/resume", rwKey, "")
	if r.code != 200 || r.json(t)["status"] != "new" {
		t.Fatalf("resume: %d %s", r.code, r.body)
	}
	r = f.do(t, "GET", "/api/v1/checks/"+id+"/flips", rwKey, "")
	var flips []string
	for _, x := range r.json(t)["flips"].([]any) {
		m := x.(map[string]any)
		flips = append(flips, fmt.Sprintf("%v>%v up=%v %v", m["from"], m["to"], m["up"], m["reason"]))
	}
	wantFlips := []string{
		"paused>new up=0 resumed: by API key ops",
		"down>paused up=0 paused: maintenance (by API key ops)",
		"up>down up=0 " + flipReason(t, f, id, 2),
		"new>up up=1 " + flipReason(t, f, id, 3),
	}
	if !reflect.DeepEqual(flips, wantFlips) {
		t.Errorf("flips:\n got %q\nwant %q", flips, wantFlips)
	}

	// Partial update: only the fields given change; cron replaces timeout.
	r = f.do(t, "PATCH", "/api/v1/checks/"+id, rwKey, `{"schedule":"0 3 * * *","tz":"Europe/Riga","tags":["prod"]}`)
	if r.code != 200 {
		t.Fatalf("update: %d %s", r.code, r.body)
	}
	u := r.json(t)
	if u["schedule"] != "0 3 * * *" || u["tz"] != "Europe/Riga" || u["timeout"] != nil || u["name"] != "nightly backup" ||
		u["tags"] != "prod" || u["grace"] != 300.0 {
		t.Errorf("updated: %v", u)
	}
	if cs, _ := f.e.Get(model.CheckID(uuid.MustParse(id))); cs.Check.Schedule.Cron != "0 3 * * *" || cs.Check.Schedule.TZ != "Europe/Riga" {
		t.Errorf("engine has %+v", cs.Check.Schedule)
	}
	// POST (healthchecks.io's verb) updates too, and timeout switches back.
	r = f.do(t, "POST", "/api/v1/checks/"+id, rwKey, `{"timeout":60}`)
	if u := r.json(t); r.code != 200 || u["timeout"] != 60.0 || u["schedule"] != nil {
		t.Errorf("update back to timeout: %d %s", r.code, r.body)
	}

	// Delete answers the check as it was; then it is gone everywhere.
	r = f.do(t, "DELETE", "/api/v1/checks/"+id, rwKey, "")
	if r.code != 200 || r.json(t)["uuid"] != id {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	for _, p := range []string{"", "/pings", "/flips"} {
		if r := f.do(t, "GET", "/api/v1/checks/"+id+p, rwKey, ""); r.code != 404 {
			t.Errorf("GET after delete %s: %d", p, r.code)
		}
	}
	if _, _, err := f.st.GetCheck(context.Background(), model.CheckID(uuid.MustParse(id))); err == nil {
		t.Error("still in the store")
	}
}

// flipReason reads the reason of the i-th newest flip from the store.
func flipReason(t *testing.T, f *fixture, id string, i int) string {
	t.Helper()
	fl, err := f.st.Flips(context.Background(), model.CheckID(uuid.MustParse(id)), storeFlipQuery())
	if err != nil || len(fl) <= i {
		t.Fatalf("flips: %v %v", fl, err)
	}
	return fl[i].Reason
}

func TestConfigChecksPauseAndStayReadOnly(t *testing.T) {
	f := newFixture(t, api.Options{})
	id := model.NewCheckID()
	if _, err := f.e.Sync(context.Background(), model.SourceConfig, []model.Check{{ID: id, Name: "cfg", Kind: model.KindPush}}); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/checks/" + id.Secret()
	if r := f.do(t, "GET", path, rwKey, ""); r.code != 200 || r.json(t)["source"] != "config" {
		t.Fatalf("get: %d %s", r.code, r.body)
	}
	if r := f.do(t, "POST", path+"/pause", rwKey, ""); r.code != 200 {
		t.Fatalf("pause: %d %s", r.code, r.body)
	}
	if r := f.do(t, "PATCH", path, rwKey, `{"name":"x"}`); r.code != 409 {
		t.Fatalf("update: %d %s", r.code, r.body)
	}
	// API checks coexist with config ones: a reload leaves them alone.
	apiCheck := f.create(t, `{"name":"from-api"}`)["uuid"].(string)
	// A reload keeps the pause (state is kept for unchanged checks).
	if _, err := f.e.Sync(context.Background(), model.SourceConfig, []model.Check{{ID: id, Name: "cfg", Kind: model.KindPush}}); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "GET", path, roKey, ""); r.json(t)["status"] != "paused" {
		t.Fatalf("after reload: %s", r.body)
	}
	if r := f.do(t, "GET", "/api/v1/checks/"+apiCheck, roKey, ""); r.code != 200 {
		t.Fatalf("API check after reload: %d", r.code)
	}
	// A reload that drops the config check retires it, not the API one.
	if res, err := f.e.Sync(context.Background(), model.SourceConfig, nil); err != nil || res.Retired != 1 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	if r := f.do(t, "GET", "/api/v1/checks", roKey, ""); len(r.json(t)["checks"].([]any)) != 1 {
		t.Fatalf("after dropping the config check: %s", r.body)
	}
}

// TestPagination walks every list with small pages and checks that each
// item is seen once, in order.
func TestPagination(t *testing.T) {
	f := newFixture(t, api.Options{})
	var ids []string
	for i := range 7 {
		ids = append(ids, f.create(t, fmt.Sprintf(`{"name":"c%d","tags":["all","%s"]}`, i, map[bool]string{true: "even", false: "odd"}[i%2 == 0]))["uuid"].(string))
	}
	walk := func(path, field, key string) []map[string]any {
		var all []map[string]any
		cursor := ""
		for range 20 {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			r := f.do(t, "GET", path+sep+"limit=3&cursor="+cursor, key, "")
			if r.code != 200 {
				t.Fatalf("%s: %d %s", path, r.code, r.body)
			}
			m := r.json(t)
			for _, x := range m[field].([]any) {
				all = append(all, x.(map[string]any))
			}
			next, _ := m["next_cursor"].(string)
			if next == "" {
				return all
			}
			if strings.Contains(next, ids[0]) {
				t.Fatal("cursor shows a UUID")
			}
			cursor = next
		}
		t.Fatal("pagination does not end")
		return nil
	}
	checks := walk("/api/v1/checks", "checks", roKey)
	if len(checks) != 7 {
		t.Fatalf("%d checks", len(checks))
	}
	for i, c := range checks {
		if c["name"] != fmt.Sprintf("c%d", i) { // creation order
			t.Errorf("check %d is %v", i, c["name"])
		}
	}
	if even := walk("/api/v1/checks?tag=all&tag=even", "checks", rwKey); len(even) != 4 {
		t.Errorf("%d checks tagged all and even", len(even))
	}
	for range 8 {
		f.ping(t, ids[0])
		f.ping(t, ids[0]+"/fail")
	}
	pings := walk("/api/v1/checks/"+ids[0]+"/pings", "pings", rwKey)
	if len(pings) != 16 {
		t.Fatalf("%d pings", len(pings))
	}
	for i, p := range pings {
		if p["n"] != float64(16-i) {
			t.Errorf("ping %d has n %v", i, p["n"])
		}
	}
	flips := walk("/api/v1/checks/"+ids[0]+"/flips", "flips", rwKey)
	if len(flips) != 16 { // new>up, then up>down and down>up alternating
		t.Fatalf("%d flips", len(flips))
	}
	for i := 1; i < len(flips); i++ {
		if flips[i-1]["from"] != flips[i]["to"] {
			t.Errorf("flips %d and %d do not chain: %v %v", i-1, i, flips[i-1], flips[i])
		}
	}
	if f.do(t, "HEAD", "/api/v1/checks", roKey, "").code != 200 {
		t.Error("HEAD")
	}
}

func TestValidateProbeHook(t *testing.T) {
	f := newFixture(t, api.Options{ValidateProbe: func(b []byte) error {
		if !strings.Contains(string(b), `"url"`) {
			return fmt.Errorf("url: required")
		}
		return nil
	}})
	r := f.do(t, "POST", "/api/v1/checks", rwKey, `{"name":"web","kind":"pull","timeout":10,"probe":{"type":"http"}}`)
	if r.code != 400 || !reflect.DeepEqual(r.json(t)["details"], []any{"probe: url: required"}) {
		t.Fatalf("%d %s", r.code, r.body)
	}
	r = f.do(t, "POST", "/api/v1/checks", rwKey, `{"name":"web","kind":"pull","timeout":10,"grace":0,"probe":{"type":"http","url":"http://127.0.0.1:1/"}}`)
	if r.code != 201 {
		t.Fatalf("%d %s", r.code, r.body)
	}
	m := r.json(t)
	if m["ping_url"] != nil || m["kind"] != "pull" || !reflect.DeepEqual(m["probe"], map[string]any{"type": "http", "url": "http://127.0.0.1:1/"}) {
		t.Errorf("pull check: %s", r.body)
	}
	cs, _ := f.e.Get(model.CheckID(uuid.MustParse(m["uuid"].(string))))
	if cs.Check.Schedule.Period != 10*time.Second {
		t.Errorf("period %v", cs.Check.Schedule.Period)
	}
}

// TestStoreDown: a write the store refuses is a 503 with the reason, and
// reads from memory still work.
func TestStoreDown(t *testing.T) {
	f := newFixture(t, api.Options{})
	id := f.create(t, `{"name":"a"}`)["uuid"].(string)
	f.st.Close()
	r := f.do(t, "POST", "/api/v1/checks", rwKey, `{"name":"b"}`)
	if m := r.json(t); r.code != 503 || !strings.HasPrefix(m["error"].(string), "store unavailable: ") {
		t.Fatalf("create on a closed store: %d %s", r.code, r.body)
	}
	if r := f.do(t, "GET", "/api/v1/checks/"+id, roKey, ""); r.code != 200 {
		t.Fatalf("get from memory: %d %s", r.code, r.body)
	}
	if r := f.do(t, "GET", "/api/v1/checks/"+id+"/pings", rwKey, ""); r.code != 503 {
		t.Fatalf("pings from a closed store: %d %s", r.code, r.body)
	}
}

// TestURLsFromRequest: without an absolute PingURL the URLs follow the
// request's Host.
func TestURLsFromRequest(t *testing.T) {
	for _, pingURL := range []string{"", "/ping/", "ping"} {
		f := newFixture(t, api.Options{PingURL: pingURL})
		c := f.create(t, `{"name":"a"}`)
		id := c["uuid"].(string)
		if c["ping_url"] != f.srv.URL+"/ping/"+id || c["resume_url"] != f.srv.URL+"/api/v1/checks/"+id+"/resume" {
			t.Errorf("PingURL %q: %v %v", pingURL, c["ping_url"], c["resume_url"])
		}
	}
}

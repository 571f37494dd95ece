package badge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/badge"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// fixture is the badge handler over a real engine and SQLite store,
// behind a loopback listener. The engine and the handler share a clock
// the test moves (offset from the real time: deadlines are armed on real
// timers, hours away).
type fixture struct {
	srv    *httptest.Server
	e      *watchdog.Engine
	h      *badge.Handler
	offset atomic.Int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := st.InstallationSecret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{}
	now := func() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) }
	f.e = watchdog.New(st, watchdog.Options{Now: now})
	if err := f.e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.h = badge.New(badge.Options{Engine: f.e, Secret: secret, Now: now, Label: "acme"})
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(func() {
		f.srv.Close()
		f.e.Close()
		st.Close()
	})
	return f
}

func (f *fixture) create(t *testing.T, name string, tags ...string) model.CheckID {
	t.Helper()
	c, err := f.e.Create(context.Background(), model.Check{Name: name, Kind: model.KindPush, Tags: tags,
		Schedule: model.Schedule{Period: time.Hour, Grace: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (f *fixture) ping(t *testing.T, id model.CheckID, kind model.PingKind) {
	t.Helper()
	if _, err := f.e.Ping(context.Background(), id, model.Ping{Kind: kind, ExitStatus: -1}); err != nil {
		t.Fatal(err)
	}
}

type reply struct {
	code int
	body string
	hdr  http.Header
}

func (f *fixture) do(t *testing.T, method, path string) reply {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b), resp.Header}
}

func (f *fixture) get(t *testing.T, path string) reply {
	t.Helper()
	r := f.do(t, http.MethodGet, path)
	if r.code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.code, r.body)
	}
	return r
}

// tally GETs a json badge.
func (f *fixture) tally(t *testing.T, path string) badge.Tally {
	t.Helper()
	var got badge.Tally
	if err := json.Unmarshal([]byte(f.get(t, path).body), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestTagBadges: a tag's badges follow the checks carrying it, as
// healthchecks.io's test_badge.py: new is up, a check in its grace time is
// late only in three-state badges, a down one makes the badge red.
func TestTagBadges(t *testing.T) {
	f := newFixture(t)
	k := f.h.Keys()
	db := f.create(t, "db", "prod", "db")
	web := f.create(t, "web", "prod")
	f.create(t, "other", "staging")
	prod := k.BadgeURLs("prod")

	if got := f.tally(t, prod["json"]); got != (badge.Tally{Status: badge.Up, Total: 2}) {
		t.Errorf("new checks: %+v", got)
	}
	svg := f.get(t, prod["svg"])
	if ct := svg.hdr.Get("Content-Type"); ct != "image/svg+xml" || !strings.Contains(svg.body, "#4c1") || !strings.Contains(svg.body, ">prod</text>") {
		t.Errorf("up svg (%s):\n%s", ct, svg.body)
	}
	var sh badge.Shields
	if err := json.Unmarshal([]byte(f.get(t, prod["shields"]).body), &sh); err != nil || sh != badge.NewShields("prod", badge.Up) {
		t.Errorf("shields: %+v %v", sh, err)
	}

	// db is up, then past its due time but within its grace time.
	f.ping(t, db, model.PingSuccess)
	f.ping(t, web, model.PingSuccess)
	f.offset.Store(int64(90 * time.Minute))
	f.ping(t, web, model.PingSuccess) // web stays on time
	if got := f.tally(t, prod["json"]); got != (badge.Tally{Status: badge.Up, Total: 2, Grace: 1}) {
		t.Errorf("late, two states: %+v", got)
	}
	if got := f.tally(t, prod["json3"]); got != (badge.Tally{Status: badge.Late, Total: 2, Grace: 1}) {
		t.Errorf("late, three states: %+v", got)
	}
	if body := f.get(t, prod["svg"]).body; !strings.Contains(body, "#4c1") || strings.Contains(body, "late") {
		t.Errorf("two-state svg of a late check:\n%s", body)
	}
	if body := f.get(t, prod["svg3"]).body; !strings.Contains(body, "#fe7d37") || !strings.Contains(body, ">late</text>") {
		t.Errorf("three-state svg of a late check:\n%s", body)
	}
	// An open run does not hide the grace time (hc: test_late_mode_ignores_started_when_late).
	f.ping(t, db, model.PingStart)
	if got := f.tally(t, prod["json3"]); got.Status != badge.Late {
		t.Errorf("late and started: %+v", got)
	}

	// web fails: down wins over late, in both kinds.
	f.ping(t, web, model.PingFail)
	for _, p := range []string{prod["json"], prod["json3"]} {
		if got := f.tally(t, p); got != (badge.Tally{Status: badge.Down, Total: 2, Grace: 1, Down: 1}) {
			t.Errorf("%s, down: %+v", p, got)
		}
	}
	for _, p := range []string{prod["svg"], prod["svg3"]} {
		if body := f.get(t, p).body; !strings.Contains(body, "#e05d44") || !strings.Contains(body, ">down</text>") {
			t.Errorf("%s, down:\n%s", p, body)
		}
	}
	// Other tags do not see it; every check does, under the label.
	if got := f.tally(t, k.BadgeURLs("staging")["json"]); got.Status != badge.Up || got.Total != 1 {
		t.Errorf("staging: %+v", got)
	}
	if got := f.tally(t, k.BadgeURLs(badge.AllTags)["json3"]); got != (badge.Tally{Status: badge.Down, Total: 3, Grace: 1, Down: 1}) {
		t.Errorf("all: %+v", got)
	}
	if err := json.Unmarshal([]byte(f.get(t, k.BadgeURLs(badge.AllTags)["shields"]).body), &sh); err != nil || sh != badge.NewShields("acme", badge.Down) {
		t.Errorf("all, shields: %+v %v", sh, err)
	}
	// A tag no check carries is up (as in healthchecks.io).
	if got := f.tally(t, k.BadgeURLs("nothing")["json"]); got != (badge.Tally{Status: badge.Up}) {
		t.Errorf("unused tag: %+v", got)
	}
}

// TestSpecialCharacters: a tag with characters escaped in URLs works
// over real HTTP (hc: test_it_handles_special_characters).
func TestSpecialCharacters(t *testing.T) {
	f := newFixture(t)
	id := f.create(t, "db", "db@dc1", "a b/c", "zürich")
	f.ping(t, id, model.PingFail)
	for _, tag := range []string{"db@dc1", "a b/c", "zürich"} {
		p := f.h.Keys().BadgeURLs(tag)["svg3"]
		if body := f.get(t, p).body; !strings.Contains(body, "#e05d44") {
			t.Errorf("%q (%s):\n%s", tag, p, body)
		}
	}
}

// TestCheckBadges: a check's own badges (hc: test_check_badge.py), under
// its name.
func TestCheckBadges(t *testing.T) {
	f := newFixture(t)
	k := f.h.Keys()
	id := f.create(t, "foobar")
	js := func(n badge.States) string { return k.CheckPath(id, badge.FormatJSON, n) }
	if got := f.tally(t, js(2)); got != (badge.Tally{Status: badge.Up, Total: 1}) {
		t.Errorf("new: %+v", got)
	}
	var sh badge.Shields
	if err := json.Unmarshal([]byte(f.get(t, k.CheckPath(id, badge.FormatShields, 2)).body), &sh); err != nil || sh != badge.NewShields("foobar", badge.Up) {
		t.Errorf("shields: %+v %v", sh, err)
	}
	f.ping(t, id, model.PingSuccess)
	f.offset.Store(int64(90 * time.Minute))
	if got := f.tally(t, js(2)); got != (badge.Tally{Status: badge.Up, Total: 1, Grace: 1}) {
		t.Errorf("late, two states: %+v", got)
	}
	if got := f.tally(t, js(3)); got != (badge.Tally{Status: badge.Late, Total: 1, Grace: 1}) {
		t.Errorf("late, three states: %+v", got)
	}
	f.ping(t, id, model.PingFail)
	if body := f.get(t, k.CheckBadgeURL(id)).body; !strings.Contains(body, "#e05d44") || !strings.Contains(body, ">foobar</text>") {
		t.Errorf("down:\n%s", body)
	}
	// A check created after the first request is found; a deleted one is gone.
	later := f.create(t, "later")
	f.get(t, k.CheckBadgeURL(later))
	if err := f.e.Delete(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, http.MethodGet, k.CheckBadgeURL(id)); r.code != http.StatusNotFound {
		t.Errorf("deleted check: %d %s", r.code, r.body)
	}
}

// TestTampered: a wrong key, signature, state count or format is 404.
func TestTampered(t *testing.T) {
	f := newFixture(t)
	k := f.h.Keys()
	id := f.create(t, "db", "prod", "staging")
	prod := k.BadgeURLs("prod")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	pk, sig := k.ProjectKey(), k.Signature("prod")
	other := badge.NewKeys(bytes.Repeat([]byte{1}, 32))
	for _, p := range []string{
		"/badge/" + pk + "/" + flip(sig, 0) + "/prod.svg",
		"/badge/" + pk + "/" + flip(sig, 7) + "-2/prod.json",
		"/badge/" + pk + "/" + k.Signature("staging") + "/prod.svg", // another tag's signature
		"/badge/" + pk + "/" + sig + "/staging.svg",
		"/badge/" + pk + "/" + sig + ".svg", // the tag's signature for every check
		"/badge/" + flip(pk, 0) + "/" + sig + "/prod.svg",
		"/badge/" + id.Secret() + "/" + sig + "/prod.svg",
		"/badge/" + pk + "/12345678/prod.svg", // hc: test_it_rejects_bad_signature
		prod["json"] + "foo",                  // hc: test_it_rejects_bad_format
		strings.TrimSuffix(prod["svg"], ".svg") + ".png",
		other.BadgeURLs("prod")["svg"], // another installation's URL
		"/b/2/" + id.Secret() + ".svg", // the check's UUID is not its badge key
		"/b/2/869fe06a-a604-4140-b15a-118637c25f3e.svg",
		"/b/4/" + k.CheckKey(id) + ".svg",
		k.CheckBadgeURL(id) + "foo",
		other.CheckBadgeURL(id),
		"/badge/" + pk + "/" + sig + "/" + strings.Repeat("x", 600) + ".svg",
	} {
		r := f.do(t, http.MethodGet, p)
		if r.code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.code)
		}
		if strings.Contains(r.body, id.Secret()) {
			t.Errorf("GET %s: the answer names the UUID: %s", p, r.body)
		}
	}
}

// TestHTTP: CORS and caching headers as healthchecks.io's, HEAD, the
// preflight, and other methods refused.
func TestHTTP(t *testing.T) {
	f := newFixture(t)
	id := f.create(t, "db", "prod")
	for _, p := range []string{f.h.Keys().BadgeURLs("prod")["svg"], f.h.Keys().CheckBadgeURL(id)} {
		r := f.get(t, p)
		if r.hdr.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.hdr.Get("Cache-Control"), "no-cache") {
			t.Errorf("GET %s headers: %v", p, r.hdr)
		}
		if r := f.do(t, http.MethodHead, p); r.code != http.StatusOK || r.body != "" || r.hdr.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("HEAD %s: %d %q %v", p, r.code, r.body, r.hdr)
		}
		if r := f.do(t, http.MethodOptions, p); r.code != http.StatusNoContent || r.hdr.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("OPTIONS %s: %d %v", p, r.code, r.hdr)
		}
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			if r := f.do(t, m, p); r.code != http.StatusMethodNotAllowed || r.hdr.Get("Allow") != "GET, HEAD, OPTIONS" {
				t.Errorf("%s %s: %d %v", m, p, r.code, r.hdr)
			}
		}
	}
}

// countingEngine counts the passes over every check (List).
type countingEngine struct {
	*watchdog.Engine
	lists atomic.Int64
}

func (c *countingEngine) List() []model.CheckState {
	c.lists.Add(1)
	return c.Engine.List()
}

// TestForgedCheckKeysDoNotScan: per-check badges need no key, so forged
// keys must not each cost a pass over every check; a check created after
// them is still found at once.
func TestForgedCheckKeysDoNotScan(t *testing.T) {
	f := newFixture(t)
	for i := range 50 {
		f.create(t, fmt.Sprintf("c%d", i))
	}
	ce := &countingEngine{Engine: f.e}
	secret := make([]byte, 32)
	h := badge.New(badge.Options{Engine: ce, Secret: secret, Label: "acme"})
	keys := badge.NewKeys(secret)
	for range 200 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/b/2/"+uuid.NewString()+".svg", nil))
		if rec.Code != http.StatusNotFound {
			t.Fatalf("forged key: %d", rec.Code)
		}
	}
	if n := ce.lists.Load(); n > 1 {
		t.Errorf("200 forged keys made %d passes over the checks, want at most 1", n)
	}
	id := f.create(t, "new")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", keys.CheckPath(id, badge.FormatSVG, badge.TwoStates), nil))
	if rec.Code != http.StatusOK {
		t.Errorf("a check created after the forged keys: %d %s", rec.Code, rec.Body)
	}
}

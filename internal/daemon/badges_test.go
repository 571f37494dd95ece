package daemon

import (
	"encoding/hex"
	"encoding/json"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/badge"
)

// TestBadges: the daemon serves the badges without an API key, from the
// engine's state: a down check turns its tag's badge red, a late one
// shows late only in the three-state badges; the URLs are the same after
// a restart; none carries a check's UUID.
func TestBadges(t *testing.T) {
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	writeConfig(t, file, `  - {name: db, period: 1h, grace: 1h, tags: [prod, db]}
  - {name: web, period: 1h, grace: 1h, tags: [prod]}
  - {name: batch, period: 1h, grace: 1h, tags: [jobs]}
`)
	var offset atomic.Int64
	opts := Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }}
	h, err := startFile(t, file, opts)
	if err != nil {
		t.Fatal(err)
	}
	keys := h.d.badges.Keys()
	prod := keys.BadgeURLs("prod")
	tally := func(path string) badge.Tally {
		t.Helper()
		code, body := h.do("GET", path, "")
		var got badge.Tally
		if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		return got
	}
	svg := func(path string) string {
		t.Helper()
		code, body := h.do("GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		return body
	}
	if got := tally(prod["json"]); got != (badge.Tally{Status: badge.Up, Total: 2}) {
		t.Errorf("new: %+v", got)
	}

	db, web, batch := h.d.CheckID("db"), h.d.CheckID("web"), h.d.CheckID("batch")
	h.ping(db, "")
	h.ping(web, "")
	h.ping(batch, "")
	offset.Store(int64(90 * time.Minute)) // past db's and web's due time, within their grace
	h.ping(web, "")
	if got := tally(prod["json"]); got != (badge.Tally{Status: badge.Up, Total: 2, Grace: 1}) {
		t.Errorf("late, two states: %+v", got)
	}
	if got := tally(prod["json3"]); got != (badge.Tally{Status: badge.Late, Total: 2, Grace: 1}) {
		t.Errorf("late, three states: %+v", got)
	}
	if body := svg(prod["svg"]); !strings.Contains(body, "#4c1") {
		t.Errorf("late, two-state svg:\n%s", body)
	}
	if body := svg(prod["svg3"]); !strings.Contains(body, "#fe7d37") {
		t.Errorf("late, three-state svg:\n%s", body)
	}
	h.ping(web, "/fail")
	for _, p := range []string{prod["svg"], prod["svg3"], keys.CheckBadgeURL(web)} {
		if body := svg(p); !strings.Contains(body, "#e05d44") || !strings.Contains(body, ">down</text>") {
			t.Errorf("%s, web down:\n%s", p, body)
		}
	}
	if body := svg(keys.BadgeURLs("jobs")["svg3"]); !strings.Contains(body, "#fe7d37") {
		t.Errorf("jobs, late:\n%s", body)
	}
	if body := svg(keys.BadgeURLs(badge.AllTags)["svg"]); !strings.Contains(body, ">Vitals</text>") || !strings.Contains(body, "#e05d44") {
		t.Errorf("all checks:\n%s", body)
	}
	if code, _ := h.do("GET", "/badge/"+keys.ProjectKey()+"/12345678/prod.svg", ""); code != 404 {
		t.Errorf("bad signature: %d", code)
	}

	// No badge URL carries a check's UUID, in any spelling.
	urls := []string{}
	for _, tag := range []string{"prod", "db", "jobs", badge.AllTags} {
		urls = slices.AppendSeq(urls, maps.Values(keys.BadgeURLs(tag)))
	}
	ids := h.d.Engine().List()
	for _, cs := range ids {
		urls = append(urls, keys.CheckBadgeURL(cs.Check.ID))
	}
	for _, u := range urls {
		for _, cs := range ids {
			raw := cs.Check.ID.UUID()
			if strings.Contains(u, cs.Check.ID.Secret()) || strings.Contains(u, hex.EncodeToString(raw[:8])) {
				t.Errorf("badge URL %s reveals the UUID of %s", u, cs.Check.Name)
			}
		}
	}

	// A restart keeps every URL (derived from the installation secret).
	before := slices.AppendSeq([]string{keys.CheckBadgeURL(db)}, maps.Values(prod))
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h, err = startFile(t, file, opts)
	if err != nil {
		t.Fatal(err)
	}
	after := h.d.badges.Keys()
	if after.CheckBadgeURL(db) != before[0] || !maps.Equal(after.BadgeURLs("prod"), prod) {
		t.Fatal("badge URLs changed across a restart")
	}
	for _, p := range before {
		if code, body := h.do("GET", p, ""); code != 200 {
			t.Errorf("after restart, GET %s: %d %s", p, code, body)
		}
	}
}

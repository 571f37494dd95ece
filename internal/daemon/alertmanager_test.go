package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
)

// TestAlertmanagerWired: an alertmanager channel hears a check's down flip
// (through the outbox), re-sends it while the check stays down, re-sends
// it at once from a daemon restarted on the same store (the engine's
// states, not the channel's memory), and resolves it on recovery.
func TestAlertmanagerWired(t *testing.T) {
	var mu sync.Mutex
	type post struct {
		at     time.Time
		alerts []notify.AlertmanagerAlert
	}
	var posts []post
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		var alerts []notify.AlertmanagerAlert
		if r.URL.Path != "/api/v2/alerts" || json.NewDecoder(r.Body).Decode(&alerts) != nil {
			t.Errorf("%s %s: not a list of alerts", r.Method, r.URL.Path)
		}
		mu.Lock()
		posts = append(posts, post{at, alerts})
		mu.Unlock()
	}))
	defer am.Close()
	// count returns how many posts so far carry job's alert, firing or
	// resolved (endsAt not after the post).
	count := func(resolved bool) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, p := range posts {
			for _, a := range p.alerts {
				if a.Labels["check"] == "job" && a.Labels["status"] == "down" && !a.EndsAt.After(p.at) == resolved {
					n++
				}
			}
		}
		return n
	}
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`server: {listen: ["127.0.0.1:0"]}
store: {sqlite: {path: v.db}}
api_keys: [{name: ro, key: %s}]
notifiers:
  am: {alertmanager: {url: %q, resend: 1s}}
checks:
  - {name: job, period: 1h, actions: {down: [am], up: [am]}}
`, roKey, am.URL)), 0o600)
	h, err := startFile(t, file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ping := "/ping/" + h.d.CheckID("job").Secret()
	h.do("POST", ping, "")
	h.do("POST", ping+"/fail", "")
	waitFor(t, "the down alert and a resend", func() bool { return count(false) >= 2 })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	before := len(posts)
	mu.Unlock()
	h, err = startFile(t, file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restarted daemon re-sending the alert", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(posts) > before
	})
	if count(false) < 3 {
		t.Fatalf("the restarted daemon posted %d firing alerts of job in all", count(false))
	}
	h.do("POST", ping, "")
	waitFor(t, "the recovery", func() bool { return count(true) >= 1 })
}

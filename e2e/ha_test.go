//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
)

// haKey is the replicas' read-write API key (the pings list needs one).
const haKey = "e2e-read-write-key-0123456789abcdef"

// TestTwoReplicasOnPostgres is deploy/compose's setup without Docker (no
// registry here serves a postgres image): two real `vitals watchdog`
// processes with one config, on the real PostgreSQL of scripts/services.sh
// (a schema of their own). Both answer /startupz, /livez and /readyz (the
// probes deploy/kubernetes points the kubelet at), and a ping a replica
// answers 200 is in the other's API, read from the shared database, to
// whichever replica it is sent (one owns the check, docs/ha-ownership.md;
// the other writes the ping on the check's state reloaded from the store).
func TestTwoReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.Schema(t) // skips without the server (fails in CI)
	bin := buildVitals(t)
	config := fmt.Sprintf(`
store:
  postgres:
    dsn: ${VITALS_PG_DSN}
    lease_ttl: 2s
api_keys: [{name: e2e, key: %s, access: read-write}]
pings: {ping_key: e2e-ping-key-0123}
checks:
  - name: ha-heartbeat
    slug: ha-heartbeat
    period: 1h
    grace: 1m
`, haKey)
	// One after the other: the first creates the schema and reconciles
	// the config check; the second finds both done.
	var replicas []*watchdog
	for range 2 {
		w := startWatchdog(t, bin, config, "VITALS_PG_DSN="+dsn)
		for _, probe := range []string{"/startupz", "/livez", "/readyz"} {
			waitHTTP(t, w.base+probe, 30*time.Second)
		}
		replicas = append(replicas, w)
	}
	a, b := replicas[0], replicas[1]
	key := a.uniqueKeyRW(t, "ha-heartbeat")
	if kb := b.uniqueKeyRW(t, "ha-heartbeat"); kb != key {
		t.Fatalf("the replicas disagree on the config check: %s and %s", key, kb)
	}

	for i, to := range []*watchdog{a, b} {
		other := replicas[1-i]
		body := fmt.Sprintf("ping %d via replica %d", i, i)
		resp, err := http.Post(to.base+"/ping/e2e-ping-key-0123/ha-heartbeat", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			// Answered 200: committed in PostgreSQL, so the other
			// replica's API sees it at once.
			if !other.hasPing(t, key, body) {
				t.Errorf("the ping sent to replica %d was answered 200 but is not in replica %d's API", i, 1-i)
			}
		default:
			t.Fatalf("ping to replica %d: %s %s", i, resp.Status, answer)
		}
	}
}

// uniqueKeyRW is uniqueKey with the read-write key.
func (w *watchdog) uniqueKeyRW(t *testing.T, name string) string {
	t.Helper()
	var list struct{ Checks []checkJSON }
	w.getRW(t, "/checks/", &list)
	for _, c := range list.Checks {
		if c.Name == name {
			return c.UniqueKey
		}
	}
	t.Fatalf("no check %q: %+v", name, list.Checks)
	return ""
}

// hasPing reports whether the check's pings, through this replica's API,
// include one whose body is body.
func (w *watchdog) hasPing(t *testing.T, key, body string) bool {
	t.Helper()
	var page struct {
		Pings []struct {
			N       int64  `json:"n"`
			BodyURL string `json:"body_url"`
		}
	}
	w.getRW(t, "/checks/"+key+"/pings/", &page)
	for _, p := range page.Pings {
		if p.BodyURL == "" {
			continue
		}
		req, _ := http.NewRequest(http.MethodGet, p.BodyURL, nil)
		req.Header.Set("X-Api-Key", haKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) == body {
			return true
		}
	}
	return false
}

// getRW decodes the answer of GET /api/v3 path, with the read-write key.
func (w *watchdog) getRW(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.base+"/api/v3"+path, nil)
	req.Header.Set("X-Api-Key", haKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /api/v3%s: %s %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET /api/v3%s: %v", path, err)
	}
}

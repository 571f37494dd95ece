package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/testenv"
)

// ownPGPort is the port of the PostgreSQL server this package's tests stop
// and start (the shared one, 55432, is never stopped); below the ephemeral
// range, as internal/cluster's restartPGPort says why.
const ownPGPort = 25441

// TestPostgresDownAndBack: a daemon on PostgreSQL answers a ping 200 once
// it is committed. With the database stopped, a ping is answered 503 with
// Retry-After (never a false 200) and /readyz turns DOWN; when it is
// started again, pings are answered 200 and /readyz is UP, with no restart
// of the daemon, and the pings acknowledged on either side are stored. The
// DSN's password is in no log line and no answer.
func TestPostgresDownAndBack(t *testing.T) {
	srv := pgtest.Start(t, ownPGPort, nil)
	const pw = "pw-Zq81-never-shown"
	dsn := pgtest.SchemaOn(t, srv.DSN()) + "&password=" + pw + "&connect_timeout=2"
	t.Setenv("VITALS_TEST_PG_DSN", dsn)
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	cfg := fmt.Sprintf(`server:
  listen: ["127.0.0.1:0"]
  shutdown_timeout: 5s
store:
  postgres: {dsn: "${VITALS_TEST_PG_DSN}"}
api_keys:
  - {name: ro, key: %s}
pings:
  ping_key: pk
checks:
  - {name: job, slug: job, period: 1h}
`, roKey)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testenv.LogBuffer
	h := startLogged(t, file, slog.New(slog.NewJSONHandler(&logs, nil)))
	ping := func() (int, http.Header) {
		t.Helper()
		resp, err := http.Post(h.base+"/ping/pk/job", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	if code, _ := ping(); code != 200 {
		t.Fatalf("ping: %d", code)
	}
	waitFor(t, "/readyz UP", func() bool { code, _ := h.do("GET", "/readyz", ""); return code == 200 })

	srv.Stop()
	code, hd := ping()
	if code != http.StatusServiceUnavailable || hd.Get("Retry-After") == "" {
		t.Fatalf("ping with the database stopped: %d, Retry-After %q; want 503 with Retry-After", code, hd.Get("Retry-After"))
	}
	waitFor(t, "/readyz DOWN", func() bool { code, _ := h.do("GET", "/readyz", ""); return code == http.StatusServiceUnavailable })
	_, verbose := h.do("GET", "/readyz?verbose", roKey)
	// healthchecks.io's anonymous status endpoint says the same, from the
	// readiness check's cached result (never a query per request).
	if code, body := h.do("GET", "/api/v3/status/", ""); code != http.StatusServiceUnavailable || body != "store unavailable" {
		t.Errorf("/api/v3/status/ with the database stopped: %d %q", code, body)
	}

	srv.Start()
	waitFor(t, "pings answered 200 again", func() bool { code, _ := ping(); return code == 200 })
	waitFor(t, "/readyz UP again", func() bool { code, _ := h.do("GET", "/readyz", ""); return code == 200 })
	if code, body := h.do("GET", "/api/v3/status/", ""); code != 200 || body != "OK" {
		t.Errorf("/api/v3/status/ after the database came back: %d %q", code, body)
	}
	if code, _ := ping(); code != 200 {
		t.Fatalf("ping after the database came back: %d", code)
	}
	id := h.d.CheckID("job")
	pings, err := h.d.Store().Pings(t.Context(), id, store.PingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	st := h.state("job")
	if int64(len(pings)) != st.NPings || st.NPings < 3 || st.Status != model.StatusUp {
		t.Fatalf("%d pings stored, state %d pings, %s: every acknowledged ping is stored", len(pings), st.NPings, st.Status)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{logs.String(), verbose} {
		if strings.Contains(text, pw) {
			t.Fatalf("the DSN's password was shown: %s", text)
		}
	}
	if !strings.Contains(logs.String(), `"store":"postgres"`) {
		t.Errorf("the start line does not name the store: %s", logs.String())
	}
}

// TestReplicasSeeEachOthersPings: two daemons on one PostgreSQL schema. A
// ping sent to the replica that does not own the check reaches the
// owner's timer (the engine has the store's change feed, beneath the
// metrics wrapper: LISTEN/NOTIFY and compare-and-set), and the owner
// announces the missed deadline once. Without the feed the owner never
// learnt of the ping and the check stayed up forever.
func TestReplicasSeeEachOthersPings(t *testing.T) {
	dsn := pgtest.Schema(t)
	t.Setenv("VITALS_TEST_PG_DSN", dsn)
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	cfg := `server:
  listen: ["127.0.0.1:0"]
  shutdown_timeout: 5s
store:
  postgres: {dsn: "${VITALS_TEST_PG_DSN}", lease_ttl: 2s}
api_keys: []
pings:
  ping_key: pk
checks:
  - {name: job, slug: job, period: 1s, grace: 1s}
`
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	a, b := startLogged(t, file, quiet), startLogged(t, file, quiet)
	id := a.d.CheckID("job")
	var owner, other *harness
	waitFor(t, "one replica owning the check", func() bool {
		switch {
		case a.d.Engine().Owns(id) && !b.d.Engine().Owns(id):
			owner, other = a, b
		case b.d.Engine().Owns(id) && !a.d.Engine().Owns(id):
			owner, other = b, a
		}
		return owner != nil
	})
	if code, _ := other.do("POST", "/ping/pk/job", ""); code != 200 {
		t.Fatalf("ping to the replica that does not own the check: %d", code)
	}
	// Read from the shared store, not from one engine: the check may
	// still be handed over between the two replicas (rebalancing after
	// the second one joined), and whichever owns it must announce it.
	waitFor(t, "the missed deadline announced", func() bool {
		_, st, err := owner.d.Store().GetCheck(t.Context(), id)
		return err == nil && st.Status == model.StatusDown
	})
	flips, err := owner.d.Store().Flips(t.Context(), id, store.FlipQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var tos []model.Status // newest first
	for _, f := range flips {
		tos = append(tos, f.To)
	}
	if len(tos) != 2 || tos[0] != model.StatusDown || tos[1] != model.StatusUp {
		t.Fatalf("flips %v (newest first), want [down up]", tos)
	}
}

// TestOutboxClaimsUnderTheReplicaID: on PostgreSQL, a notification being
// delivered is claimed in the outbox under this replica's id, the one its
// leases and its row in replicas carry, so an operator reading
// outbox.claimed_by sees which replica holds it (and internal/cluster's
// chaos run can bound duplicates by the rows a killed replica held).
func TestOutboxClaimsUnderTheReplicaID(t *testing.T) {
	dsn := pgtest.Schema(t)
	t.Setenv("VITALS_TEST_PG_DSN", dsn)
	arrived, release := make(chan struct{}, 10), make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-release // held: the row stays claimed while the test reads it
	}))
	defer hook.Close()
	defer close(release)
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	cfg := fmt.Sprintf(`server:
  listen: ["127.0.0.1:0"]
  shutdown_timeout: 5s
store:
  postgres: {dsn: "${VITALS_TEST_PG_DSN}"}
api_keys: []
pings:
  ping_key: pk
notifiers:
  ops: {webhook: {url: %q}}
checks:
  - {name: job, slug: job, period: 1h, actions: {down: [ops]}}
`, hook.URL+"/hook")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startLogged(t, file, slog.New(slog.DiscardHandler))
	if h.d.replica == "" {
		t.Fatal("a daemon on PostgreSQL has no replica id")
	}
	waitFor(t, "the check owned", func() bool { return h.d.Engine().Owns(h.d.CheckID("job")) })
	for _, path := range []string{"/ping/pk/job", "/ping/pk/job/fail"} {
		if code, _ := h.do("POST", path, ""); code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
	}
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the webhook was not called")
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var claimers []string
	rows, err := conn.Query(t.Context(), `SELECT claimed_by FROM outbox WHERE state = 'pending'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		claimers = append(claimers, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(claimers) != 1 || claimers[0] != h.d.replica {
		t.Fatalf("pending rows claimed by %q while one is being delivered, want [%q]", claimers, h.d.replica)
	}
	var known bool
	if err := conn.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM replicas WHERE id = $1)`, h.d.replica).Scan(&known); err != nil || !known {
		t.Errorf("the replica id %q is not in replicas (%v)", h.d.replica, err)
	}
}

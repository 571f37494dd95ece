package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/testenv"
)

// TestLogsHoldNoSecrets runs a real daemon through what it logs about:
// start, pings of every kind by UUID and by slug, unknown checks, a check
// auto-provisioned by a slug ping, a failing pull probe and its flips,
// checks created, paused and deleted through the API, a good and a bad
// reload, and shutdown. Nothing it logged, at debug level, in text or
// JSON, may hold a check's UUID (the ping secret), the ping key or an API
// key.
func TestLogsHoldNoSecrets(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) { testLogsHoldNoSecrets(t, format) })
	}
}

func testLogsHoldNoSecrets(t *testing.T, format string) {
	const pingKey = "ping-key-0123456789-secret"
	dir := t.TempDir()
	file := filepath.Join(dir, "watchdog.yaml")
	closed := listenTCP(t) // accepts and closes: the TCP probe passes
	write := func(extra string) {
		cfg := `server:
  listen: ["127.0.0.1:0"]
  shutdown_timeout: 5s
store:
  sqlite: {path: vitals.db}
api_keys:
  - {name: rw, key: ` + rwKey + `, access: read-write}
  - {name: ro, key: ` + roKey + `}
pings:
  ping_key: ` + pingKey + `
  auto_create: true
checks:
  - {name: job, slug: job, period: 1h}
  - {name: plain, period: 1h}
  - {name: pinned, id: 0e2d1f6a-1c1b-4f3e-9d36-2f0f8b7c9a11, period: 1h}
  - {name: probe, tcp: {address: "` + closed + `"}, interval: 1s}
` + extra
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.LogBuffer
	var h slog.Handler = slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	if format == "json" {
		h = slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, cfg, Options{ConfigPath: file, Logger: slog.New(h)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	base := "http://" + d.Addrs()[0].String()
	req := func(method, path, key, body string) int {
		t.Helper()
		r, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			r.Header.Set("X-Api-Key", key)
		}
		if strings.HasPrefix(body, "{") {
			r.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	ids := map[string]model.CheckID{}
	for _, cs := range d.Engine().List() {
		ids[cs.Check.Name] = cs.Check.ID
	}
	job, plain := ids["job"].Secret(), ids["plain"].Secret()
	for _, p := range []string{"/ping/" + job + "/start?rid=" + plain, "/ping/" + job, "/ping/" + job + "/fail",
		"/ping/" + job + "/log", "/ping/" + job + "/3", "/ping/" + plain + "/start", "/ping/" + plain,
		"/ping/" + pingKey + "/job", "/ping/" + pingKey + "/job/fail", "/ping/" + pingKey + "/made-by-a-ping?create=1",
		"/ping/" + model.NewCheckID().Secret(), "/ping/" + pingKey + "/no-such-slug", "/ping/" + strings.ToUpper(job)} {
		req("POST", p, "", "body")
	}
	// The API: create, pause, resume, read, delete.
	if code := req("POST", "/api/v1/checks/", rwKey, `{"name":"via-api","timeout":3600}`); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	for _, cs := range d.Engine().List() {
		ids[cs.Check.Name] = cs.Check.ID
	}
	api := ids["via-api"].Secret()
	req("POST", "/api/v1/checks/"+api+"/pause", rwKey, "")
	req("POST", "/ping/"+api, "", "")
	req("GET", "/api/v1/checks/"+api, roKey, "")
	req("GET", "/api/v1/checks/"+api+"/pings/", rwKey, "")
	req("DELETE", "/api/v1/checks/"+api, rwKey, "")
	req("GET", "/api/v1/checks/"+api, rwKey, "")
	// The pull probe flips down when its target goes away.
	waitFor(t, "the probe to run", func() bool { cs, _ := d.Engine().Get(ids["probe"]); return cs.State.Status == model.StatusUp })
	// Reloads: one that adds a check, one that is invalid.
	write("  - {name: added, period: 1h}\n")
	if code := req("POST", "/-/reload", rwKey, ""); code != http.StatusOK {
		t.Fatalf("reload: %d", code)
	}
	write("  - {name: added, period: nonsense}\n")
	if code := req("POST", "/-/reload", rwKey, ""); code != http.StatusBadRequest {
		t.Fatalf("bad reload: %d", code)
	}
	for _, cs := range d.Engine().List() {
		ids[cs.Check.Name] = cs.Check.ID
	}
	stop()

	out := logs.String()
	if !strings.Contains(out, "config reloaded") || !strings.Contains(out, "stopped") {
		t.Fatalf("the log does not show the run:\n%s", out)
	}
	low := strings.ToLower(out)
	for name, id := range ids {
		if strings.Contains(low, id.Secret()) || strings.Contains(low, strings.ReplaceAll(id.Secret(), "-", "")) {
			t.Errorf("the log holds the UUID of check %q", name)
		}
	}
	for _, secret := range []string{pingKey, rwKey, roKey, plain} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds the secret %.6s…", secret)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", out)
	}
}

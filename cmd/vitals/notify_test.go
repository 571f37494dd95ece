package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// vitals notify test sends a marked test notification through the
// configured notifier (built with the daemon's registry, the url kind
// included) and prints the receiver's answer; it refuses notifiers that
// act, and fails with the receiver's error.
func TestNotifyTest(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[r.URL.Path] = string(b)
		mu.Unlock()
		if r.URL.Path == "/gone" {
			http.Error(w, "no_service", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "vitals.yaml")
	cfg := `notifiers:
  ops: {webhook: {url: "` + srv.URL + `/hook"}}
  chat:
    url: "generic+` + srv.URL + `/chat/${CHAT_TOKEN}?template=json"
    template: "{{.Check}}: {{.Text}}"
  gone: {slack: {url: "` + srv.URL + `/gone"}}
  restart-api: {docker: {container: api}}
`
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) {
		if k == "CHAT_TOKEN" {
			return "t0psecret", true
		}
		return "", false
	}
	for _, tc := range []struct {
		name, stdout, stderr string
		code                 int
	}{
		{"ops", "notifiers.ops (webhook): test notification sent in", "", 0},
		{"chat", "notifiers.chat (url): test notification sent in", "", 0},
		{"gone", "", "notifiers.gone (slack): test notification failed after", 1},
		{"restart-api", "", "notifiers.restart-api (docker): not sent: this notifier acts instead of telling people, and a test must not: it restarts the container api", 1},
		{"nope", "", `no notifier "nope" in ` + file + ` (notifiers: chat, gone, ops, restart-api)`, 1},
	} {
		code, stdout, stderr := runCLI(env, "notify", "test", "-config", file, tc.name)
		if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q", tc.name, code, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, "t0psecret") {
			t.Errorf("%s: the output shows the secret", tc.name)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(bodies["/hook"], `"event":"test"`) || !strings.Contains(bodies["/hook"], `"test":true`) {
		t.Errorf("webhook body %s", bodies["/hook"])
	}
	if b := bodies["/chat/t0psecret"]; !strings.Contains(b, `"message":"vitals test: This is a test notification from Vitals to the notifier \"chat\"`) || !strings.Contains(b, `"title":"[TEST] \"vitals test\": test notification"`) {
		t.Errorf("chat body %s", b)
	}
	if code, _, _ := runCLI(env, "notify", "test", file); code != exitUsage {
		t.Errorf("without -config: exit %d", code)
	}
}

// A url notifier's URL and template are checked at load: errors name the
// file, line and field, and never show the URL.
func TestValidateURLNotifier(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	cfg := "notifiers:\n  a: {url: \"nosuch://s3cret@host\"}\n  b:\n    url: \"ntfy://ntfy.sh/topic\"\n    template: \"{{.Nope}}\"\n  c: {url: [1]}\n"
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(noEnv, "validate", file)
	for _, want := range []string{
		file + `:2: notifiers.a.url: unknown service "nosuch" (known: bark, discord,`,
		file + `:5: notifiers.b.template: template: down event: message:1:2: executing "message" at <.Nope>: can't evaluate field Nope`,
		file + `:6: notifiers.c.url: expected a shoutrrr service URL as a string`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != exitFail || strings.Contains(stderr, "s3cret") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

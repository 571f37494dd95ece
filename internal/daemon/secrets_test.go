package daemon

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/testenv"
)

// TestEnvSecretsNotStored: a config whose probe URL, header and command
// environment take secrets from ${ENV} runs on a real daemon and SQLite
// file: the probes send the secrets (before and after a reload and a
// restart), but their bytes are nowhere in the database files (db, -wal,
// -shm) nor in any answer of the API to a read-only key.
func TestEnvSecretsNotStored(t *testing.T) {
	secrets := map[string]string{
		"VITALS_TEST_TOKEN": "tok-5ecret-9f3a1c",
		"VITALS_TEST_AUTH":  "auth-5ecret-27b4e8",
		"VITALS_TEST_PGPW":  "pgpw-5ecret-c81d06",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	var probed atomic.Int64 // probes that carried both secrets
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") == secrets["VITALS_TEST_TOKEN"] && r.Header.Get("Authorization") == "Bearer "+secrets["VITALS_TEST_AUTH"] {
			probed.Add(1)
			return
		}
		http.Error(w, "bad credentials", http.StatusForbidden)
	}))
	defer target.Close()
	checks := fmt.Sprintf(`  - name: api
    interval: 1s
    http:
      url: "%s/health?token=${VITALS_TEST_TOKEN}"
      headers: {Authorization: "Bearer ${VITALS_TEST_AUTH}"}
  - name: db
    interval: 1s
    command:
      run: [sh, -c, 'test "$PGPASSWORD" = "$VITALS_TEST_PGPW"']
      env: {PGPASSWORD: "${VITALS_TEST_PGPW}"}
`, target.URL)
	h := start(t, checks)
	dir := filepath.Dir(h.file)
	probedAfter := func(h *harness, what string) {
		t.Helper()
		n := probed.Load()
		waitFor(t, what, func() bool {
			return probed.Load() > n && h.state("api").Status == model.StatusUp && h.state("db").Status == model.StatusUp
		})
	}
	probedAfter(h, "probes with the secrets")
	if code, body := h.do("POST", "/-/reload", rwKey); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	probedAfter(h, "probes with the secrets after a reload")
	noSecretIn(t, "database files of the running daemon", dbFiles(t, dir), secrets)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	// After a restart the running definitions come from the config again
	// (the stored ones have ${NAME} in place of each value).
	h = startLogged(t, h.file, logged(&testenv.LogBuffer{}))
	probedAfter(h, "probes with the secrets after a restart")
	var answers []byte
	for _, path := range []string{"/api/v1/checks", "/api/v1/checks/" + model.UniqueKey(h.d.CheckID("api")), "/api/v1/checks/" + model.UniqueKey(h.d.CheckID("api")) + "/flips"} {
		code, body := h.do("GET", path, roKey)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		answers = append(answers, body...)
	}
	noSecretIn(t, "API answers to a read-only key", map[string][]byte{"api": answers}, secrets)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	noSecretIn(t, "database files after a restart", dbFiles(t, dir), secrets)
}

// dbFiles reads every file of the SQLite database in dir (the database,
// its -wal and -shm).
func dbFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "vitals.db*"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no database files in %s: %v", dir, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// noSecretIn fails the test if any file holds a secret, as it is or
// base64-encoded (how JSON encodes a []byte such as model.Check.Probe).
func noSecretIn(t *testing.T, what string, files map[string][]byte, secrets map[string]string) {
	t.Helper()
	for name, b := range files {
		for env, v := range secrets {
			for _, form := range encodings(v) {
				if bytes.Contains(b, []byte(form)) {
					t.Errorf("%s: %s holds the value of %s (as %q)", what, name, env, form)
				}
			}
		}
	}
}

// encodings returns s and the parts of its base64 encoding that do not
// depend on the bytes around it, at each of the three alignments.
func encodings(s string) []string {
	out := []string{s}
	for k := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), s...))
		start, end := 0, len(enc)
		if k > 0 {
			start = 4 // the first group mixes in the bytes before
		}
		if (k+len(s))%3 != 0 {
			end -= 4 // the last group mixes in the bytes after
		}
		out = append(out, enc[start:end])
	}
	return out
}

package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store/postgres/pgtest"
	"github.com/vitals-go/vitals/internal/testenv"
)

// post sends body to path with the read-write key and returns the answer.
func (h *harness) post(path, body string) (int, string) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.base+path, strings.NewReader(body))
	req.Header.Set("X-Api-Key", rwKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The silences.json an earlier version kept next to the SQLite file is
// imported into the store at start, renamed silences.json.imported, and
// said in the log; its silences are served by the API.
func TestSilencesFileImportedAtStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	writeConfig(t, file, "  - {name: a, period: 1h}\n")
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	old := []model.Silence{{ID: uuid.New(), Name: "kept from 0.x", Start: now.Add(-time.Minute), End: now.Add(time.Hour), Created: now}}
	b, _ := json.Marshal(old)
	path := filepath.Join(filepath.Dir(cfg.Store.SQLite.Path), "silences.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testenv.LogBuffer
	h := startLogged(t, file, slog.New(slog.NewJSONHandler(&logs, nil)))
	if code, body := h.do("GET", "/api/v1/silences", roKey); code != 200 || !strings.Contains(body, old[0].ID.String()) {
		t.Fatalf("silences: %d %s", code, body)
	}
	if _, err := os.Stat(path + ".imported"); err != nil {
		t.Errorf("the file was not renamed: %v", err)
	}
	if !strings.Contains(logs.String(), "silences: imported") {
		t.Errorf("no log line: %s", logs.String())
	}
}

// Two replicas on one PostgreSQL database share the silences: one made on
// either is listed and deleted on the other.
func TestSilencesSharedByReplicas(t *testing.T) {
	t.Setenv("VITALS_TEST_PG_DSN", pgtest.Schema(t))
	var hs []*harness
	for i := range 2 {
		dir := t.TempDir()
		file := filepath.Join(dir, "watchdog.yaml")
		cfg := fmt.Sprintf(`server:
  listen: ["127.0.0.1:0"]
  shutdown_timeout: 5s
store:
  postgres: {dsn: "${VITALS_TEST_PG_DSN}"}
api_keys:
  - {name: rw, key: %s, access: read-write}
  - {name: ro, key: %s}
pings:
  ping_key: pk
checks:
  - {name: job, slug: job, period: 1h}
`, rwKey, roKey)
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		h, err := startFile(t, file, Options{})
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		hs = append(hs, h)
	}
	code, body := hs[0].post("/api/v1/silences", `{"name":"db upgrade","duration":3600}`)
	if code != http.StatusCreated {
		t.Fatalf("create on replica 0: %d %s", code, body)
	}
	var created struct{ ID string }
	json.Unmarshal([]byte(body), &created)
	if code, body := hs[1].do("GET", "/api/v1/silences", roKey); code != 200 || !strings.Contains(body, created.ID) {
		t.Fatalf("list on replica 1: %d %s", code, body)
	}
	if code, body := hs[1].do("DELETE", "/api/v1/silences/"+created.ID, rwKey); code != http.StatusNoContent {
		t.Fatalf("delete on replica 1: %d %s", code, body)
	}
	if code, body := hs[0].do("GET", "/api/v1/silences", roKey); code != 200 || body != `{"silences":[]}`+"\n" {
		t.Fatalf("list on replica 0 after the delete: %d %s", code, body)
	}
}

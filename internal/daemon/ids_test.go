package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/testenv"
)

// logged returns a logger writing into logs.
func logged(logs *testenv.LogBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(logs, nil)) }

// TestCheckIDsAreSecret: the ping URL of a config check without an id is
// not computable from its name: two installations (two stores) give the
// same name different ids, neither the legacy UUIDv5 of the name, which
// is answered 404.
func TestCheckIDsAreSecret(t *testing.T) {
	const checks = "  - {name: backup, period: 1h}\n"
	h1, h2 := start(t, checks), start(t, checks)
	id1, id2 := h1.d.CheckID("backup"), h2.d.CheckID("backup")
	legacy := config.LegacyCheckID("backup")
	if id1.IsZero() || id1 == id2 || id1 == legacy || id2 == legacy {
		t.Fatalf("ids %s and %s (legacy %s): want two different ids, neither the legacy one", id1, id2, legacy)
	}
	for _, h := range []*harness{h1, h2} {
		if code, _ := h.do("POST", "/ping/"+legacy.Secret()+"/fail", ""); code != 404 {
			t.Errorf("a ping to the id derived from the name alone: %d, want 404", code)
		}
	}
	if code, body := h1.do("POST", "/ping/"+id1.Secret(), ""); code != 200 || body != "OK" {
		t.Errorf("ping: %d %s", code, body)
	}
	if code, _ := h1.do("POST", "/ping/"+id2.Secret(), ""); code != 404 {
		t.Errorf("the other installation's id: %d, want 404", code)
	}
}

// TestCheckIDsAreStable: the derived id stays the same across a reload
// and a restart on the same store, and the check keeps its history.
func TestCheckIDsAreStable(t *testing.T) {
	h := start(t, "  - {name: backup, period: 1h}\n")
	id := h.d.CheckID("backup")
	if code, _ := h.do("POST", "/ping/"+id.Secret(), ""); code != 200 {
		t.Fatalf("ping: %d", code)
	}
	writeConfig(t, h.file, "  - {name: backup, period: 2h}\n  - {name: other, period: 1h}\n")
	if code, body := h.do("POST", "/-/reload", rwKey); code != 200 || !strings.Contains(body, `"updated":1`) {
		t.Fatalf("reload: %d %s", code, body)
	}
	if got := h.d.CheckID("backup"); got != id {
		t.Fatalf("after a reload: %s, want %s", got, id)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	h2 := startLogged(t, h.file, logged(&testenv.LogBuffer{}))
	if got := h2.d.CheckID("backup"); got != id {
		t.Fatalf("after a restart: %s, want %s", got, id)
	}
	if cs, ok := h2.d.Engine().Get(id); !ok || cs.State.NPings != 1 {
		t.Errorf("history after a restart: %+v", cs.State)
	}
}

// TestLegacyCheckIDsKept: an installation made before the installation
// secret has its config checks under the legacy id of their name; they
// keep it (their clients' ping URLs go on working, with their history),
// the daemon warns at start, naming each by name but never by UUID, and
// pings.keep_legacy_ids: false moves them to a secret id.
func TestLegacyCheckIDsKept(t *testing.T) {
	dir := t.TempDir()
	legacy := config.LegacyCheckID("old")
	// The store of an older version: a config check under the legacy id,
	// with one ping.
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(dir, "vitals.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	old := model.Check{ID: legacy, Name: "old", Kind: model.KindPush, Source: model.SourceConfig,
		Schedule: model.Schedule{Period: time.Hour, Grace: time.Hour, TZ: "UTC"}, Created: now, Updated: now}
	state := model.NewState(legacy, now)
	if err := st.CreateCheck(ctx, old, state); err != nil {
		t.Fatal(err)
	}
	state.NPings, state.LastPing = 1, now
	ping := model.Ping{CheckID: legacy, N: 1, Kind: model.PingSuccess, ExitStatus: -1, Time: now}
	if err := st.Apply(ctx, store.Update{CheckID: legacy, State: state, Ping: &ping}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(dir, "watchdog.yaml")
	writeConfig(t, file, "  - {name: old, period: 1h}\n  - {name: new, period: 1h}\n")
	logs := &testenv.LogBuffer{}
	h := startLogged(t, file, logged(logs))
	if got := h.d.CheckID("old"); got != legacy {
		t.Fatalf("old: %s, want its legacy id %s", got, legacy)
	}
	if got := h.d.CheckID("new"); got == config.LegacyCheckID("new") || got.IsZero() {
		t.Errorf("new: %s: a check new to the store gets a secret id", got)
	}
	if ps, err := h.d.Store().Pings(ctx, legacy, store.PingQuery{}); err != nil || len(ps) != 1 {
		t.Errorf("history of old: %v %v", ps, err)
	}
	if code, body := h.do("POST", "/ping/"+legacy.Secret(), ""); code != 200 || body != "OK" {
		t.Errorf("the old ping URL: %d %s", code, body)
	}
	var warning string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "derived from its name") {
			warning = l
		}
	}
	if !strings.Contains(warning, "check=old") || !strings.Contains(warning, "keep_legacy_ids") || strings.Contains(warning, "check=new") {
		t.Errorf("no warning naming old and how to rotate: %q", warning)
	}
	if strings.Contains(warning, legacy.Secret()) {
		t.Errorf("the warning names the check by its UUID: %s", warning)
	}
	// A reload keeps it too.
	if code, body := h.do("POST", "/-/reload", rwKey); code != 200 || h.d.CheckID("old") != legacy {
		t.Fatalf("reload: %d %s, id %s", code, body, h.d.CheckID("old"))
	}

	// Rotation: the check moves to a secret id; the old URL is gone.
	cfg, _ := os.ReadFile(file)
	os.WriteFile(file, []byte(strings.Replace(string(cfg), "pings:\n", "pings:\n  keep_legacy_ids: false\n", 1)), 0o600)
	if code, body := h.do("POST", "/-/reload", rwKey); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if got := h.d.CheckID("old"); got == legacy || got.IsZero() {
		t.Errorf("after keep_legacy_ids: false: %s", got)
	}
	if code, _ := h.do("POST", "/ping/"+legacy.Secret(), ""); code != 404 {
		t.Errorf("the legacy URL after rotation: %d, want 404", code)
	}
}

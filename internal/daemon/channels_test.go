package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/testenv"
)

// waitSentTo waits until the receiver has been sent want (in any
// order), as "channel check state".
func (h *hookLog) waitSentTo(t *testing.T, want ...string) {
	t.Helper()
	slices.Sort(want)
	waitFor(t, fmt.Sprintf("notifications %q", want), func() bool { return slices.Equal(h.sentTo(), want) })
}

// startJSON starts a daemon on file that logs JSON into the buffer it
// returns.
func startJSON(t *testing.T, file string) (*harness, *testenv.LogBuffer) {
	t.Helper()
	logs := new(testenv.LogBuffer)
	return startLogged(t, file, slog.New(slog.NewJSONHandler(logs, nil))), logs
}

// logRecords returns the records of logs whose message is msg.
func logRecords(t *testing.T, logs *testenv.LogBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range logs.Records(t) {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// createCheck creates a push check named name with routes r through the
// engine, as the API does.
func (h *harness) createCheck(name string, r model.Routes) model.Check {
	h.t.Helper()
	c, err := h.d.Engine().Create(context.Background(), model.Check{Name: name, Kind: model.KindPush, Source: model.SourceAPI,
		Schedule: model.Schedule{Period: time.Hour, Grace: time.Hour}, Routes: r})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// channelsConfig is a daemon config with the webhook notifiers ops and
// chat posting to rc, and restart-db, an action (exec) that "*" leaves
// out. pings adds to the pings section; notifiers and checks replace
// theirs when not empty.
func channelsConfig(t *testing.T, file string, rc *hookLog, pings, notifiers, checks string) {
	t.Helper()
	if notifiers == "" {
		notifiers = fmt.Sprintf(`  ops: {webhook: {url: "%[1]s/ops"}}
  chat: {webhook: {url: "%[1]s/chat"}}
  restart-db: {exec: {command: ["true"]}}
`, rc.srv.URL)
	}
	if checks == "" {
		checks = "  - {name: job, period: 1h, actions: {down: [ops], up: [ops, chat]}}\n"
	}
	cfg := fmt.Sprintf(`server: {listen: ["127.0.0.1:0"]}
store: {sqlite: {path: v.db}}
api_keys: [{name: rw, key: %s, access: read-write}]
pings: {ping_key: pk%s}
notifiers:
%schecks:
%s`, rwKey, pings, notifiers, checks)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pingKind pings check id through the ping API: kind is "" (success),
// "/fail", "/start" or "/<exit status>".
func (h *harness) pingKind(id model.CheckID, kind string) {
	h.t.Helper()
	if code, _ := h.do("POST", "/ping/"+id.Secret()+kind, ""); code != 200 {
		h.t.Fatalf("ping %s: %d", kind, code)
	}
}

// A check made through the engine, as the API makes one with channels
// "*", carries every channel but the actions; it goes down and its
// webhooks fire. A change of its channels applies from its next flip.
func TestStarChannelsCheckAlerts(t *testing.T) {
	rc := newHookLog(t)
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	channelsConfig(t, file, rc, "", "", "")
	h := startLogged(t, file, slog.New(slog.DiscardHandler))
	ctx := context.Background()

	names, err := model.ParseChannelSpec("*", h.d.channels())
	if err != nil || strings.Join(names, ",") != "chat,ops" {
		t.Fatalf(`"*" = %v, %v; want every channel but the action restart-db`, names, err)
	}
	c := h.createCheck("api-job", model.RouteAll(names))
	h.pingKind(c.ID, "")
	h.pingKind(c.ID, "/fail")
	rc.waitSentTo(t, "chat api-job down", "ops api-job down")

	// The API changes its channels: the next flip goes to the new ones.
	c.Routes = model.Routes{Up: []string{"chat"}}
	if _, err := h.d.Engine().Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	h.pingKind(c.ID, "")
	rc.waitSentTo(t, "chat api-job down", "ops api-job down", "chat api-job up")
	// The stored definition keeps them: they survive a restart.
	if got, _, err := h.d.Store().GetCheck(ctx, c.ID); err != nil || !slices.Equal(got.Routes.Up, []string{"chat"}) || len(got.Routes.Down) != 0 {
		t.Errorf("stored routes %+v, %v", got.Routes, err)
	}
}

// A check a ?create=1 ping makes gets pings.channels; one made under the
// default ("*") gets every channel but the actions.
func TestAutoCreatedCheckGetsPingsChannels(t *testing.T) {
	for _, tc := range []struct {
		pings string
		want  []string
	}{
		{", auto_create: true, channels: [ops, restart-db]", []string{"ops", "restart-db"}},
		{", auto_create: true", []string{"chat", "ops"}},
		{`, auto_create: true, channels: ""`, nil},
	} {
		t.Run(tc.pings, func(t *testing.T) {
			rc := newHookLog(t)
			file := filepath.Join(t.TempDir(), "watchdog.yaml")
			channelsConfig(t, file, rc, tc.pings, "", "")
			h := startLogged(t, file, slog.New(slog.DiscardHandler))
			if code, body := h.do("POST", "/ping/pk/nightly?create=1", ""); code != 201 {
				t.Fatalf("auto-create: %d %s", code, body)
			}
			var c model.Check
			for _, cs := range h.d.Engine().List() {
				if cs.Check.Name == "nightly" {
					c = cs.Check
				}
			}
			if c.Source != model.SourceAuto || !slices.Equal(c.Routes.Down, tc.want) || !slices.Equal(c.Routes.Up, tc.want) || !slices.Equal(c.Routes.Flapping, tc.want) {
				t.Fatalf("auto-created %+v, want routes %v", c, tc.want)
			}
			if len(tc.want) == 0 {
				return
			}
			h.pingKind(c.ID, "/fail")
			var want []string
			for _, n := range tc.want {
				if n != "restart-db" {
					want = append(want, n+" nightly down")
				}
			}
			rc.waitSentTo(t, want...)
		})
	}
}

// A config check's actions are its routes, in the engine and in the
// store; a change of them while the watchdog is stopped applies to the
// flip it makes at start (a deadline passed while stopped).
func TestConfigCheckKeepsItsActions(t *testing.T) {
	rc := newHookLog(t)
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	channelsConfig(t, file, rc, "", "", "  - {name: beat, period: 1s, grace: 1s, actions: {down: [chat]}}\n")
	h := startLogged(t, file, slog.New(slog.DiscardHandler))
	id := h.d.CheckID("beat")
	if cs, _ := h.d.Engine().Get(id); !slices.Equal(cs.Check.Routes.Down, []string{"chat"}) {
		t.Fatalf("engine routes %+v", cs.Check.Routes)
	}
	h.pingKind(id, "")
	deadline := h.state("beat").Deadline
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	channelsConfig(t, file, rc, "", "", "  - {name: beat, period: 1s, grace: 1s, actions: {down: [ops]}}\n")
	for time.Now().Before(deadline.Add(100 * time.Millisecond)) { // the deadline passes while stopped
		time.Sleep(50 * time.Millisecond)
	}
	h = startLogged(t, file, slog.New(slog.DiscardHandler))
	rc.waitSentTo(t, "ops beat down")
	if got, _, err := h.d.Store().GetCheck(context.Background(), id); err != nil || !slices.Equal(got.Routes.Down, []string{"ops"}) {
		t.Errorf("stored routes %+v, %v", got.Routes, err)
	}
}

// A reload that renames a notifier warns about each check made outside
// the file that names the old name, and counts the checks without
// channels; such a check's next alert is not lost silently: its row fails
// and says why.
func TestReloadRenamingNotifierWarns(t *testing.T) {
	rc := newHookLog(t)
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	channelsConfig(t, file, rc, "", "", "")
	h, logs := startJSON(t, file)
	ctx := context.Background()
	api := h.createCheck("api-job", model.RouteAll([]string{"ops"}))
	h.createCheck("quiet-1", model.Routes{})
	h.createCheck("quiet-2", model.Routes{})

	channelsConfig(t, file, rc, "", fmt.Sprintf("  operations: {webhook: {url: %q}}\n", rc.srv.URL+"/operations"),
		"  - {name: job, period: 1h, actions: {down: [operations]}}\n")
	if code, body := h.reload(); code != 200 {
		t.Fatalf("reload: %d %v", code, body)
	}
	unknown := logRecords(t, logs, "check names channels that are not configured: its alerts to them will fail")
	none := logRecords(t, logs, "checks with no channels: they never alert")
	if len(unknown) != 1 || unknown[0]["check"] != "api-job" || fmt.Sprint(unknown[0]["channels"]) != "[ops]" ||
		unknown[0]["unique_key"] != model.UniqueKey(api.ID) || strings.Contains(logs.String(), api.ID.Secret()) {
		t.Errorf("warnings about unknown channels: %v", unknown)
	}
	// At the reload only: at start, every check had channels.
	if len(none) != 1 || none[0]["checks"] != 2.0 || none[0]["of_the_config"] != 0.0 {
		t.Errorf("summaries of checks without channels: %v", none)
	}

	h.pingKind(api.ID, "")
	h.pingKind(api.ID, "/fail")
	var rows []model.Notification
	waitFor(t, "the row for ops failed", func() bool {
		rows, _ = h.d.Store().Notifications(ctx, store.NotificationQuery{CheckID: api.ID, State: model.NotificationFailed})
		return len(rows) == 1
	})
	if r := rows[0]; r.Channel != "ops" || !strings.Contains(r.LastError, outbox.ErrUnknownChannel.Error()+` "ops"`) {
		t.Errorf("row %+v", r)
	}
	_, flips := h.do("GET", "/api/v1/checks/"+model.UniqueKey(api.ID)+"/flips", rwKey)
	if !strings.Contains(flips, `"channel":"ops"`) || !strings.Contains(flips, `"state":"failed"`) || !strings.Contains(flips, "renamed or removed") {
		t.Errorf("the flip's actions do not show the failed alert: %s", flips)
	}
}

// The warnings about unknown channels are bounded: maxRouteWarnings
// checks named, the rest counted.
func TestRouteWarningsBounded(t *testing.T) {
	rc := newHookLog(t)
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	channelsConfig(t, file, rc, "", "", "")
	h, logs := startJSON(t, file)
	for i := range maxRouteWarnings + 5 {
		h.createCheck(fmt.Sprint("job-", i), model.RouteAll([]string{"gone"}))
	}
	if code, body := h.reload(); code != 200 {
		t.Fatalf("reload: %d %v", code, body)
	}
	named := logRecords(t, logs, "check names channels that are not configured: its alerts to them will fail")
	more := logRecords(t, logs, "more checks name channels that are not configured")
	if len(named) != maxRouteWarnings || len(more) != 1 || more[0]["checks"] != 5.0 {
		t.Errorf("%d checks named, then %v; want %d, then 5 more", len(named), more, maxRouteWarnings)
	}
}

// The end-to-end case, through the daemon's real HTTP API as a
// healthchecks.io client sends it: a check created with channels "*" goes
// down and its webhooks fire (not the action); channels changed through
// the API apply from its next flip.
func TestAPIStarChannelsCheckAlerts(t *testing.T) {
	rc := newHookLog(t)
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	channelsConfig(t, file, rc, "", "", "")
	h := startLogged(t, file, slog.New(slog.DiscardHandler))

	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest("POST", h.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Api-Key", rwKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("POST %s: %d, %v", path, resp.StatusCode, err)
		}
		return resp.StatusCode, out
	}
	code, c := post("/api/v3/checks/", `{"name":"api-job","timeout":3600,"grace":3600,"channels":"*"}`)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, c)
	}
	var want []string
	for _, ch := range h.d.channels() {
		if ch.Name != "restart-db" {
			want = append(want, ch.ID.String())
		}
	}
	slices.Sort(want)
	if c["channels"] != strings.Join(want, ",") {
		t.Errorf("channels %q, want %q (every channel but the action)", c["channels"], strings.Join(want, ","))
	}
	if w, _ := c["warnings"].([]any); len(w) != 0 {
		t.Errorf("warnings %v on a check with channels", w)
	}
	id, err := model.ParseCheckID(c["uuid"].(string))
	if err != nil {
		t.Fatal(err)
	}
	h.pingKind(id, "")
	h.pingKind(id, "/fail")
	rc.waitSentTo(t, "chat api-job down", "ops api-job down")

	if code, c := post("/api/v3/checks/"+id.Secret(), `{"channels":"chat"}`); code != http.StatusOK {
		t.Fatalf("update: %d %v", code, c)
	}
	h.pingKind(id, "")
	rc.waitSentTo(t, "chat api-job down", "ops api-job down", "chat api-job up")

	// A check created without channels says it never alerts.
	if _, c := post("/api/v3/checks/", `{"name":"silent","timeout":3600}`); !slices.Contains(c["warnings"].([]any), any("no channels: this check never alerts")) {
		t.Errorf("no warning on a check without channels: %v", c["warnings"])
	}
}

package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// hookLog is a webhook receiver on loopback that keeps "check state" of
// every notification it is sent, and "channel check state" where the
// channel is the URL's path without its slash (notifiers that post to
// /<their name> tell themselves apart).
type hookLog struct {
	mu  sync.Mutex
	got []string // check state
	to  []string // channel check state
	srv *httptest.Server
}

func newHookLog(t *testing.T) *hookLog {
	h := &hookLog{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct{ Check, State string }
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("webhook body %s: %v", b, err)
		}
		h.mu.Lock()
		h.got = append(h.got, n.Check+" "+n.State)
		h.to = append(h.to, strings.TrimPrefix(r.URL.Path, "/")+" "+n.Check+" "+n.State)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookLog) sent() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// sentTo returns "channel check state" of every notification, sorted.
func (h *hookLog) sentTo() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(slices.Values(h.to))
}

// policyDaemon runs daemons over one config file and store, one after the
// other (a restart is stop, then run again).
type policyDaemon struct {
	t    *testing.T
	file string
	d    *Daemon
	stop func()
}

func newPolicyDaemon(t *testing.T, hook *hookLog, checks string) *policyDaemon {
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	cfg := fmt.Sprintf(`server: {listen: ["127.0.0.1:0"]}
store: {sqlite: {path: v.db}}
api_keys: [{name: rw, key: %s, access: read-write}]
notifiers:
  ops: {webhook: {url: %q}}
checks:
%s`, rwKey, hook.srv.URL, checks)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &policyDaemon{t: t, file: file}
	p.run()
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *policyDaemon) run() {
	p.t.Helper()
	cfg, err := config.Load(p.file)
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, cfg, Options{ConfigPath: p.file, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cancel()
		p.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	p.d, p.stop = d, func() { once.Do(func() { cancel(); <-done }) }
}

func (p *policyDaemon) restart() {
	p.stop()
	p.run()
}

// id returns the id of the check named name.
func (p *policyDaemon) id(name string) model.CheckID {
	p.t.Helper()
	for _, cs := range p.d.Engine().List() {
		if cs.Check.Name == name {
			return cs.Check.ID
		}
	}
	p.t.Fatalf("no check %q", name)
	return model.CheckID{}
}

// request sends a request to the daemon and returns the status and body.
func (p *policyDaemon) request(method, path, body string) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(method, "http://"+p.d.Addrs()[0].String()+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", rwKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *policyDaemon) ping(name, kind string) {
	p.t.Helper()
	if code, body := p.request("POST", "/ping/"+p.id(name).Secret()+kind, ""); code != http.StatusOK {
		p.t.Fatalf("ping %s%s: %d %s", name, kind, code, body)
	}
}

// silence creates a silence of the check for an hour and returns its id.
func (p *policyDaemon) silence(name string) string {
	p.t.Helper()
	code, body := p.request("POST", "/api/v1/silences", fmt.Sprintf(`{"name":"upgrade","checks":[%q],"duration":3600}`, p.id(name)))
	var s struct{ ID string }
	if err := json.Unmarshal([]byte(body), &s); code != http.StatusCreated || err != nil {
		p.t.Fatalf("create silence: %d %s", code, body)
	}
	return s.ID
}

func (p *policyDaemon) rows(q store.NotificationQuery) []model.Notification {
	p.t.Helper()
	q.Limit = 1000
	rows, err := p.d.Store().Notifications(context.Background(), q)
	if err != nil {
		p.t.Fatal(err)
	}
	return rows
}

// settled waits until no outbox row is pending (every delivery made and
// recorded: the receiver has seen a row before it is marked delivered).
func (p *policyDaemon) settled() {
	p.t.Helper()
	waitFor(p.t, "the outbox to settle", func() bool { return len(p.rows(store.NotificationQuery{State: model.NotificationPending})) == 0 })
}

// TestPolicyMemorySurvivesRestart: what the alert policy decided is kept
// in the store with the flips. A child whose down its parent absorbed, and
// a check whose down a silence holds, are restarted through; their
// recoveries are not announced (their downs never were), and the held down
// is dropped when the silence ends.
func TestPolicyMemorySurvivesRestart(t *testing.T) {
	hook := newHookLog(t)
	p := newPolicyDaemon(t, hook, `  - {name: net, period: 1h, actions: {down: [ops], up: [ops]}}
  - {name: app, period: 1h, parents: [net], actions: {down: [ops], up: [ops]}}
  - {name: job, period: 1h, actions: {down: [ops], up: [ops]}}
`)
	for _, name := range []string{"net", "app", "job"} {
		p.ping(name, "")
	}
	silence := p.silence("job")
	for _, name := range []string{"net", "app", "job"} {
		p.ping(name, "/fail")
	}
	waitFor(t, "the parent's down alert", func() bool { return len(hook.sent()) == 1 })

	p.restart()
	for _, name := range []string{"net", "app", "job"} {
		p.ping(name, "")
	}
	// The flips are committed with their rows: none for the child, and
	// only the held down for the silenced check.
	if rows := p.rows(store.NotificationQuery{CheckID: p.id("app")}); len(rows) != 0 {
		t.Errorf("the absorbed child's recovery was planned: %d rows", len(rows))
	}
	if rows := p.rows(store.NotificationQuery{CheckID: p.id("job")}); len(rows) != 1 {
		t.Errorf("the silenced check's outbox has %d rows, want its held down only", len(rows))
	}
	if code, body := p.request("DELETE", "/api/v1/silences/"+silence, ""); code != http.StatusNoContent {
		t.Fatalf("delete silence: %d %s", code, body)
	}
	p.settled()
	if got, want := hook.sent(), []string{"net down", "net up"}; !slices.Equal(got, want) {
		t.Fatalf("announced %q, want %q", got, want)
	}
}

// TestDeletingSilenceReleasesHeldAlerts: a down alert held by a silence is
// sent as soon as the silence is deleted through the API, once, without
// waiting for the hour the silence was made for.
func TestDeletingSilenceReleasesHeldAlerts(t *testing.T) {
	hook := newHookLog(t)
	p := newPolicyDaemon(t, hook, "  - {name: job, period: 1h, actions: {down: [ops], up: [ops]}}\n")
	p.ping("job", "")
	silence := p.silence("job")
	p.ping("job", "/fail")
	if rows := p.rows(store.NotificationQuery{State: model.NotificationPending}); len(rows) != 1 {
		t.Fatalf("%d pending rows, want the held down", len(rows))
	}
	if code, body := p.request("DELETE", "/api/v1/silences/"+silence, ""); code != http.StatusNoContent {
		t.Fatalf("delete silence: %d %s", code, body)
	}
	waitFor(t, "the held alert", func() bool { return len(hook.sent()) > 0 })
	p.settled()
	if got, want := hook.sent(), []string{"job down"}; !slices.Equal(got, want) {
		t.Fatalf("announced %q, want %q", got, want)
	}
}

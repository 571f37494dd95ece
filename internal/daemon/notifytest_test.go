package daemon

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vitals-go/vitals/internal/actions/notify"
)

// bodyLog is a receiver that keeps every body it is sent, by path.
type bodyLog struct {
	mu  sync.Mutex
	got map[string][]string
	srv *httptest.Server
}

func newBodyLog(t *testing.T) *bodyLog {
	b := &bodyLog{got: map[string][]string{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.got[r.URL.Path] = append(b.got[r.URL.Path], string(body))
		b.mu.Unlock()
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *bodyLog) bodies(path string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.got[path]...)
}

// A recovery's message says how long the check was down and links to its
// page; POST /channels/{id}/test sends a marked test notification through
// the running channel and answers what the receiver said, and refuses a
// channel that acts.
func TestRecoveryMessageAndChannelTest(t *testing.T) {
	rc := newBodyLog(t)
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	channelsConfig(t, file, &hookLog{srv: rc.srv}, "", `  ops: {webhook: {url: "`+rc.srv.URL+`/ops"}}
  chat: {slack: {url: "`+rc.srv.URL+`/slack"}}
  restart-db: {exec: {command: ["true"]}}
`, "  - {name: job, period: 1h, actions: {down: [ops, chat], up: [ops, chat]}}\n")
	h := startLogged(t, file, nil)
	id := h.d.CheckID("job")
	h.pingKind(id, "")
	h.pingKind(id, "/fail")
	waitFor(t, "the down alert", func() bool { return len(rc.bodies("/slack")) == 1 })
	h.pingKind(id, "")
	waitFor(t, "the recovery", func() bool { return len(rc.bodies("/slack")) == 2 && len(rc.bodies("/ops")) == 2 })
	var up notify.Notification
	if err := json.Unmarshal([]byte(rc.bodies("/ops")[1]), &up); err != nil || up.Event != "up" || up.PreviousSince.IsZero() || up.Outage() <= 0 {
		t.Fatalf("the up notification: %+v, %v", up, err)
	}
	var m notify.SlackMessage
	if err := json.Unmarshal([]byte(rc.bodies("/slack")[1]), &m); err != nil {
		t.Fatal(err)
	}
	if sec := m.Blocks[0].Text.Text; !strings.Contains(sec, "is UP again at") || !strings.Contains(sec, " down (since ") ||
		!strings.Contains(sec, h.base+"/status/check/") || strings.Contains(sec, id.Secret()) {
		t.Errorf("the recovery's message: %s", sec)
	}

	code, body := h.do("POST", "/api/v3/channels/ops/test", rwKey)
	if code != http.StatusOK || !strings.Contains(body, `"answers":["POST `+rc.srv.URL+`: 200 OK"]`) {
		t.Fatalf("test ops: %d %s", code, body)
	}
	if b := rc.bodies("/ops"); len(b) != 3 || !strings.Contains(b[2], `"event":"test"`) || !strings.Contains(b[2], `"test":true`) {
		t.Errorf("the test notification: %q", b)
	}
	if code, body := h.do("POST", "/api/v3/channels/restart-db/test", rwKey); code != http.StatusConflict || !strings.Contains(body, "runs the command") {
		t.Errorf("test restart-db: %d %s", code, body)
	}
}

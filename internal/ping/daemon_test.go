package ping_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/daemon"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/watchdog/model"
)

// logBuf is a slog destination tests can read while the daemon writes.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the logged lines that contain every one of subs.
func (b *logBuf) lines(subs ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for l := range strings.SplitSeq(b.buf.String(), "\n") {
		match := l != ""
		for _, s := range subs {
			match = match && strings.Contains(l, s)
		}
		if match {
			out = append(out, l)
		}
	}
	return out
}

// vitals is a real watchdog daemon on 127.0.0.1:0 with its SQLite store in
// a temp dir, pinged over loopback.
type vitals struct {
	d    *daemon.Daemon
	addr string // host:port
	base string // http://host:port
	log  *logBuf
}

// startDaemon runs a daemon whose config has pings (ping key "pk",
// auto_create on), one API key, and the given checks (YAML list items);
// extra is more top-level YAML. dir holds the store ("" for a temp dir).
func startDaemon(t *testing.T, dir, checks, extra string) *vitals {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	cfgText := `server:
  listen: ["127.0.0.1:0"]
  shutdown_timeout: 5s
store:
  sqlite: {path: ` + filepath.Join(dir, "vitals.db") + `}
api_keys:
  - {name: rw, key: rw-key-0123456789abcdef, access: read-write}
pings:
  ping_key: pk
  auto_create: true
` + extra + `
checks:
` + checks
	if err := os.WriteFile(file, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	lb := &logBuf{}
	var w io.Writer = lb
	if testing.Verbose() {
		w = io.MultiWriter(lb, os.Stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.New(ctx, cfg, daemon.Options{ConfigPath: file, Logger: slog.New(slog.NewTextHandler(w, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	})
	addr := d.Addrs()[0].String()
	return &vitals{d: d, addr: addr, base: "http://" + addr, log: lb}
}

// id returns the id of the check named name.
func (v *vitals) id(t *testing.T, name string) uuid.UUID {
	t.Helper()
	for _, cs := range v.d.Engine().List() {
		if cs.Check.Name == name {
			return cs.Check.ID
		}
	}
	t.Fatalf("no check %q", name)
	return uuid.Nil
}

func (v *vitals) state(t *testing.T, name string) model.State {
	t.Helper()
	cs, _ := v.d.Engine().Get(v.id(t, name))
	return cs.State
}

// get sends a request with http.Client and returns the answer.
func (v *vitals) get(t *testing.T, method, path string) reply {
	t.Helper()
	req, err := http.NewRequest(method, v.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b), resp.Header}
}

// TestDaemonInvalidSlug: a slug that is not a check's slug (capitals, too
// long) is the client's mistake, answered 400 "invalid url format" with a
// reason, with or without ?create=1, as healthchecks.io answers. It was a
// retriable 503 "not found" (runitor and curl --retry retried it) and an
// ERROR in the daemon's log.
func TestDaemonInvalidSlug(t *testing.T) {
	v := startDaemon(t, "", "  - {name: backup, slug: backup}\n", "")
	long := strings.Repeat("s", model.MaxSlugLen+1)
	for _, path := range []string{
		"/ping/pk/MyJob?create=1", "/ping/pk/MyJob", "/ping/pk/MyJob/start?create=1", "/ping/pk/MyJob/fail",
		"/ping/pk/Backup", "/ping/pk/MyJob/256?create=1", "/ping/pk/" + long + "?create=1", "/ping/pk/" + long,
	} {
		for _, method := range []string{"GET", "POST"} {
			r := v.get(t, method, path)
			if r.code != http.StatusBadRequest || r.body != "invalid url format" ||
				!strings.Contains(r.header.Get(ping.ReasonHeader), "lowercase") || r.header.Get("Retry-After") != "" {
				t.Errorf("%s %s: %d %q (%s), want 400 \"invalid url format\" with a reason", method, path, r.code, r.body, r.header.Get(ping.ReasonHeader))
			}
		}
	}
	if n := len(v.d.Engine().List()); n != 1 {
		t.Errorf("%d checks after the refused pings, want only the configured one", n)
	}
	if got := v.state(t, "backup").NPings; got != 0 {
		t.Errorf("backup recorded %d pings", got)
	}
	// A valid slug is still created, and pinged by its slug afterwards.
	if r := v.get(t, "GET", "/ping/pk/my-job?create=1"); r.code != http.StatusCreated || r.body != "Created" {
		t.Fatalf("valid slug with create: %d %q", r.code, r.body)
	}
	if r := v.get(t, "GET", "/ping/pk/backup"); r.code != http.StatusOK {
		t.Fatalf("configured slug: %d %q", r.code, r.body)
	}
	if lines := v.log.lines("level=ERROR"); len(lines) != 0 {
		t.Errorf("the client's mistakes were logged as errors:\n%s", strings.Join(lines, "\n"))
	}
}

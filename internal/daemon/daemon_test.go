package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/config"
	"github.com/vitals-go/vitals/internal/model"
)

const (
	rwKey = "rw-key-0123456789abcdef"
	roKey = "ro-key-0123456789abcdef"
)

// harness is a real daemon on 127.0.0.1:0 with its SQLite store in a temp
// dir, configured from a file the test rewrites.
type harness struct {
	t    *testing.T
	file string
	d    *Daemon
	base string
	stop func() error
}

func writeConfig(t *testing.T, file, checks string) {
	t.Helper()
	cfg := fmt.Sprintf(`server:
  listen: ["127.0.0.1:0"]
  shutdown_timeout: 5s
store:
  sqlite: {path: vitals.db}
api_keys:
  - {name: rw, key: %s, access: read-write}
  - {name: ro, key: %s}
pings:
  ping_key: pk
checks:
%s`, rwKey, roKey, checks)
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, checks string) *harness {
	t.Helper()
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	writeConfig(t, file, checks)
	h, err := startFile(t, file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// startLogged starts a daemon on the config file that logs to log; the
// test's cleanup stops it.
func startLogged(t *testing.T, file string, log *slog.Logger) *harness {
	t.Helper()
	h, err := startFile(t, file, Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// startFile starts a daemon on the config file (opts.ConfigPath and, when
// nil, opts.Logger are set); the test's cleanup stops it.
func startFile(t *testing.T, file string, opts Options) (*harness, error) {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		}
	}
	opts.ConfigPath = file
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, cfg, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	h := &harness{t: t, file: file, d: d, base: "http://" + d.Addrs()[0].String()}
	var stopped bool
	h.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { h.stop() })
	return h, nil
}

func (h *harness) do(method, path, key string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.base+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) state(name string) model.State {
	h.t.Helper()
	cs, ok := h.d.Engine().Get(h.d.CheckID(name))
	if !ok {
		h.t.Fatalf("no check %q", name)
	}
	return cs.State
}

// waitFor polls cond (real probes over loopback take real time); it fails
// after a generous bound, never asserting how long it took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func listenTCP(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestReloadKeepsState: a reload creates, updates and retires checks; the
// unchanged and the changed ones keep their state; an invalid config is
// answered 400 with every error and changes nothing.
func TestReloadKeepsState(t *testing.T) {
	tcp := listenTCP(t)
	h := start(t, fmt.Sprintf(`  - {name: a, period: 1h}
  - {name: b, slug: b, period: 1h}
  - {name: gone, period: 1h}
  - {name: t, tcp: {address: "%s"}, interval: 1s}
`, tcp))
	gone := h.d.CheckID("gone")
	if code, body := h.do("POST", "/ping/"+h.d.CheckID("a").Secret(), ""); code != 200 || body != "OK" {
		t.Fatalf("ping a: %d %s", code, body)
	}
	if code, body := h.do("POST", "/ping/pk/b/fail", ""); code != 200 {
		t.Fatalf("ping b: %d %s", code, body)
	}
	waitFor(t, "the pull check to go up", func() bool { return h.state("t").Status == model.StatusUp })
	a, b := h.state("a"), h.state("b")
	if a.Status != model.StatusUp || b.Status != model.StatusDown {
		t.Fatalf("a %s, b %s", a.Status, b.Status)
	}

	// a unchanged, b changed (grace), gone retired, t changed (interval), c new.
	writeConfig(t, h.file, fmt.Sprintf(`  - {name: a, period: 1h}
  - {name: b, slug: b, period: 1h, grace: 5m}
  - {name: t, tcp: {address: "%s"}, interval: 2s}
  - {name: c, period: 1d}
`, tcp))
	code, body := h.do("POST", "/-/reload", rwKey)
	if code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	var res map[string]int
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if res["created"] != 1 || res["updated"] != 2 || res["retired"] != 1 || res["unchanged"] != 1 {
		t.Errorf("reload result %s", body)
	}
	a2, b2, t2 := h.state("a"), h.state("b"), h.state("t")
	if a2.Status != model.StatusUp || a2.NPings != a.NPings || !a2.LastPing.Equal(a.LastPing) {
		t.Errorf("a lost its state: %+v", a2)
	}
	if b2.Status != model.StatusDown || b2.NPings != 1 || b2.NFlips != b.NFlips {
		t.Errorf("b (changed) lost its state: %+v", b2)
	}
	if t2.Status != model.StatusUp {
		t.Errorf("t (changed) lost its state: %+v", t2)
	}
	if _, ok := h.d.Engine().Get(gone); ok {
		t.Error("gone was not retired")
	}
	c := h.d.CheckID("c")
	if cs, ok := h.d.Engine().Get(c); !ok || cs.Check.Schedule.Period != 24*time.Hour {
		t.Error("c was not created")
	}

	// An invalid config: 400 with every error, nothing changes.
	writeConfig(t, h.file, `  - {name: a, period: 1h, bogus: 1}
  - {name: b, cron: "not cron"}
`)
	code, body = h.do("POST", "/-/reload", rwKey)
	if code != 400 {
		t.Fatalf("invalid reload: %d %s", code, body)
	}
	var bad struct {
		Error   string   `json:"error"`
		Details []string `json:"details"`
	}
	if err := json.Unmarshal([]byte(body), &bad); err != nil {
		t.Fatal(err)
	}
	base := filepath.Base(h.file)
	if len(bad.Details) != 2 || !strings.HasSuffix(bad.Details[0], base+":12: checks[0].bogus: unknown field (known: name, id, slug, tags, desc, ping_key, period, cron, tz, grace, min_run_time, manual_resume, post_only, http, grpc, tcp, command, interval, timeout, thresholds, actions, parents)") ||
		!strings.Contains(bad.Details[1], base+`:13: checks[1].cron: invalid cron expression "not cron"`) {
		t.Errorf("details:\n%s", strings.Join(bad.Details, "\n"))
	}
	if n := len(h.d.Engine().List()); n != 4 {
		t.Errorf("%d checks after a rejected reload", n)
	}
	if _, ok := h.d.Engine().Get(c); !ok {
		t.Error("the running config was replaced by an invalid one")
	}
}

func TestReloadAuth(t *testing.T) {
	h := start(t, "  - {name: a}\n")
	for _, tt := range []struct {
		method, key string
		code        int
	}{
		{"POST", "", 401},
		{"POST", "wrong-key-0123456789", 401},
		{"POST", roKey, 403},
		{"GET", rwKey, 405},
		{"POST", rwKey, 200},
	} {
		if code, body := h.do(tt.method, "/-/reload", tt.key); code != tt.code {
			t.Errorf("%s key %q: %d %s, want %d", tt.method, tt.key, code, body, tt.code)
		}
	}
}

// TestEndpoints: the daemon serves its health, metrics, API and pings.
func TestEndpoints(t *testing.T) {
	h := start(t, "  - {name: a, period: 1h}\n")
	waitFor(t, "/readyz", func() bool { code, _ := h.do("GET", "/readyz", ""); return code == 200 })
	// Each check is DOWN until its first run, which is asynchronous.
	waitFor(t, "/livez", func() bool { code, _ := h.do("GET", "/livez", ""); return code == 200 })
	if code, body := h.do("GET", "/readyz?verbose", roKey); code != 200 || !strings.Contains(body, "store") {
		t.Errorf("/readyz?verbose %d %s", code, body)
	}
	if code, body := h.do("GET", "/metrics", ""); code != 200 || !strings.Contains(body, `vitals_check_up{check="a"`) || !strings.Contains(body, "vitals_pull_probes_total") || !strings.Contains(body, "vitals_pull_lateness_seconds_bucket") {
		t.Errorf("/metrics %d", code)
	}
	if code, body := h.do("GET", "/api/v1/checks", roKey); code != 200 || !strings.Contains(body, `"name":"a"`) {
		t.Errorf("/api/v1/checks %d %s", code, body)
	}
	if code, _ := h.do("GET", "/api/v1/checks", ""); code != 401 {
		t.Errorf("API without a key: %d", code)
	}
	if code, _ := h.do("GET", "/ping/"+uuid.NewString(), ""); code != 404 {
		t.Errorf("unknown ping: %d", code)
	}
	if err := h.stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// TestRestartKeepsState: a new daemon on the same store finds the state.
func TestRestartKeepsState(t *testing.T) {
	h := start(t, "  - {name: a, period: 1h}\n")
	id := h.d.CheckID("a")
	h.do("POST", "/ping/"+id.Secret()+"/fail", "")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(h.file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(context.Background(), cfg, Options{ConfigPath: h.file, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	defer d.Run(ctx)
	cs, ok := d.Engine().Get(id) // the same id: derived from the store's secret
	if !ok || cs.State.Status != model.StatusDown || cs.State.NPings != 1 {
		t.Errorf("after restart: %+v", cs.State)
	}
}

// TestRunLeavesNoGoroutines: after Run returns, every goroutine the daemon
// started (server, engine, scheduler, probes, health monitor, store) has
// exited.
func TestRunLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	tcp := listenTCP(t)
	h := start(t, fmt.Sprintf("  - {name: a, period: 1h}\n  - {name: t, tcp: {address: %q}, interval: 1s}\n", tcp))
	h.do("POST", "/ping/"+h.d.CheckID("a").Secret(), "")
	waitFor(t, "a probe", func() bool { return h.state("t").Status == model.StatusUp })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	waitFor(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before+1 }) // +1: the test listener's accept loop
}

// TestActionsWired: a check's down flip reaches the webhook named in its
// actions (through the outbox and the dispatcher), and the status page is
// served at /status/.
func TestActionsWired(t *testing.T) {
	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer hook.Close()
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`server: {listen: ["127.0.0.1:0"]}
store: {sqlite: {path: v.db}}
api_keys: [{name: ro, key: %s}]
notifiers:
  ops: {webhook: {url: %q}}
checks:
  - {name: job, period: 1h, actions: {down: [ops]}}
`, roKey, hook.URL+"/hook")), 0o600)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := New(ctx, cfg, Options{ConfigPath: file, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	h := &harness{t: t, d: d, base: "http://" + d.Addrs()[0].String()}
	h.do("POST", "/ping/"+h.d.CheckID("job").Secret(), "")
	h.do("POST", "/ping/"+h.d.CheckID("job").Secret()+"/fail", "")
	select {
	case body := <-got:
		if !strings.Contains(body, `"job"`) || !strings.Contains(body, "down") {
			t.Errorf("webhook body %s", body)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the webhook was not called")
	}
	if code, body := h.do("GET", "/status/", roKey); code != 200 || !strings.Contains(body, "job") {
		t.Errorf("/status/ %d", code)
	}
	if code, _ := h.do("GET", "/status/", ""); code != 401 && code != 403 {
		t.Errorf("/status/ without a key: %d", code)
	}
}

// TestShutdownSignals: with a drain period, /readyz answers 503 while the
// server still serves; the dead man's switch is pinged; systemd hears
// READY=1, WATCHDOG=1 and STOPPING=1 on $NOTIFY_SOCKET.
func TestShutdownSignals(t *testing.T) {
	dms := make(chan struct{}, 100)
	switchSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { dms <- struct{}{} }))
	defer switchSrv.Close()

	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000") // WATCHDOG=1 every 50ms
	notes := make(chan string, 1000)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			notes <- string(buf[:n])
		}
	}()
	waitNote := func(want string) {
		t.Helper()
		timeout := time.NewTimer(15 * time.Second)
		defer timeout.Stop()
		for {
			select {
			case n := <-notes:
				if n == want {
					return
				}
			case <-timeout.C:
				t.Fatalf("no %s on NOTIFY_SOCKET", want)
			}
		}
	}

	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`server:
  listen: ["127.0.0.1:0"]
  drain_period: 1s
  dead_mans_switch: %q
  dead_mans_switch_interval: 1s
store: {sqlite: {path: v.db}}
`, switchSrv.URL)), 0o600)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := New(ctx, cfg, Options{ConfigPath: file, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	h := &harness{t: t, d: d, base: "http://" + d.Addrs()[0].String()}
	waitNote("READY=1")
	waitNote("WATCHDOG=1")
	for range 2 {
		select {
		case <-dms:
		case <-time.After(15 * time.Second):
			t.Fatal("the dead man's switch was not pinged")
		}
	}
	waitFor(t, "/readyz up", func() bool { code, _ := h.do("GET", "/readyz", ""); return code == 200 })
	waitFor(t, "/livez up", func() bool { code, _ := h.do("GET", "/livez", ""); return code == 200 })
	cancel()
	waitNote("STOPPING=1")
	// Draining: still serving, not ready.
	if code, _ := h.do("GET", "/readyz", ""); code != 503 {
		t.Errorf("/readyz while draining: %d", code)
	}
	if code, _ := h.do("GET", "/livez", ""); code != 200 {
		t.Errorf("/livez while draining: %d", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDownWhileStoppedIsAnnounced: a heartbeat whose deadline passes while
// the watchdog is stopped goes down at the next start, and its alert is
// sent (the actions are applied before the engine fires past deadlines).
func TestDownWhileStoppedIsAnnounced(t *testing.T) {
	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer hook.Close()
	file := filepath.Join(t.TempDir(), "watchdog.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`server: {listen: ["127.0.0.1:0"]}
store: {sqlite: {path: v.db}}
notifiers:
  ops: {webhook: {url: %q}}
checks:
  - {name: beat, period: 1s, grace: 1s, actions: {down: [ops]}}
`, hook.URL)), 0o600)
	run := func() (*Daemon, func()) {
		cfg, err := config.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		d, err := New(ctx, cfg, Options{ConfigPath: file, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		return d, func() { cancel(); <-done }
	}
	d, stop := run()
	h := &harness{t: t, d: d, base: "http://" + d.Addrs()[0].String()}
	if code, _ := h.do("POST", "/ping/"+h.d.CheckID("beat").Secret(), ""); code != 200 {
		t.Fatal(code)
	}
	stop()
	deadline := h.state("beat").Deadline
	for time.Now().Before(deadline.Add(100 * time.Millisecond)) { // the deadline passes while stopped
		time.Sleep(50 * time.Millisecond)
	}
	_, stop = run()
	defer stop()
	select {
	case body := <-got:
		if !strings.Contains(body, `"beat"`) || !strings.Contains(body, "down") {
			t.Errorf("webhook body %s", body)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the down flip of a deadline passed while stopped was not announced")
	}
}

// TestShutdownClosesLiveStreams: a browser with the status page open holds a
// Server-Sent Events stream that never ends on its own; shutting down must
// close it instead of waiting for shutdown_timeout and failing.
func TestShutdownClosesLiveStreams(t *testing.T) {
	h := start(t, "  - {name: a, period: 1h}\n")
	req, err := http.NewRequest("GET", h.base+"/status/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", rwKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := h.stop(); err != nil {
		t.Fatalf("shutdown with an open live stream: %v", err)
	}
}

// TestSilencesSurviveRestart: a silence made through the API is kept in the
// store and is still there after the daemon restarts.
func TestSilencesSurviveRestart(t *testing.T) {
	h := start(t, "  - {name: a, period: 1h}\n")
	req, _ := http.NewRequest("POST", h.base+"/api/v1/silences", strings.NewReader(`{"name":"upgrade","duration":3600}`))
	req.Header.Set("X-Api-Key", rwKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create silence: %s", resp.Status)
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(h.file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := New(ctx, cfg, Options{ConfigPath: h.file, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	h2 := &harness{t: t, d: d, base: "http://" + d.Addrs()[0].String()}
	code, body := h2.do("GET", "/api/v1/silences", roKey)
	if code != 200 || !strings.Contains(body, `"name":"upgrade"`) {
		t.Fatalf("after restart: %d %s", code, body)
	}
}

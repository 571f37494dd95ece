package health

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

const token = "s3cret-token"

// newService is a monitor with a healthy database, a failing non-critical
// cache and a healthy worker loop, all having run once.
func newService(t *testing.T, opts Options) *Monitor {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	m := New(opts)
	must(t, m.Register(Check{Name: "db", ComponentType: "datastore", NoStagger: true,
		Checker: CheckerFunc(func(ctx context.Context) error { Observe(ctx, 25, "percent"); return nil })}))
	must(t, m.Register(Check{Name: "cache", Checker: down("dial redis://app:hunter2@127.0.0.1:6379: connection refused"), NonCritical: true, NoStagger: true}))
	must(t, m.Register(Check{Name: "worker", Checker: up(), Kinds: Liveness, NoStagger: true}))
	must(t, m.Start())
	t.Cleanup(func() { stop(t, m) })
	settle(time.Millisecond)
	return m
}

func TestMinimalVerboseAndAuthorisation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newService(t, Options{Authorize: BearerToken(token)})
		bearer := []string{"Authorization", "Bearer " + token}

		// Anonymous callers get the status alone, verbose or not.
		expect(t, get(t, m, "/readyz"), 200, `{"status":"DEGRADED"}`+"\n")
		expect(t, get(t, m, "/readyz?verbose"), 200, `{"status":"DEGRADED"}`+"\n")
		expect(t, get(t, m, "/readyz?verbose", "Authorization", "Bearer wrong"), 200, `{"status":"DEGRADED"}`+"\n")
		// An authorised caller who does not ask gets the minimal body too.
		expect(t, get(t, m, "/readyz", bearer...), 200, `{"status":"DEGRADED"}`+"\n")

		settle(90 * time.Second)
		w := get(t, m, "/readyz?verbose", bearer...)
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("verbose: %d %s", w.Code, w.Header().Get("Content-Type"))
		}
		v := decode[verboseBody](t, w)
		if v.Status != "DEGRADED" || v.UptimeSeconds < 90 || len(v.Checks) != 2 {
			t.Fatalf("verbose body %+v", v)
		}
		db, cache := v.Checks["db"], v.Checks["cache"]
		if db.Status != "UP" || !db.Critical || db.Kinds != "readiness" || db.Error != "" ||
			db.ObservedValue == nil || *db.ObservedValue != 25 || db.ObservedUnit != "percent" ||
			db.LastChecked == "" || db.LastSuccess == "" || db.ConsecutiveFailures != 0 {
			t.Errorf("db = %+v", db)
		}
		if cache.Status != "DOWN" || cache.Critical || cache.ConsecutiveFailures != 10 || cache.LastSuccess != "" ||
			cache.Error != "dial redis://app:xxxxx@127.0.0.1:6379: connection refused" {
			t.Errorf("cache = %+v (the password must be redacted)", cache)
		}
		if _, err := time.Parse(time.RFC3339Nano, db.LastChecked); err != nil {
			t.Errorf("last_checked: %v", err)
		}
	})
}

func TestIETFFormat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newService(t, Options{Authorize: BearerToken(token), ServiceID: "accounts-1", Version: "1", ReleaseID: "1.4.2", Description: "accounts"})
		accept := []string{"Accept", "application/health+json"}

		w := get(t, m, "/readyz", accept...)
		expect(t, w, 200, `{"status":"warn"}`+"\n")
		if ct := w.Header().Get("Content-Type"); ct != "application/health+json" {
			t.Errorf("Content-Type = %q", ct)
		}
		w = get(t, m, "/readyz", "Accept", "application/health+json", "Authorization", "Bearer "+token)
		want := `{"status":"warn","version":"1","releaseId":"1.4.2","serviceId":"accounts-1","description":"accounts",` +
			`"checks":{"cache":[{"status":"warn","time":"2000-01-01T00:00:00Z","output":"dial redis://app:xxxxx@127.0.0.1:6379: connection refused"}],` +
			`"db":[{"componentType":"datastore","observedValue":25,"observedUnit":"percent","status":"pass","time":"2000-01-01T00:00:00Z"}]}}` + "\n"
		expect(t, w, 200, want)

		m.Drain()
		w = get(t, m, "/readyz", "Accept", "application/health+json", "Authorization", "Bearer "+token)
		var body struct{ Status, Output string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 503 || body.Status != "fail" || body.Output != "draining" {
			t.Errorf("draining: %d %s", w.Code, w.Body)
		}
	})
}

func TestSingleCheckAndExclude(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newService(t, Options{})
		must(t, m.Register(Check{Name: "broker", Checker: down("amqp: closed"), NoStagger: true}))
		settle(time.Millisecond)
		expect(t, get(t, m, "/readyz"), 503, `{"status":"DOWN"}`+"\n")
		expect(t, get(t, m, "/readyz?exclude=broker"), 200, `{"status":"DEGRADED"}`+"\n")
		expect(t, get(t, m, "/readyz?exclude=broker,cache"), 200, `{"status":"UP"}`+"\n")
		expect(t, get(t, m, "/readyz?exclude=broker&exclude=cache"), 200, `{"status":"UP"}`+"\n")
		expect(t, get(t, m, "/readyz?exclude=nosuch"), 503, `{"status":"DOWN"}`+"\n")
		expect(t, get(t, m, "/readyz/db"), 200, `{"status":"UP"}`+"\n")
		expect(t, get(t, m, "/readyz/broker"), 503, `{"status":"DOWN"}`+"\n")
		expect(t, get(t, m, "/livez/worker"), 200, `{"status":"UP"}`+"\n")
		expect(t, get(t, m, "/healthz/worker"), 200, `{"status":"UP"}`+"\n")
		expect(t, get(t, m, "/livez/db"), 404, `{"error":"no check \"db\" in this probe"}`+"\n")
		expect(t, get(t, m, "/readyz/nosuch"), 404, `{"error":"no check \"nosuch\" in this probe"}`+"\n")
		// One check is judged alone: draining does not change it.
		m.Drain()
		expect(t, get(t, m, "/readyz/db"), 200, `{"status":"UP"}`+"\n")
	})
}

func TestRoutingMethodsAndAliases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newService(t, Options{Aliases: map[string]Kind{"/alive": Liveness, "/ready": Readiness, "/health": All}})
		expect(t, get(t, m, "/alive"), 200, `{"status":"UP"}`+"\n")
		expect(t, get(t, m, "/ready"), 200, `{"status":"DEGRADED"}`+"\n")
		expect(t, get(t, m, "/health"), 200, `{"status":"DEGRADED"}`+"\n")
		expect(t, get(t, m, "/startupz"), 200, `{"status":"UP"}`+"\n")
		expect(t, get(t, m, "/ready/db"), 200, `{"status":"UP"}`+"\n")

		w := do(t, m, "HEAD", "/livez")
		expect(t, w, 200, "")
		if cl := w.Header().Get("Content-Length"); cl != "16" {
			t.Errorf("HEAD Content-Length = %q, want 16", cl)
		}
		w = do(t, m, "POST", "/livez")
		expect(t, w, 405, `{"error":"method POST not allowed: use GET or HEAD"}`+"\n")
		if a := w.Header().Get("Allow"); a != "GET, HEAD" {
			t.Errorf("Allow = %q", a)
		}
		expect(t, get(t, m, "/nope"), 404, `{"error":"no health probe at \"/nope\": use /livez, /readyz, /startupz or /healthz"}`+"\n")
		expect(t, get(t, m, "/readyz/"), 404, `{"error":"no health probe at \"/readyz/\": use /livez, /readyz, /startupz or /healthz"}`+"\n")
		// The override is off by default.
		expect(t, do(t, m, "POST", "/-/drain"), 404, `{"error":"no health probe at \"/-/drain\": use /livez, /readyz, /startupz or /healthz"}`+"\n")

		mux := http.NewServeMux()
		m.Mount(mux)
		expect(t, get(t, mux, "/ready/db"), 200, `{"status":"UP"}`+"\n")
		expect(t, get(t, mux, "/healthz?verbose"), 200, `{"status":"DEGRADED"}`+"\n")
	})
}

func TestOperatorOverride(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newService(t, Options{AdminOverride: true, Authorize: BearerToken(token)})
		expect(t, do(t, m, "POST", "/-/drain"), 403, `{"error":"not authorised to change the drain state"}`+"\n")
		expect(t, do(t, m, "POST", "/-/drain", "Authorization", "Bearer nope"), 403, `{"error":"not authorised to change the drain state"}`+"\n")
		expect(t, do(t, m, "GET", "/-/drain", "Authorization", "Bearer "+token), 405, `{"error":"method GET not allowed: use POST"}`+"\n")
		expect(t, get(t, m, "/readyz"), 200, `{"status":"DEGRADED"}`+"\n")

		expect(t, do(t, m, "POST", "/-/drain", "Authorization", "Bearer "+token), 200, `{"draining":true}`+"\n")
		expect(t, get(t, m, "/readyz"), 503, `{"status":"DOWN"}`+"\n")
		expect(t, get(t, m, "/livez"), 200, `{"status":"UP"}`+"\n")
		expect(t, do(t, m, "POST", "/-/undrain", "Authorization", "Bearer "+token), 200, `{"draining":false}`+"\n")
		expect(t, get(t, m, "/readyz"), 200, `{"status":"DEGRADED"}`+"\n")

		mux := http.NewServeMux()
		m.Mount(mux)
		expect(t, do(t, mux, "POST", "/-/drain", "Authorization", "Bearer "+token), 200, `{"draining":true}`+"\n")
	})
}

// Serve drains on shutdown: readiness DOWN at once while requests are still
// served for the drain period, liveness UP, then the server stops.
func TestServeDrainsOnShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		must(t, m.Register(Check{Name: "db", Checker: up(), NoStagger: true}))
		must(t, m.Start())
		defer stop(t, m)

		mux := http.NewServeMux()
		m.Mount(mux)
		mux.HandleFunc("/accounts", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
		ln := newPipeListener()
		c := ln.client()
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		start := time.Now()
		opts := ServeOptions{Listeners: []net.Listener{ln}, DrainPeriod: 10 * time.Second, ShutdownTimeout: 5 * time.Second}
		go func() { errc <- m.Serve(ctx, &http.Server{Handler: mux}, opts) }()

		settle(time.Millisecond)
		if code, _ := fetch(t, c, "http://app/readyz"); code != 200 {
			t.Fatalf("before shutdown: readyz %d", code)
		}
		cancel() // SIGTERM
		settle(time.Millisecond)
		if code, body := fetch(t, c, "http://app/readyz"); code != 503 || body != `{"status":"DOWN"}`+"\n" {
			t.Errorf("draining: readyz %d %q, want 503", code, body)
		}
		if code, _ := fetch(t, c, "http://app/livez"); code != 200 {
			t.Errorf("draining: livez %d, want 200", code)
		}
		settle(9 * time.Second)
		if code, body := fetch(t, c, "http://app/accounts"); code != 200 || body != "ok" {
			t.Errorf("draining: application request %d %q, want served", code, body)
		}
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if d := time.Since(start); d < 10*time.Second || d > 11*time.Second {
			t.Errorf("server stopped after %v, want after the 10s drain period", d)
		}
		if _, err := c.Get("http://app/livez"); err == nil {
			t.Error("server still answers after shutdown")
		}
	})
}

// Serve answers probes on a listener of their own, apart from the
// application's server.
func TestServeHealthOwnListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		ln := newPipeListener()
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		mux := http.NewServeMux()
		m.Mount(mux)
		go func() {
			errc <- m.Serve(ctx, &http.Server{Handler: mux}, ServeOptions{Listeners: []net.Listener{ln}, DrainPeriod: time.Second})
		}()
		settle(time.Millisecond)
		if code, body := fetch(t, ln.client(), "http://app/livez"); code != 200 || body != `{"status":"UP"}`+"\n" {
			t.Errorf("livez %d %q", code, body)
		}
		if code, _ := fetch(t, ln.client(), "http://app/accounts"); code != 404 {
			t.Errorf("non-health path %d, want 404", code)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	})
}

func TestServeReturnsListenerError(t *testing.T) {
	m := New(Options{Logger: quiet})
	ln := newPipeListener()
	ln.Close()
	if err := m.Serve(context.Background(), &http.Server{}, ServeOptions{Listeners: []net.Listener{ln}}); !errors.Is(err, errClosedPipe) && err == nil {
		t.Error("Serve on a closed listener returned nil")
	}
}

var errClosedPipe = errors.New("closed")

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"dial postgres://app:p%40ss@db:5432/x: refused", "dial postgres://app:xxxxx@db:5432/x: refused"},
		{"amqp://guest:guest@127.0.0.1:5672/ closed", "amqp://guest:xxxxx@127.0.0.1:5672/ closed"},
		{"host=db user=app password=hunter2 dbname=x", "host=db user=app password=xxxxx dbname=x"},
		{`{"password":"hunter2","user":"a"}`, `{"password":"xxxxx","user":"a"}`},
		{"app:hunter2@tcp(127.0.0.1:3306)/db: refused", "app:xxxxx@tcp(127.0.0.1:3306)/db: refused"},
		{"Authorization: Bearer abc.def.ghi failed", "Authorization: Bearer xxxxx failed"},
		{"token=abc&x=1", "token=xxxxx&x=1"},
		{"redis://127.0.0.1:6379 refused", "redis://127.0.0.1:6379 refused"},
		{"plain error", "plain error"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestErrorCapped(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	got := cleanError(long, 100)
	if len(got) > 100 || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("capped to %d bytes: %q", len(got), got)
	}
	if got := cleanError("short", 100); got != "short" {
		t.Errorf("short error changed: %q", got)
	}
}

// FuzzServeHTTP: no path, query or header makes the handler panic or answer
// anything but the documented codes, and bodies are always JSON.
func FuzzServeHTTP(f *testing.F) {
	for _, s := range []string{"/readyz", "/readyz?verbose&exclude=db", "/readyz/db", "/-/drain", "/livez/", "/x/y/z", "/healthz?exclude=%ff"} {
		f.Add("GET", s, "application/health+json")
	}
	m := New(Options{Logger: quiet, Authorize: AllowAll, AdminOverride: true, Aliases: map[string]Kind{"/health": All, "/": Readiness}})
	if err := m.Register(Check{Name: "db", Checker: up()}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target, accept string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") {
			return
		}
		r, err := http.NewRequest(method, "http://x"+u.RequestURI(), nil)
		if err != nil {
			return
		}
		r.Header.Set("Accept", accept)
		w := newDiscardRecorder()
		m.ServeHTTP(w, r)
		switch w.code {
		case 200, 503, 404, 405, 403:
		default:
			t.Fatalf("%s %s: code %d", method, target, w.code)
		}
		if r.Method != "HEAD" && !json.Valid(w.body) {
			t.Fatalf("%s %s: body is not JSON: %q", method, target, w.body)
		}
	})
}

type discardRecorder struct {
	h    http.Header
	code int
	body []byte
}

func newDiscardRecorder() *discardRecorder { return &discardRecorder{h: http.Header{}} }

func (d *discardRecorder) Header() http.Header { return d.h }
func (d *discardRecorder) WriteHeader(c int)   { d.code = c }
func (d *discardRecorder) Write(b []byte) (int, error) {
	if d.code == 0 {
		d.code = 200
	}
	d.body = append(d.body, b...)
	return len(b), nil
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		verbose bool
		exclude []string
	}{
		{"", false, nil},
		{"verbose", true, nil},
		{"verbose=1&exclude=db", true, []string{"db"}},
		{"exclude=a,b&exclude=c", false, []string{"a", "b", "c"}},
		{"exclude=a%2Cb", false, []string{"a", "b"}},
		{"exclude=%zz&exclude=ok", false, []string{"ok"}},
		{"x=1&&exclude=", false, nil},
	} {
		v, e := parseQuery(tc.raw)
		if v != tc.verbose || strings.Join(e, "|") != strings.Join(tc.exclude, "|") {
			t.Errorf("parseQuery(%q) = %v %q, want %v %q", tc.raw, v, e, tc.verbose, tc.exclude)
		}
	}
}

// TestBearerToken: the scheme in any case; the token exactly.
func TestBearerToken(t *testing.T) {
	auth := BearerToken("s3cret-token")
	for header, want := range map[string]bool{
		"Bearer s3cret-token": true, "bearer s3cret-token": true, "BEARER  s3cret-token ": true,
		"Bearer s3cret-toke": false, "Bearer s3cret-tokenx": false, "Basic s3cret-token": false, "": false, "Bearer ": false,
	} {
		r := httptest.NewRequest("GET", "/readyz?verbose", nil)
		r.Header.Set("Authorization", header)
		if got := auth(r); got != want {
			t.Errorf("%q: %v, want %v", header, got, want)
		}
	}
	if BearerToken("")(httptest.NewRequest("GET", "/", nil)) {
		t.Error("an empty token allows")
	}
}

// Serve serves several listeners; with a negative drain period it leaves
// readiness alone and shuts down at once; OnShutdown runs as the shutdown
// begins and AfterShutdown once every listener has stopped, its error
// returned by Serve.
func TestServeListenersAndHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		mux := http.NewServeMux()
		m.Mount(mux)
		a, b := newPipeListener(), newPipeListener()
		ctx, cancel := context.WithCancel(context.Background())
		var onShutdown, afterShutdown int
		errAfter := errors.New("closing the pool")
		errc := make(chan error, 1)
		go func() {
			errc <- m.Serve(ctx, &http.Server{Handler: mux}, ServeOptions{
				Listeners:   []net.Listener{a, b},
				DrainPeriod: -1,
				OnShutdown:  func() { onShutdown++ },
				AfterShutdown: func(ctx context.Context) error {
					afterShutdown++
					if _, err := a.client().Get("http://app/livez"); err == nil {
						t.Error("AfterShutdown runs while the server still answers")
					}
					if _, ok := ctx.Deadline(); !ok {
						t.Error("AfterShutdown's context has no deadline")
					}
					return errAfter
				},
			})
		}()
		settle(time.Millisecond)
		for _, ln := range []*pipeListener{a, b} {
			if code, _ := fetch(t, ln.client(), "http://app/livez"); code != 200 {
				t.Errorf("livez %d", code)
			}
		}
		if onShutdown != 0 {
			t.Error("OnShutdown called while serving")
		}
		start := time.Now()
		cancel()
		if err := <-errc; !errors.Is(err, errAfter) {
			t.Errorf("Serve = %v, want AfterShutdown's error", err)
		}
		// Synthetic time: no drain wait. http.Server.Shutdown may still
		// poll for a connection to turn idle (its poll starts at 1 ms),
		// depending on scheduling, so a few milliseconds are allowed.
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Errorf("shutdown took %v without a drain period", d)
		}
		if m.Draining() {
			t.Error("readiness turned DOWN with a negative drain period")
		}
		if onShutdown != 1 || afterShutdown != 1 {
			t.Errorf("OnShutdown called %d times, AfterShutdown %d; want 1 each", onShutdown, afterShutdown)
		}
	})
}

// TestServePeriodsReadAtShutdown: Periods is asked when the shutdown
// begins, and its answers replace the static fields (a reloaded config).
func TestServePeriodsReadAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := New(Options{Logger: quiet})
		ln := newPipeListener()
		ctx, cancel := context.WithCancel(context.Background())
		drain := time.Hour // changed below, after Serve has started
		asked := 0
		errc := make(chan error, 1)
		go func() {
			errc <- m.Serve(ctx, &http.Server{Handler: m}, ServeOptions{
				Listeners:   []net.Listener{ln},
				DrainPeriod: time.Hour,
				Periods: func() (time.Duration, time.Duration) {
					asked++
					return drain, time.Second
				},
			})
		}()
		settle(time.Millisecond)
		if asked != 0 {
			t.Fatal("Periods asked before the shutdown began")
		}
		drain = 3 * time.Second
		start := time.Now()
		cancel()
		if err := <-errc; err != nil {
			t.Fatalf("Serve = %v", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("drained for %v, want the 3s Periods gave at shutdown", d)
		}
		if asked != 1 {
			t.Errorf("Periods asked %d times, want once", asked)
		}
	})
}

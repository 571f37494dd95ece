package ping_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/memstore"
	"github.com/vitals-go/vitals/internal/watchdog"
)

// fixture is a real engine over a real store behind a real listener.
type fixture struct {
	srv *httptest.Server
	e   *watchdog.Engine
	st  store.Store
}

func newFixture(t *testing.T, opts ping.Options) *fixture {
	t.Helper()
	st := memstore.New(memstore.Options{})
	e := watchdog.New(st, watchdog.Options{})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ping/", ping.New(e, opts))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		e.Close()
		st.Close()
	})
	return &fixture{srv: srv, e: e, st: st}
}

func (f *fixture) check(t *testing.T, name string) model.Check {
	t.Helper()
	c, err := f.e.Create(context.Background(), model.Check{Name: name, Slug: name, PingKey: "fqOOd6-F4MMNuCEnzTU01w",
		Kind: model.KindPush, Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type reply struct {
	code   int
	body   string
	header http.Header
}

func (f *fixture) do(t *testing.T, method, path, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, string(b), resp.Header}
}

func (f *fixture) lastPing(t *testing.T, id model.CheckID) model.Ping {
	t.Helper()
	ps, err := f.st.Pings(context.Background(), id, store.PingQuery{Limit: 1})
	if err != nil || len(ps) != 1 {
		t.Fatalf("last ping of %s: %v %v", id, ps, err)
	}
	return ps[0]
}

// TestProtocol walks every endpoint of healthchecks.io's Pinging API docs,
// with each method, and checks the answer and what was recorded.
func TestProtocol(t *testing.T) {
	f := newFixture(t, ping.Options{})
	c := f.check(t, "database-backup")
	key := c.PingKey
	endpoints := []struct {
		suffix   string
		kind     model.PingKind
		exit     int
		statusAf model.Status
	}{
		{"", model.PingSuccess, -1, model.StatusUp},
		{"/start", model.PingStart, -1, ""},
		{"/fail", model.PingFail, -1, model.StatusDown},
		{"/log", model.PingLog, -1, ""},
		{"/0", model.PingExitStatus, 0, model.StatusUp},
		{"/1", model.PingExitStatus, 1, model.StatusDown},
		{"/255", model.PingExitStatus, 255, model.StatusDown},
	}
	for _, base := range []string{"/ping/" + c.ID.Secret(), "/ping/" + key + "/database-backup"} {
		for _, ep := range endpoints {
			for _, method := range []string{"GET", "HEAD", "POST"} {
				name := method + " " + strings.Replace(base, c.ID.Secret(), "<uuid>", 1) + ep.suffix
				t.Run(name, func(t *testing.T) {
					before, _ := f.e.Get(c.ID)
					body := ""
					if method == "POST" {
						body = "output of " + name
					}
					r := f.do(t, method, base+ep.suffix, body, "User-Agent", "curl/8.5.0")
					wantBody := "OK"
					if method == "HEAD" {
						wantBody = ""
					}
					if r.code != 200 || r.body != wantBody {
						t.Fatalf("got %d %q, want 200 %q", r.code, r.body, wantBody)
					}
					for h, v := range map[string]string{
						"Content-Type": "text/plain; charset=utf-8", "Access-Control-Allow-Origin": "*",
						"Ping-Body-Limit": "10000", "Cache-Control": "no-store",
					} {
						if got := r.header.Get(h); got != v {
							t.Errorf("%s: %q, want %q", h, got, v)
						}
					}
					if method == "HEAD" && r.header.Get("Content-Length") != "2" {
						t.Errorf("HEAD Content-Length %q, want 2", r.header.Get("Content-Length"))
					}
					p := f.lastPing(t, c.ID)
					if p.Kind != ep.kind || p.ExitStatus != ep.exit || p.Method != method || p.UserAgent != "curl/8.5.0" ||
						string(p.Body) != body || p.RemoteAddr != "127.0.0.1" || p.Scheme != "http" {
						t.Fatalf("recorded %+v", p)
					}
					after, _ := f.e.Get(c.ID)
					if after.State.NPings != before.State.NPings+1 {
						t.Fatalf("NPings %d → %d", before.State.NPings, after.State.NPings)
					}
					if ep.statusAf != "" && after.State.Status != ep.statusAf {
						t.Fatalf("status %s, want %s", after.State.Status, ep.statusAf)
					}
				})
			}
		}
	}
}

func TestTrailingSlashAndCase(t *testing.T) {
	f := newFixture(t, ping.Options{})
	c := f.check(t, "x")
	for _, path := range []string{"/ping/" + c.ID.Secret() + "/", "/ping/" + strings.ToUpper(c.ID.Secret())} {
		if r := f.do(t, "GET", path, ""); r.code != 200 || r.body != "OK" {
			t.Fatalf("%s: %d %q", path, r.code, r.body)
		}
	}
}

// Run ids pair a start with its finish and the run time is recorded.
func TestRunIDs(t *testing.T) {
	f := newFixture(t, ping.Options{})
	c := f.check(t, "job")
	rid := "123e4567-e89b-12d3-a456-426614174000"
	base := "/ping/" + c.ID.Secret()
	if r := f.do(t, "GET", base+"/start?rid="+rid, ""); r.code != 200 {
		t.Fatalf("start: %d", r.code)
	}
	if got, _ := f.e.Get(c.ID); got.State.Display(time.Now()) != model.StatusStarted {
		t.Fatalf("display %s after start", got.State.Display(time.Now()))
	}
	// Another run finishing does not close ours.
	f.do(t, "GET", base+"?rid="+uuid.NewString(), "")
	if got, _ := f.e.Get(c.ID); len(got.State.Runs) != 1 {
		t.Fatalf("runs %+v", got.State.Runs)
	}
	if r := f.do(t, "POST", base+"/0?rid="+rid, "done"); r.code != 200 {
		t.Fatalf("finish: %d", r.code)
	}
	p := f.lastPing(t, c.ID)
	if p.RID.String() != rid || p.Duration <= 0 {
		t.Fatalf("finish ping %+v: want rid and a run time", p)
	}
	if got, _ := f.e.Get(c.ID); len(got.State.Runs) != 0 || got.State.LastDuration != p.Duration {
		t.Fatalf("state %+v", got.State)
	}
}

// Bodies: kept (binary too), truncated past the limit, never rejected.
func TestBodies(t *testing.T) {
	f := newFixture(t, ping.Options{BodyLimit: 100})
	c := f.check(t, "b")
	base := "/ping/" + c.ID.Secret() + "/log"
	big := strings.Repeat("x", 5000)
	r := f.do(t, "POST", base, big)
	if r.code != 200 || r.header.Get("Ping-Body-Limit") != "100" {
		t.Fatalf("big body: %d %v", r.code, r.header)
	}
	p := f.lastPing(t, c.ID)
	if len(p.Body) != 100 || !p.BodyTruncated {
		t.Fatalf("kept %d bytes, truncated=%v", len(p.Body), p.BodyTruncated)
	}
	f.do(t, "POST", base, "\x00\xff\xfe binary")
	if p := f.lastPing(t, c.ID); string(p.Body) != "\x00\xff\xfe binary" || p.BodyTruncated {
		t.Fatalf("binary body %q", p.Body)
	}
	// Larger than the discard bound: still 200, the connection is closed.
	g := newFixture(t, ping.Options{BodyLimit: 10, MaxDiscard: 1000})
	c2 := g.check(t, "b2")
	r = g.do(t, "POST", "/ping/"+c2.ID.Secret(), strings.Repeat("y", 50_000))
	if r.code != 200 {
		t.Fatalf("huge body: %d", r.code)
	}
}

func TestSlugs(t *testing.T) {
	f := newFixture(t, ping.Options{AutoProvision: func(key, slug string) (model.Check, bool) {
		if key != "good-key" {
			return model.Check{}, false
		}
		return model.Check{Schedule: model.Schedule{Period: time.Hour, Grace: time.Minute}}, true
	}})
	a := f.check(t, "dup")
	f.check(t, "dup")
	if r := f.do(t, "GET", "/ping/"+a.PingKey+"/dup", ""); r.code != 409 || r.body != "ambiguous slug" {
		t.Fatalf("ambiguous: %d %q", r.code, r.body)
	}
	if r := f.do(t, "GET", "/ping/good-key/new-job/start", ""); r.code != 404 || r.body != "not found" {
		t.Fatalf("unknown slug without create: %d %q", r.code, r.body)
	}
	r := f.do(t, "GET", "/ping/good-key/new-job/start?create=1", "")
	if r.code != 201 || r.body != "Created" {
		t.Fatalf("create: %d %q", r.code, r.body)
	}
	ids := f.e.LookupSlug("good-key", "new-job")
	if len(ids) != 1 {
		t.Fatalf("created %v", ids)
	}
	if got, _ := f.e.Get(ids[0]); got.Check.Name != "new-job" || got.State.NPings != 1 {
		t.Fatalf("created check %+v", got)
	}
	if r := f.do(t, "GET", "/ping/good-key/new-job?create=1", ""); r.code != 200 || r.body != "OK" {
		t.Fatalf("existing with create=1: %d %q", r.code, r.body)
	}
	if r := f.do(t, "GET", "/ping/other-key/new-job?create=1", ""); r.code != 404 {
		t.Fatalf("key without auto-provisioning: %d", r.code)
	}
}

// TestMalformed is the table of bad requests with their exact answers.
func TestMalformed(t *testing.T) {
	f := newFixture(t, ping.Options{})
	c := f.check(t, "m")
	id := c.ID.Secret()
	unknown := uuid.NewString()
	cases := []struct {
		method, path string
		code         int
		body         string
		reason       string // substring of X-Vitals-Reason
	}{
		{"GET", "/ping/" + unknown, 404, "not found", "no check with this UUID"},
		{"POST", "/ping/" + unknown + "/fail", 404, "not found", "no check"},
		{"GET", "/ping/" + unknown + "/256", 404, "not found", "no check"}, // unknown check answered first
		{"GET", "/ping/" + unknown + "?rid=bad", 404, "not found", "no check"},
		{"GET", "/ping/" + id + "/256", 400, "invalid url format", "exit status must be 0-255"},
		{"GET", "/ping/" + id + "/99999999999999999999", 400, "invalid url format", "0-255"},
		{"GET", "/ping/" + id + "?rid=not-a-uuid", 400, "invalid uuid format", "canonical"},
		{"GET", "/ping/" + id + "?rid=", 400, "invalid uuid format", "canonical"},
		{"GET", "/ping/" + id + "?rid={" + unknown + "}", 400, "invalid uuid format", "canonical"},
		{"GET", "/ping/" + id + "/-1", 404, "not found", "not a ping URL"},
		{"GET", "/ping/" + id + "/restart", 404, "not found", "not a ping URL"},
		{"GET", "/ping/" + id + "/start/extra", 404, "not found", "not a ping URL"},
		{"GET", "/ping/", 404, "not found", "not a ping URL"},
		{"GET", "/ping/not-a-uuid", 404, "not found", "not a ping URL"},
		{"GET", "/ping/key/slug/start/more", 404, "not found", "not a ping URL"},
		{"GET", "/ping/key/sl%20ug", 404, "not found", "not a ping URL"},
		{"GET", "/ping/key/unknown-slug", 404, "not found", "no check with this ping key and slug"},
		{"GET", "/ping/key/Unknown-Slug", 400, "invalid url format", "lowercase"},
		{"GET", "/ping/key/Unknown-Slug/256", 400, "invalid url format", "lowercase"},
		{"GET", "/ping/key/slug/", 404, "not found", "not a ping URL"},
		{"PUT", "/ping/" + id, 405, "method not allowed", "HEAD, GET and POST"},
		{"DELETE", "/ping/" + id, 405, "method not allowed", "HEAD, GET and POST"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			before, _ := f.e.Get(c.ID)
			r := f.do(t, tc.method, tc.path, "")
			if r.code != tc.code || r.body != tc.body || !strings.Contains(r.header.Get(ping.ReasonHeader), tc.reason) {
				t.Fatalf("got %d %q (%s), want %d %q (%s)", r.code, r.body, r.header.Get(ping.ReasonHeader), tc.code, tc.body, tc.reason)
			}
			if r.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatal("no CORS header on an error")
			}
			if after, _ := f.e.Get(c.ID); after.State.NPings != before.State.NPings {
				t.Fatal("a malformed request was recorded")
			}
		})
	}
}

func TestProxyHeaders(t *testing.T) {
	f := newFixture(t, ping.Options{TrustProxyHeaders: true})
	c := f.check(t, "p")
	f.do(t, "GET", "/ping/"+c.ID.Secret(), "", "X-Forwarded-For", "203.0.113.9:4711, 10.0.0.1", "X-Forwarded-Proto", "https")
	if p := f.lastPing(t, c.ID); p.RemoteAddr != "203.0.113.9" || p.Scheme != "https" {
		t.Fatalf("trusted: %q %q", p.RemoteAddr, p.Scheme)
	}
	g := newFixture(t, ping.Options{})
	c2 := g.check(t, "p")
	g.do(t, "GET", "/ping/"+c2.ID.Secret(), "", "X-Forwarded-For", "203.0.113.9")
	if p := g.lastPing(t, c2.ID); p.RemoteAddr != "127.0.0.1" {
		t.Fatalf("untrusted header used: %q", p.RemoteAddr)
	}
}

// failingStore makes every Apply fail: the ping is not acknowledged.
type failingStore struct{ store.Store }

func (failingStore) Apply(context.Context, store.Update) error { return io.ErrUnexpectedEOF }

func TestNotDurableIsNotOK(t *testing.T) {
	st := failingStore{memstore.New(memstore.Options{})}
	e := watchdog.New(st, watchdog.Options{})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := e.Create(context.Background(), model.Check{Name: "x", Kind: model.KindPush})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ping.New(e, ping.Options{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ping/" + c.ID.Secret())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || string(b) != "store unavailable" || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
}

// FuzzHandler sends arbitrary methods, paths, queries and bodies through the
// whole handler: it never panics, answers only the protocol's codes, and
// records a ping only with a 200 or 201.
func FuzzHandler(f *testing.F) {
	st := memstore.New(memstore.Options{})
	e := watchdog.New(st, watchdog.Options{})
	if err := e.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	c, err := e.Create(context.Background(), model.Check{Name: "fz", Slug: "fz", PingKey: "key", Kind: model.KindPush})
	if err != nil {
		f.Fatal(err)
	}
	h := ping.New(e, ping.Options{BodyLimit: 64, AutoProvision: func(k, s string) (model.Check, bool) { return model.Check{}, k == "key" }})
	id := c.ID.Secret()
	for _, s := range []string{id, id + "/start", id + "/256", "key/fz/fail", "key/new?create=1", id + "?rid=x", id + "/log?rid=" + id} {
		f.Add("GET", s, []byte("body"))
	}
	f.Add("POST", "a/b/c/d", []byte{0xff})
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		req, err := http.NewRequest(method, "http://vitals/ping/"+target, strings.NewReader(string(body)))
		if err != nil {
			return // not a request a server could receive
		}
		before, _ := e.Get(c.ID)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200, 201, 400, 404, 405, 409:
		default:
			t.Fatalf("%s %q: code %d %q", method, target, w.Code, w.Body.String())
		}
		after, _ := e.Get(c.ID)
		if after.State.NPings != before.State.NPings && w.Code != 200 {
			t.Fatalf("%s %q: recorded with code %d", method, target, w.Code)
		}
	})
}

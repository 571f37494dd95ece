package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/store"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

const (
	rwKey = "rw-0123456789abcdef"
	roKey = "ro-0123456789abcdef"
)

// fixture is the API and the ping protocol over a real engine and a real
// SQLite store, behind a real loopback listener.
type fixture struct {
	srv *httptest.Server
	e   *watchdog.Engine
	st  *sqlite.Store
}

func newFixture(t *testing.T, opts api.Options) *fixture {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := watchdog.New(st, watchdog.Options{})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	opts.Engine, opts.Store = e, st
	if opts.Keys == nil {
		opts.Keys = []api.Key{{Name: "ops", Secret: rwKey}, {Name: "dash", Secret: roKey, ReadOnly: true}}
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(opts))
	mux.Handle("/ping/", ping.New(e, ping.Options{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		e.Close()
		st.Close()
	})
	return &fixture{srv: srv, e: e, st: st}
}

type reply struct {
	code   int
	body   string
	header http.Header
}

// json decodes the reply's body into a generic value.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("reply %d is not a JSON object: %v\n%s", r.code, err, r.body)
	}
	return m
}

// do sends a request; hdr are header name/value pairs. A body is sent as
// application/json unless hdr sets Content-Type.
func (f *fixture) do(t *testing.T, method, path, key, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
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

// create makes a push check through the API and returns its JSON.
func (f *fixture) create(t *testing.T, body string) map[string]any {
	t.Helper()
	r := f.do(t, "POST", "/api/v1/checks", rwKey, body)
	if r.code != http.StatusCreated {
		t.Fatalf("create %s: %d %s", body, r.code, r.body)
	}
	return r.json(t)
}

func (f *fixture) ping(t *testing.T, path string) {
	t.Helper()
	r := f.do(t, "POST", "/ping/"+path, "", "")
	if r.code != http.StatusOK {
		t.Fatalf("ping %s: %d %s", path, r.code, r.body)
	}
}

func storeFlipQuery() store.FlipQuery { return store.FlipQuery{Limit: 100} }

// configless is a valid push check created directly in the engine.
func configless(name string) model.Check {
	return model.Check{Name: name, Kind: model.KindPush}
}

package hcimport_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/api"
	"github.com/vitals-go/vitals/internal/hcimport"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/ping"
	"github.com/vitals-go/vitals/internal/store/sqlite"
	"github.com/vitals-go/vitals/internal/watchdog"
)

const vitalsKey = "rw-roundtrip-0123456789abcdef"

// vitals is a watchdog's API and ping protocol over a real engine and a
// real SQLite store, behind a loopback listener, as internal/api's tests
// set them up.
type vitals struct {
	srv *httptest.Server
	e   *watchdog.Engine
}

func newVitals(t *testing.T, channels []model.Channel) *vitals {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "vitals.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := watchdog.New(st, watchdog.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api.New(api.Options{
		Engine: e, Store: st, Keys: []api.Key{{Name: "import", Secret: vitalsKey}},
		Channels: func() []model.Channel { return channels },
	}))
	mux.Handle("/ping/", ping.New(e, ping.Options{}))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		e.Close()
		st.Close()
	})
	return &vitals{srv: srv, e: e}
}

// call sends a request to the API v3 and decodes its answer into out.
func (v *vitals) call(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, v.srv.URL+"/api/v3/"+path, rd)
	req.Header.Set("X-Api-Key", vitalsKey)
	resp, err := v.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

func (v *vitals) checks(t *testing.T) []map[string]any {
	t.Helper()
	var out struct{ Checks []map[string]any }
	if code := v.call(t, "GET", "checks/", nil, &out); code != 200 {
		t.Fatalf("list: %d", code)
	}
	return out.Checks
}

// TestRoundTrip imports one Vitals into another through their
// healthchecks.io-compatible APIs: every check comes over with its UUID
// and definition, a second run changes nothing, and every ping URL of the
// source works on the destination.
func TestRoundTrip(t *testing.T) {
	ch := func(name, kind string) model.Channel { return model.Channel{ID: uuid.New(), Name: name, Kind: kind} }
	src := newVitals(t, []model.Channel{ch("ops", "webhook"), ch("chat", "slack"), ch("pager", "webhook")})
	dst := newVitals(t, []model.Channel{ch("ops", "webhook"), ch("team-chat", "slack")})

	bodies := []map[string]any{
		{"name": "backup", "slug": "backup", "tags": "prod db", "desc": "nightly\nbackup", "timeout": 3600, "grace": 600, "channels": "ops,chat"},
		{"name": "report", "slug": "report", "schedule": "15 5 * * 1-5", "tz": "Europe/Riga", "grace": 1200,
			"manual_resume": true, "methods": "POST", "channels": "pager"},
		{"name": "mail", "timeout": 86400, "grace": 900, "start_kw": "START", "success_kw": "OK,DONE", "failure_kw": "ERR",
			"filter_subject": true, "filter_http_body": true, "filter_default_fail": true, "channels": "*"},
		{"name": "paused", "timeout": 60, "grace": 60},
		{"name": "backup", "tags": "staging", "timeout": 300, "grace": 60},
	}
	var ids []string
	for _, b := range bodies {
		var out map[string]any
		if code := src.call(t, "POST", "checks/", b, &out); code != http.StatusCreated {
			t.Fatalf("create %v: %d %v", b, code, out)
		}
		ids = append(ids, out["uuid"].(string))
		if b["name"] == "paused" {
			src.call(t, "POST", "checks/"+out["uuid"].(string)+"/pause", nil, nil)
		}
	}
	// The destination's config file owns the last one already, otherwise.
	ctx := context.Background()
	owned, _ := model.ParseCheckID(ids[4])
	if _, err := dst.e.Create(ctx, model.Check{ID: owned, Name: "staging backup", Kind: model.KindPush, Source: model.SourceConfig,
		Schedule: model.Schedule{Period: 300 * time.Second, Grace: 120 * time.Second}}.WithDefaults()); err != nil {
		t.Fatal(err)
	}

	fromC, err := hcimport.NewClient(src.srv.URL, vitalsKey, hcimport.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	toC, err := hcimport.NewClient(dst.srv.URL, vitalsKey, hcimport.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cmap := map[string]string{"chat": "team-chat"}
	p, err := hcimport.Load(ctx, fromC, toC, cmap)
	if err != nil {
		t.Fatal(err)
	}
	r := hcimport.Apply(ctx, toC, p, nil)
	if r.Created != len(bodies)-1 || len(r.Skipped) != 1 || !r.OK() ||
		r.Skipped[0].Reason != "the watchdog's config file owns it; change it there (differs in grace, name, tags)" {
		t.Fatalf("import: %+v", r)
	}
	if len(p.Unmapped) != 1 || p.Unmapped[0].Name != "pager" || !reflect.DeepEqual(p.Unmapped[0].Checks, []string{"mail", "report"}) {
		t.Errorf("unmapped: %+v", p.Unmapped)
	}

	// Every field the import keeps is the source's; channels by name.
	srcChecks, dstChecks := src.checks(t), dst.checks(t)
	byUUID := map[any]map[string]any{}
	for _, d := range dstChecks {
		byUUID[d["uuid"]] = d
	}
	kept := []string{"name", "slug", "tags", "desc", "grace", "timeout", "schedule", "tz", "manual_resume", "methods",
		"start_kw", "success_kw", "failure_kw", "filter_subject", "filter_body", "filter_http_body", "filter_default_fail",
		"unique_key", "status", "kind", "source"}
	// By name and tags: "*" (mail) was every channel of the source, pager
	// has no counterpart.
	wantChannels := map[string]string{"backup prod db": "chat,ops", "report ": "", "mail ": "chat,ops", "paused ": "", "backup staging": ""}
	dstNames := map[string]string{}
	var out struct{ Channels []hcimport.Channel }
	dst.call(t, "GET", "channels/", nil, &out)
	for _, c := range out.Channels {
		dstNames[c.ID] = map[string]string{"team-chat": "chat"}[c.Name]
		if dstNames[c.ID] == "" {
			dstNames[c.ID] = c.Name
		}
	}
	for _, s := range srcChecks {
		d, ok := byUUID[s["uuid"]]
		if !ok {
			t.Errorf("%v: not imported", s["name"])
			continue
		}
		if s["uuid"] == ids[4] {
			continue // the config's
		}
		for _, f := range kept {
			if !reflect.DeepEqual(s[f], d[f]) {
				t.Errorf("%v: %s = %v, source %v", s["name"], f, d[f], s[f])
			}
		}
		var names []string
		for _, id := range strings.Split(d["channels"].(string), ",") {
			if id != "" {
				names = append(names, dstNames[id])
			}
		}
		want, ok := wantChannels[s["name"].(string)+" "+s["tags"].(string)]
		if got := strings.Join(slices.Sorted(slices.Values(names)), ","); !ok || got != want {
			t.Errorf("%v: channels %s, want %s", s["name"], got, want)
		}
	}

	// The second run changes nothing.
	if p, err = hcimport.Load(ctx, fromC, toC, cmap); err != nil {
		t.Fatal(err)
	}
	if n := p.Count(hcimport.OpUnchanged); n != len(bodies)-1 || p.Count(hcimport.OpSkip) != 1 {
		var b strings.Builder
		hcimport.PrintPlan(&b, p)
		t.Fatalf("second run:\n%s", b.String())
	}
	if r := hcimport.Apply(ctx, toC, p, nil); r.Unchanged != len(bodies)-1 || !r.OK() {
		t.Errorf("second run: %+v", r)
	}

	// Every ping URL of the source works on the destination: same path,
	// other host.
	for _, s := range srcChecks {
		u, err := url.Parse(s["ping_url"].(string))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(dst.srv.URL+u.Path, "text/plain", strings.NewReader("moved"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%v: ping on the destination: %d", s["name"], resp.StatusCode)
		}
	}
	for _, d := range dst.checks(t) {
		if d["n_pings"] != float64(1) {
			t.Errorf("%v: n_pings %v after its ping", d["name"], d["n_pings"])
		}
	}
}

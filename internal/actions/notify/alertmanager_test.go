package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/testenv"
	"go.yaml.in/yaml/v3"
)

// amReceiver is an Alertmanager-shaped receiver: it records every POST to
// /api/v2/alerts and answers status.
type amReceiver struct {
	t      *testing.T
	mu     sync.Mutex
	status int
	posts  []amPost
}

type amPost struct {
	auth   string
	alerts []AlertmanagerAlert
}

func (r *amReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/api/v2/alerts") || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("%s %s (%s), want POST …/api/v2/alerts as JSON", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	var alerts []AlertmanagerAlert
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&alerts); err != nil {
		r.t.Errorf("body: %v", err)
	}
	r.mu.Lock()
	r.posts = append(r.posts, amPost{auth: req.Header.Get("Authorization"), alerts: alerts})
	status := r.status
	r.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	io.WriteString(w, http.StatusText(status))
}

// take returns the posts received since the last call.
func (r *amReceiver) take() []amPost {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.posts
	r.posts = nil
	return p
}

func (r *amReceiver) setStatus(s int) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

// handlerTransport serves requests with a handler in memory, so that
// synctest's fake clock can drive the resend loop (no socket in the bubble).
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

func newAM(t *testing.T, c AlertmanagerConfig, d Deps) *Alertmanager {
	t.Helper()
	a, err := NewAlertmanager(c, d)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAlertmanagerSend(t *testing.T) {
	rec := &amReceiver{t: t}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	link := "https://vitals.example.com/checks/" + testCheck.UniqueKey()
	a := newAM(t, AlertmanagerConfig{URL: srv.URL + "/am/", BearerToken: "tok", Labels: map[string]string{"team": "ops"}},
		Deps{CheckURL: func(model.CheckID) string { return link }})
	now := testTime.Add(time.Second)
	a.now = func() time.Time { return now }

	down := testNotification("am")
	down.Kind = model.KindPush
	down.Tags = []string{"prod", "db", "prod"}
	if err := a.Send(context.Background(), down); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"alertname": "VitalsCheckDown", "check": down.Check, "unique_key": testCheck.UniqueKey(),
		"tags": ",db,prod,", "kind": "push", "status": "down", "team": "ops"}
	want := AlertmanagerAlert{Labels: labels,
		Annotations: map[string]string{"summary": `"api <prod> & co" is DOWN`, "description": down.Reason, "link": link},
		StartsAt:    testTime, EndsAt: now.Add(4 * time.Minute), GeneratorURL: link}
	posts := rec.take()
	if len(posts) != 1 || posts[0].auth != "Bearer tok" || len(posts[0].alerts) != 1 {
		t.Fatalf("posts %+v", posts)
	}
	assertAlert(t, posts[0].alerts[0], want)

	up := down
	up.Event, up.State, up.Previous, up.Reason, up.Time = EventUp, model.StatusUp, model.StatusDown, "success", testTime.Add(time.Hour)
	if err := a.Send(context.Background(), up); err != nil {
		t.Fatal(err)
	}
	want.Annotations = map[string]string{"summary": `"api <prod> & co" is UP`, "description": "success", "link": link}
	want.EndsAt = up.Time
	posts = rec.take()
	if len(posts) != 1 || len(posts[0].alerts) != 1 {
		t.Fatalf("posts %+v", posts)
	}
	assertAlert(t, posts[0].alerts[0], want) // same labels, startsAt of the outage, endsAt the up flip
	if len(a.active) != 0 {
		t.Fatalf("still active after recovery: %v", a.active)
	}

	// Without a link, no link annotation and no generatorURL; basic auth.
	b := newAM(t, AlertmanagerConfig{URL: srv.URL, BasicAuth: &BasicAuth{Username: "u", Password: "p"}, AlertName: "Custom"}, Deps{})
	if err := b.Send(context.Background(), testNotification("am")); err != nil {
		t.Fatal(err)
	}
	posts = rec.take()
	got := posts[0].alerts[0]
	if posts[0].auth != "Basic dTpw" || got.GeneratorURL != "" || got.Annotations["link"] != "" || got.Labels["alertname"] != "Custom" || got.Labels["kind"] != "" {
		t.Fatalf("post %+v", posts[0])
	}
}

func assertAlert(t *testing.T, got, want AlertmanagerAlert) {
	t.Helper()
	if !maps.Equal(got.Labels, want.Labels) || !maps.Equal(got.Annotations, want.Annotations) || !got.StartsAt.Equal(want.StartsAt) ||
		!got.EndsAt.Equal(want.EndsAt) || got.GeneratorURL != want.GeneratorURL {
		t.Fatalf("alert\n got %+v\nwant %+v", got, want)
	}
}

// A check going from down to flapping is another alert (the status label):
// the down one is resolved in the same request. A recovery from flapping
// resolves the flapping one.
func TestAlertmanagerStatusChange(t *testing.T) {
	rec := &amReceiver{t: t}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	a := newAM(t, AlertmanagerConfig{URL: srv.URL}, Deps{})
	n := testNotification("am")
	if err := a.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	n.Event, n.State, n.Previous = EventFlapping, model.StatusFlapping, model.StatusDown
	if err := a.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	n.Event, n.State, n.Previous = EventUp, model.StatusUp, model.StatusFlapping
	if err := a.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range rec.take() {
		var s []string
		for _, al := range p.alerts {
			s = append(s, al.Labels["status"]+map[bool]string{true: " resolved", false: " firing"}[!al.EndsAt.After(time.Now())])
		}
		got = append(got, strings.Join(s, "+"))
	}
	if strings.Join(got, " | ") != "down firing | flapping firing+down resolved | flapping resolved" {
		t.Fatalf("posts: %v", got)
	}
}

// Several Alertmanagers: each gets every alert; delivery counts when one
// accepted (the others are logged); when all fail the error is retried
// unless every one failed for good.
func TestAlertmanagerSeveral(t *testing.T) {
	recs := []*amReceiver{{t: t}, {t: t}}
	var urls []string
	for _, r := range recs {
		s := httptest.NewServer(r)
		defer s.Close()
		urls = append(urls, s.URL)
	}
	logs := &testenv.LogBuffer{}
	a := newAM(t, AlertmanagerConfig{URLs: urls}, Deps{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	for _, tc := range []struct {
		status        [2]int
		wantErr, perm bool
	}{
		{[2]int{200, 200}, false, false},
		{[2]int{200, 503}, false, false},
		{[2]int{503, 503}, true, false},
		{[2]int{400, 400}, true, true},
		{[2]int{400, 503}, true, false},
	} {
		recs[0].setStatus(tc.status[0])
		recs[1].setStatus(tc.status[1])
		err := a.Send(context.Background(), testNotification("am"))
		if (err != nil) != tc.wantErr || errors.Is(err, ErrPermanent) != tc.perm {
			t.Errorf("%v: err %v, want error %v, permanent %v", tc.status, err, tc.wantErr, tc.perm)
		}
		for i, r := range recs {
			if p := r.take(); len(p) != 1 {
				t.Errorf("%v: alertmanager %d got %d posts", tc.status, i, len(p))
			}
		}
	}
	if !strings.Contains(logs.String(), "503 Service Unavailable") {
		t.Errorf("the failure of one of two is not logged: %s", logs.String())
	}
}

// Neither the password, the token nor a URL's user info reaches an error
// or the log.
func TestAlertmanagerSecrets(t *testing.T) {
	rec := &amReceiver{t: t, status: http.StatusUnauthorized}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // connection refused
	withUser := strings.Replace(dead.URL, "http://", "http://admin:s3cr3t-userinfo@", 1) + "/s3cr3t-path"
	for _, c := range []AlertmanagerConfig{
		{URLs: []string{srv.URL, withUser}, BasicAuth: &BasicAuth{Username: "u", Password: "s3cr3t-password"}},
		{URLs: []string{withUser, srv.URL}, BearerToken: "s3cr3t-token"},
	} {
		logs := &testenv.LogBuffer{}
		down := model.CheckState{Check: model.Check{ID: testCheck, Name: "api"}, State: model.State{Status: model.StatusDown}}
		a := newAM(t, c, Deps{Logger: slog.New(slog.NewTextHandler(logs, nil)), Firing: func() []model.CheckState { return []model.CheckState{down} }})
		err := a.Send(context.Background(), testNotification("am"))
		if err == nil {
			t.Fatal("no error")
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); a.Run(ctx) }() // its first round logs its failure
		waitUntil(t, "resend logged", func() bool { return strings.Contains(logs.String(), "resend failed") })
		cancel()
		<-done
		if s := err.Error() + logs.String(); strings.Contains(s, "s3cr3t") {
			t.Fatalf("a secret leaked: %s", s)
		}
	}
}

// Run re-sends the firing alerts every Resend with endsAt 4 periods ahead:
// at once at start (the checks already down, after a restart), then each
// period; an alert no longer firing is resolved once, then left out.
func TestAlertmanagerResend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &amReceiver{t: t}
		var mu sync.Mutex
		firing := map[model.CheckID]model.CheckState{}
		set := func(cs model.CheckState, on bool) {
			mu.Lock()
			defer mu.Unlock()
			if on {
				firing[cs.Check.ID] = cs
			} else {
				delete(firing, cs.Check.ID)
			}
		}
		a := newAM(t, AlertmanagerConfig{URL: "http://am:9093"}, Deps{
			HTTPClient: &http.Client{Transport: handlerTransport{rec}}, Logger: slog.New(slog.DiscardHandler),
			Firing: func() []model.CheckState {
				mu.Lock()
				defer mu.Unlock()
				return slices.Collect(maps.Values(firing))
			},
		})
		start := time.Now()
		checkA := model.CheckState{Check: model.Check{ID: model.CheckID{1}, Name: "a", Kind: model.KindPull, Tags: []string{"t"}},
			State: model.State{Status: model.StatusDown, Since: start.Add(-time.Hour), LastError: "refused"}}
		set(checkA, true)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); a.Run(ctx) }()

		// round summarises the posts since the last call: "name status
		// endsAt-in" per alert.
		round := func() string {
			synctest.Wait()
			var s []string
			for _, p := range rec.take() {
				for _, al := range p.alerts {
					s = append(s, al.Labels["check"]+" "+al.Labels["status"]+" "+time.Until(al.EndsAt).String())
				}
			}
			return strings.Join(s, ", ")
		}
		if got := round(); got != "a down 4m0s" {
			t.Fatalf("first round at start: %q", got)
		}
		time.Sleep(time.Minute)
		if got := round(); got != "a down 4m0s" {
			t.Fatalf("a minute later: %q", got)
		}

		// B goes down: Send posts it, the next round re-sends both.
		b := testNotification("am")
		b.Time = time.Now()
		set(model.CheckState{Check: model.Check{ID: b.CheckID, Name: b.Check, Tags: b.Tags}, State: model.State{Status: model.StatusDown, Since: b.Time}}, true)
		if err := a.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if got := round(); got != b.Check+" down 4m0s" {
			t.Fatalf("send: %q", got)
		}
		time.Sleep(30 * time.Second)
		if got := round(); got != "" {
			t.Fatalf("between rounds: %q", got)
		}
		time.Sleep(30 * time.Second)
		if got := round(); got != "a down 4m0s, "+b.Check+" down 4m0s" {
			t.Fatalf("second minute: %q", got)
		}
		for _, p := range a.active {
			if p.Labels["check"] == b.Check && (p.Annotations["description"] != b.Reason || !p.StartsAt.Equal(b.Time)) {
				t.Errorf("the resent alert lost the down flip's reason or start: %+v", p)
			}
		}

		// A recovers without a recovery routed here (or is deleted): the
		// round resolves it once. B recovers: Send resolves it.
		set(checkA, false)
		time.Sleep(time.Minute)
		if got := round(); got != "a down 0s, "+b.Check+" down 4m0s" {
			t.Fatalf("a gone: %q", got)
		}
		set(model.CheckState{Check: model.Check{ID: b.CheckID}}, false)
		b.Event, b.State, b.Previous, b.Time = EventUp, model.StatusUp, model.StatusDown, time.Now()
		if err := a.Send(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if got := round(); got != b.Check+" down 0s" {
			t.Fatalf("b up: %q", got)
		}
		time.Sleep(time.Minute)
		if got := round(); got != "" {
			t.Fatalf("nothing firing: %q", got)
		}

		// An Alertmanager that was down gets everything at the next round.
		set(checkA, true)
		rec.setStatus(http.StatusServiceUnavailable)
		time.Sleep(time.Minute)
		if got := round(); got != "a down 4m0s" {
			t.Fatalf("failed round: %q", got)
		}
		rec.setStatus(http.StatusOK)
		time.Sleep(time.Minute)
		if got := round(); got != "a down 4m0s" {
			t.Fatalf("round after the failure: %q", got)
		}
		cancel()
		<-done
	})
}

// Without Deps.Firing (no daemon), Run re-sends what Send posted.
func TestAlertmanagerResendFromMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &amReceiver{t: t}
		a := newAM(t, AlertmanagerConfig{URL: "http://am:9093", Resend: 10 * time.Second}, Deps{HTTPClient: &http.Client{Transport: handlerTransport{rec}}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); a.Run(ctx) }()
		synctest.Wait()
		if p := rec.take(); len(p) != 0 {
			t.Fatalf("posted with nothing firing: %+v", p)
		}
		n := testNotification("am")
		if err := a.Send(ctx, n); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if p := rec.take(); len(p) != 2 || time.Until(p[1].alerts[0].EndsAt) != 40*time.Second {
			t.Fatalf("posts %+v, want the send and one resend", p)
		}
		n.Event, n.State, n.Previous = EventUp, model.StatusUp, model.StatusDown
		if err := a.Send(ctx, n); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if p := rec.take(); len(p) != 1 {
			t.Fatalf("posts %+v, want only the recovery", p)
		}
		cancel()
		<-done
	})
}

// A "gave up" (or any event that is not a flip) is an alert of its own,
// posted once, that Alertmanager resolves by itself.
func TestAlertmanagerOneShot(t *testing.T) {
	a := newAM(t, AlertmanagerConfig{URL: "http://am"}, Deps{})
	n := testNotification("am")
	n.Event = EventGaveUp
	got := a.AlertsFor(n, testTime)
	if len(got) != 1 || got[0].Labels["status"] != "gave_up" || !got[0].EndsAt.Equal(n.Time.Add(4*time.Minute)) {
		t.Fatalf("%+v", got)
	}
}

func TestJoinTags(t *testing.T) {
	for in, want := range map[string]string{"": "", "a": ",a,", "b,a,b": ",a,b,"} {
		var tags []string
		if in != "" {
			tags = strings.Split(in, ",")
		}
		if got := JoinTags(tags); got != want {
			t.Errorf("JoinTags(%q) = %q, want %q", in, got, want)
		}
	}
}

// The config loader decodes the kind's YAML strictly: durations are Go
// duration strings, basic_auth a mapping.
func TestAlertmanagerYAML(t *testing.T) {
	src := "urls: [http://am1:9093, http://am2:9093]\nbasic_auth: {username: vitals, password: pw}\nresend: 30s\nalertname: VitalsDown\nlabels: {severity: page}\n"
	spec, err := NewRegistry().Decode("alertmanager", func(v any) error {
		d := yaml.NewDecoder(strings.NewReader(src))
		d.KnownFields(true)
		return d.Decode(v)
	})
	if err != nil {
		t.Fatal(err)
	}
	c := spec.(*AlertmanagerConfig)
	if c.Resend != 30*time.Second || len(c.URLs) != 2 || c.BasicAuth.Password != "pw" || c.AlertName != "VitalsDown" || c.Labels["severity"] != "page" {
		t.Fatalf("decoded %+v", c)
	}
	n, err := c.Build(Deps{})
	if err != nil || n.(*Alertmanager).Resend() != 30*time.Second {
		t.Fatalf("build: %v", err)
	}
}

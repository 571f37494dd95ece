package amtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/google/uuid"
	"github.com/prometheus/alertmanager/api"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/config/receiver"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/inhibit"
	"github.com/prometheus/alertmanager/labelset"
	"github.com/prometheus/alertmanager/nflog"
	amnotify "github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/alertmanager/silence"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/alertmanager/timeinterval"
	"github.com/prometheus/client_golang/prometheus"
	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/common/route"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

var quiet = slog.New(slog.DiscardHandler)

// postableFields are the members of Alertmanager's postableAlert.
var postableFields = []string{"labels", "annotations", "startsAt", "endsAt", "generatorURL"}

// validating wraps next (or a 200 answer when nil) with the check of every
// POST /api/v2/alerts body against Alertmanager's API v2 models: decoded
// into models.PostableAlerts and validated with strfmt.Default; no member
// the model does not know; labels and times as Vitals meant them. It
// counts the alerts it checked.
type validating struct {
	t    *testing.T
	next http.Handler

	mu     sync.Mutex
	alerts int
}

func (v *validating) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/api/v2/alerts") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			v.t.Errorf("read: %v", err)
		}
		v.check(body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if v.next == nil {
		return
	}
	v.next.ServeHTTP(w, r)
}

func (v *validating) check(body []byte) {
	t := v.t
	var pa models.PostableAlerts
	if err := json.Unmarshal(body, &pa); err != nil {
		t.Errorf("not models.PostableAlerts: %v\n%s", err, body)
		return
	}
	if err := pa.Validate(strfmt.Default); err != nil {
		t.Errorf("models.PostableAlerts.Validate: %v\n%s", err, body)
	}
	var raw []map[string]json.RawMessage
	var ours []notify.AlertmanagerAlert
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Error(err)
	}
	if err := json.Unmarshal(body, &ours); err != nil {
		t.Error(err)
	}
	if len(pa) != len(ours) || len(pa) == 0 {
		t.Errorf("%d alerts decoded by the model, %d posted", len(pa), len(ours))
		return
	}
	for i, a := range pa {
		for k := range raw[i] {
			if !slices.Contains(postableFields, k) {
				t.Errorf("alert %d: member %q is not in postableAlert", i, k)
			}
		}
		if !maps.Equal(map[string]string(a.Labels), ours[i].Labels) || !maps.Equal(map[string]string(a.Annotations), ours[i].Annotations) {
			t.Errorf("alert %d: the model read %v %v, Vitals posted %v %v", i, a.Labels, a.Annotations, ours[i].Labels, ours[i].Annotations)
		}
		if !time.Time(a.StartsAt).Equal(ours[i].StartsAt) || !time.Time(a.EndsAt).Equal(ours[i].EndsAt) || a.GeneratorURL.String() != ours[i].GeneratorURL {
			t.Errorf("alert %d: the model read %v–%v %q, Vitals posted %v–%v %q", i, a.StartsAt, a.EndsAt, a.GeneratorURL, ours[i].StartsAt, ours[i].EndsAt, ours[i].GeneratorURL)
		}
		if ours[i].StartsAt.IsZero() || ours[i].EndsAt.Before(ours[i].StartsAt) {
			t.Errorf("alert %d: startsAt %v, endsAt %v", i, ours[i].StartsAt, ours[i].EndsAt)
		}
		for _, k := range []string{"alertname", "check", "unique_key", "status"} {
			if a.Labels[k] == "" {
				t.Errorf("alert %d: no %s label: %v", i, k, a.Labels)
			}
		}
		for k := range a.Labels {
			if !pmodel.LegacyValidation.IsValidLabelName(k) {
				t.Errorf("alert %d: label name %q", i, k)
			}
		}
	}
	v.mu.Lock()
	v.alerts += len(pa)
	v.mu.Unlock()
}

func (v *validating) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.alerts
}

func check(i int, name string, tags ...string) model.Check {
	return model.Check{ID: model.CheckID(uuid.NewSHA1(uuid.NameSpaceURL, fmt.Appendf(nil, "amtest/%d", i))), Name: name, Tags: tags, Kind: model.KindPush}
}

// flip returns the notification of c's flip from → to at t.
func flip(c model.Check, from, to model.Status, reason string, t time.Time) notify.Notification {
	n := notify.FromTransition(c, model.Flip{ID: uuid.New(), CheckID: c.ID, From: from, To: to, Reason: reason, Time: t})
	n.Channel = "am"
	n.Key = notify.Key(c.ID, n.FlipID, n.Channel)
	return n
}

func linkTo(id model.CheckID) string { return "https://vitals.example.com/checks/" + id.UniqueKey() }

// Every kind of payload Vitals posts (down, flapping with the down
// resolved, up, gave up, resends and their resolutions, odd names and
// tags, static labels, with and without a link) is a valid
// models.PostableAlerts.
func TestPayloadsValidate(t *testing.T) {
	v := &validating{t: t}
	srv := httptest.NewServer(v)
	defer srv.Close()
	odd := []model.Check{
		check(1, "api", "prod", "db"),
		check(2, `quotes "and" \backslashes\ & <html>`),
		check(3, "ünïcødé ✓ 日本語", "tag with spaces", "a,comma", "é"),
		check(4, "line\nbreak\ttab"),
		check(5, strings.Repeat("long name ", 20), "t1", "t2", "t3", "t4", "t5"),
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, withLink := range []bool{true, false} {
		d := notify.Deps{Logger: quiet}
		if withLink {
			d.CheckURL = linkTo
		}
		a, err := notify.NewAlertmanager(notify.AlertmanagerConfig{URL: srv.URL, Labels: map[string]string{"team": "ops", "severity": "page", "env": "prod ✓"}}, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range odd {
			var steps []notify.Notification
			steps = append(steps,
				flip(c, model.StatusUp, model.StatusDown, "3 consecutive failures: dial tcp 127.0.0.1:1: connect: connection refused", now),
				flip(c, model.StatusDown, model.StatusFlapping, "flapping: 6 changes in 10 results", now.Add(time.Minute)),
				flip(c, model.StatusFlapping, model.StatusUp, "", now.Add(2*time.Minute)),
			)
			g := flip(c, model.StatusUp, model.StatusDown, "gave up", now)
			g.Event, g.Suppressed = notify.EventGaveUp, []string{"child-1", "child ✓"}
			steps = append(steps, g)
			for _, n := range steps {
				if err := a.Send(context.Background(), n); err != nil {
					t.Fatalf("%s %s: %v", c.Name, n.Event, err)
				}
			}
		}
	}
	// Resend rounds: the firing list, then an empty one (all resolved).
	var mu sync.Mutex
	firing := []model.CheckState{}
	for i, c := range odd {
		firing = append(firing, model.CheckState{Check: c, State: model.State{Status: []model.Status{model.StatusDown, model.StatusFlapping}[i%2], Since: now, LastError: "timeout"}})
	}
	a, err := notify.NewAlertmanager(notify.AlertmanagerConfig{URL: srv.URL, Resend: time.Second}, notify.Deps{Logger: quiet, CheckURL: linkTo,
		Firing: func() []model.CheckState { mu.Lock(); defer mu.Unlock(); return firing }})
	if err != nil {
		t.Fatal(err)
	}
	before := v.count()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	waitUntil(t, "first resend round", func() bool { return v.count() >= before+len(odd) })
	mu.Lock()
	firing = nil
	mu.Unlock()
	waitUntil(t, "the round that resolves them", func() bool { return v.count() >= before+2*len(odd) })
	cancel()
	<-done
	t.Logf("%d alerts validated", v.count())
}

// amInstance is an Alertmanager assembled in-process as app/app.go and
// app/reloader.go do: the in-memory alert store, silences, the
// notification log, the inhibitor, the notification pipeline, the
// dispatcher and the API v2, served on loopback.
type amInstance struct {
	URL    string
	srv    *httptest.Server
	alerts *mem.Alerts
	inhib  *inhibit.Inhibitor
	disp   *dispatch.Dispatcher
}

func startAlertmanager(t *testing.T, confYAML string, front func(http.Handler) http.Handler) *amInstance {
	t.Helper()
	conf, err := config.Load(confYAML)
	if err != nil {
		t.Fatalf("alertmanager config: %v", err)
	}
	reg := prometheus.NewRegistry()
	ff := featurecontrol.NoopFlags{}
	rec := eventrecorder.NopRecorder()
	dir := t.TempDir()

	silences, err := silence.New(silence.Options{SnapshotFile: dir + "/silences", Logger: quiet, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	silencer := silence.NewSilencer(silences, quiet, rec)
	nflogger, err := nflog.New(nflog.Options{SnapshotFile: dir + "/nflog", Logger: quiet, Metrics: reg, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := mem.NewAlerts(context.Background(), 30*time.Minute, 0, silencer, quiet, rec, reg, ff)
	if err != nil {
		t.Fatal(err)
	}
	am := &amInstance{alerts: alerts}

	tmpl, err := template.FromGlobs(conf.Templates)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.ExternalURL, _ = url.Parse("http://alertmanager.invalid")
	routes := dispatch.NewRoute(conf.Route, nil)
	receivers := map[string][]amnotify.Integration{}
	for _, rcv := range conf.Receivers {
		ints, err := receiver.BuildReceiverIntegrations(rcv, tmpl, quiet)
		if err != nil {
			t.Fatal(err)
		}
		receivers[rcv.Name] = ints
	}
	intervener := timeinterval.NewIntervener(nil)
	am.inhib = inhibit.NewInhibitor(alerts, conf.InhibitRules, quiet, rec)
	pipeline := amnotify.NewPipelineBuilder(reg, ff, rec).New(receivers, func() time.Duration { return 0 }, am.inhib, silencer, intervener, nflogger, nil)
	am.disp = dispatch.NewDispatcher(alerts, routes, pipeline, intervener, func(d time.Duration) time.Duration { return max(d, amnotify.MinTimeout) },
		time.Minute, nil, quiet, rec, dispatch.NewDispatcherMetrics(false, reg, ff), tmpl)

	apih, err := api.New(api.Options{
		Alerts: alerts, Silences: silences, Logger: quiet, Registry: reg, Timeout: 10 * time.Second,
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "alertmanager_http_request_duration_seconds"}, []string{"handler", "method", "code"}),
		GroupFunc: func(ctx context.Context, rf func(*dispatch.Route) bool, af dispatch.AlertFilter) (dispatch.AlertGroups, map[pmodel.Fingerprint][]string, error) {
			return am.disp.Groups(ctx, rf, af)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	apih.Update(conf, func(ctx context.Context, ls labelset.LabelSet) {
		am.inhib.Mutes(ctx, ls)
		silencer.Mutes(ctx, ls)
	})
	go am.inhib.Run()
	am.inhib.WaitForLoading()
	go am.disp.Run(time.Now())
	am.disp.WaitForLoading()

	mux := apih.Register(route.New(), "/")
	var h http.Handler = mux
	if front != nil {
		h = front(mux)
	}
	am.srv = httptest.NewServer(h)
	am.URL = am.srv.URL
	t.Cleanup(func() {
		am.srv.Close()
		apih.Shutdown()
		am.disp.Stop()
		am.inhib.Stop()
		am.alerts.Close()
	})
	return am
}

// hookReceiver is the webhook receiver Alertmanager notifies: it keeps
// every message (Alertmanager's webhook.Message).
type hookReceiver struct {
	t    *testing.T
	mu   sync.Mutex
	msgs []webhook.Message
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m webhook.Message
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m); err != nil {
		h.t.Errorf("webhook body: %v", err)
		return
	}
	h.mu.Lock()
	h.msgs = append(h.msgs, m)
	h.mu.Unlock()
}

// find returns the first message received that satisfies ok.
func (h *hookReceiver) find(ok func(webhook.Message) bool) (webhook.Message, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.msgs {
		if ok(m) {
			return m, true
		}
	}
	return webhook.Message{}, false
}

// alertsIn returns the check label of m's alerts with status st, sorted.
func alertsIn(m webhook.Message, st string) []string {
	var out []string
	for _, a := range m.Alerts {
		if a.Status == st {
			out = append(out, a.Labels["check"])
		}
	}
	slices.Sort(out)
	return out
}

// A real Alertmanager routes Vitals' alerts to a webhook: three checks
// going down arrive grouped by alertname in one notification, with the
// labels and annotations Vitals set; their recoveries resolve them. Then,
// as after a restart of Vitals, a new notifier's first resend round posts
// the check still down, and the round after it went away resolves it.
func TestInProcessAlertmanager(t *testing.T) {
	hook := &hookReceiver{t: t}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	v := &validating{t: t}
	am := startAlertmanager(t, fmt.Sprintf(`
route:
  receiver: vitals-hook
  group_by: [alertname]
  group_wait: 200ms
  group_interval: 200ms
  repeat_interval: 1h
receivers:
- name: vitals-hook
  webhook_configs:
  - url: %s/hook
    send_resolved: true
`, hookSrv.URL), func(next http.Handler) http.Handler { v.next = next; return v })

	a, err := notify.NewAlertmanager(notify.AlertmanagerConfig{URL: am.URL, Labels: map[string]string{"team": "ops"}}, notify.Deps{Logger: quiet, CheckURL: linkTo})
	if err != nil {
		t.Fatal(err)
	}
	checks := []model.Check{check(1, "api", "prod"), check(2, "db", "prod", "storage"), check(3, "queue ✓")}
	t0 := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	for _, c := range checks {
		if err := a.Send(context.Background(), flip(c, model.StatusUp, model.StatusDown, "connection refused", t0)); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"api", "db", "queue ✓"}
	var firing webhook.Message
	waitUntil(t, "the grouped notification", func() bool {
		var ok bool
		firing, ok = hook.find(func(m webhook.Message) bool { return slices.Equal(alertsIn(m, "firing"), names) })
		return ok
	})
	if firing.Receiver != "vitals-hook" || firing.GroupLabels["alertname"] != notify.DefaultAlertName || firing.CommonLabels["team"] != "ops" {
		t.Errorf("group: receiver %q, group labels %v, common labels %v", firing.Receiver, firing.GroupLabels, firing.CommonLabels)
	}
	for _, al := range firing.Alerts {
		c := checks[slices.Index(names, al.Labels["check"])]
		want := map[string]string{"alertname": notify.DefaultAlertName, "check": c.Name, "unique_key": c.ID.UniqueKey(), "kind": "push", "status": "down", "team": "ops"}
		if tags := notify.JoinTags(c.Tags); tags != "" {
			want["tags"] = tags
		}
		if !maps.Equal(map[string]string(al.Labels), want) || al.Annotations["description"] != "connection refused" ||
			al.Annotations["summary"] != fmt.Sprintf("%q is DOWN", c.Name) || al.GeneratorURL != linkTo(c.ID) || !al.StartsAt.Equal(t0) {
			t.Errorf("alert as Alertmanager notified it: %+v", al)
		}
	}

	// Alertmanager's own API lists them, active.
	resp, err := http.Get(am.URL + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	var listed models.GettableAlerts
	if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(listed) != 3 || listed[0].Status == nil || *listed[0].Status.State != "active" {
		t.Fatalf("GET /api/v2/alerts: %d alerts, first %+v", len(listed), listed[0])
	}

	t1 := time.Now().UTC().Truncate(time.Millisecond)
	for _, c := range checks {
		if err := a.Send(context.Background(), flip(c, model.StatusDown, model.StatusUp, "success", t1)); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the resolved notification", func() bool {
		_, ok := hook.find(func(m webhook.Message) bool {
			return m.Status == "resolved" && slices.Equal(alertsIn(m, "resolved"), names)
		})
		return ok
	})

	// A restart: a new notifier knows nothing but what Firing lists.
	var mu sync.Mutex
	still := []model.CheckState{{Check: checks[0], State: model.State{Status: model.StatusDown, Since: t1, LastError: "timeout"}}}
	b, err := notify.NewAlertmanager(notify.AlertmanagerConfig{URL: am.URL, Resend: time.Second}, notify.Deps{Logger: quiet, CheckURL: linkTo,
		Firing: func() []model.CheckState { mu.Lock(); defer mu.Unlock(); return still }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	isAgain := func(st string) func(webhook.Message) bool {
		return func(m webhook.Message) bool {
			return len(m.Alerts) == 1 && m.Alerts[0].Status == st && m.Alerts[0].StartsAt.Equal(t1) && m.Alerts[0].Labels["check"] == "api"
		}
	}
	waitUntil(t, "the re-sent alert notified", func() bool { _, ok := hook.find(isAgain("firing")); return ok })
	mu.Lock()
	still = nil
	mu.Unlock()
	waitUntil(t, "its resolution", func() bool { _, ok := hook.find(isAgain("resolved")); return ok })
	if v.count() == 0 {
		t.Fatal("no payload validated")
	}
	hook.mu.Lock()
	t.Logf("%d alerts validated, %d notifications received", v.count(), len(hook.msgs))
	hook.mu.Unlock()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vitals-go/vitals/internal/actions/notify/pagertest"
	"github.com/vitals-go/vitals/internal/model"
)

// The pager kinds' keys in these tests: 32 characters, like PagerDuty's.
const (
	testRoutingKey = "R0UT1NGK3Y0123456789abcdefABCDEF"
	testGenieKey   = "G3N1EK3Y-eb24-3592-faa2-4ba2a551"
)

// pagerKind is one pager notifier kind under test, with its receiver.
type pagerKind struct {
	name string
	key  string
	// receiver starts a local receiver checking the provider's schema.
	receiver func(t *testing.T) *pagertest.Receiver
	// build returns the notifier for the receiver at url.
	build func(t *testing.T, url string, d Deps) Notifier
	// level is the severity (priority) a trigger was sent with.
	level func(c pagertest.Call) string
	// down, flapping: the default levels.
	down, flapping string
}

var pagerKinds = []pagerKind{
	{
		name: "pagerduty", key: testRoutingKey,
		receiver: func(t *testing.T) *pagertest.Receiver { return pagertest.NewPagerDuty(t, testRoutingKey) },
		build: func(t *testing.T, url string, d Deps) Notifier {
			return mustBuild(t, &PagerDutyConfig{RoutingKey: testRoutingKey, URL: url}, d)
		},
		level: func(c pagertest.Call) string { return c.Body["payload"].(map[string]any)["severity"].(string) },
		down:  "critical", flapping: "warning",
	},
	{
		name: "opsgenie", key: testGenieKey,
		receiver: func(t *testing.T) *pagertest.Receiver { return pagertest.NewOpsgenie(t, testGenieKey) },
		build: func(t *testing.T, url string, d Deps) Notifier {
			return mustBuild(t, &OpsgenieConfig{APIKey: testGenieKey, URL: url}, d)
		},
		level: func(c pagertest.Call) string { return c.Body["priority"].(string) },
		down:  "P3", flapping: "P4",
	},
}

func mustBuild(t testing.TB, s Spec, d Deps) Notifier {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := s.Build(d)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func forEachPager(t *testing.T, f func(t *testing.T, k pagerKind)) {
	for _, k := range pagerKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

// event returns testNotification as event at time at.
func event(ev string, at time.Time) Notification {
	n := testNotification("pager")
	n.Event, n.Time = ev, at
	switch ev {
	case EventUp:
		n.State, n.Previous, n.Reason = model.StatusUp, model.StatusDown, "ping received"
	case EventFlapping:
		n.State, n.Previous = model.StatusFlapping, model.StatusUp
	}
	return n
}

func linkDeps() Deps {
	return Deps{CheckURL: func(id model.CheckID) string { return "https://vitals.example.com/status/checks/" + id.UniqueKey() }}
}

// A check's down opens the pager's incident, flapping adds to it, up
// resolves it, all with the check's unique key; gave_up opens its own.
// Every request passes the provider's schema.
func TestPagersFollowTheCheck(t *testing.T) {
	forEachPager(t, func(t *testing.T, k pagerKind) {
		rcv := k.receiver(t)
		p := k.build(t, rcv.URL(), linkDeps())
		ctx := context.Background()
		for i, ev := range []string{EventDown, EventFlapping, EventUp, EventGaveUp} {
			if err := p.Send(ctx, event(ev, testTime.Add(time.Duration(i)*time.Minute))); err != nil {
				t.Fatalf("%s: %v", ev, err)
			}
		}
		calls := rcv.Calls()
		if len(calls) != 4 {
			t.Fatalf("%d calls, want 4", len(calls))
		}
		uk := testCheck.UniqueKey()
		for i, want := range []struct{ action, key string }{
			{"trigger", uk}, {"trigger", uk}, {"resolve", uk}, {"trigger", uk + ":gave_up"},
		} {
			if calls[i].Action != want.action || calls[i].Key != want.key {
				t.Errorf("call %d: %s %q, want %s %q", i, calls[i].Action, calls[i].Key, want.action, want.key)
			}
		}
		if l := k.level(calls[0]); l != k.down {
			t.Errorf("down level %q, want %q", l, k.down)
		}
		if l := k.level(calls[1]); l != k.flapping {
			t.Errorf("flapping level %q, want %q", l, k.flapping)
		}
		body := fmt.Sprint(calls[0].Body)
		for _, want := range []string{`"api <prod> & co" is DOWN: 3 consecutive failures: connection refused`,
			"https://vitals.example.com/status/checks/" + uk, "prod", "previous:up"} {
			if !strings.Contains(body, want) {
				t.Errorf("trigger lacks %q: %s", want, body)
			}
		}
		for _, c := range calls {
			if s := fmt.Sprint(c.Body); strings.Contains(s, testCheck.Secret()) {
				t.Errorf("the check's UUID was sent: %s", s)
			}
		}
	})
}

// Names, reasons, tags and lists far over the providers' limits, with
// newlines and invalid UTF-8, are cut to fit.
func TestPagersFitTheLimits(t *testing.T) {
	forEachPager(t, func(t *testing.T, k pagerKind) {
		rcv := k.receiver(t)
		p := k.build(t, rcv.URL(), Deps{CheckURL: func(model.CheckID) string { return "https://x.example/" + strings.Repeat("l", 2000) }})
		n := event(EventDown, testTime)
		n.Check = strings.Repeat("név\n", 1000) + "\xff"
		n.Reason = strings.Repeat("é\ttoo long ", 3000)
		for i := range 40 {
			n.Tags = append(n.Tags, strings.Repeat(fmt.Sprint(i), 60))
			n.Suppressed = append(n.Suppressed, strings.Repeat("child", 30))
		}
		n.Tags = append(n.Tags, "")
		for range 1000 {
			n.Suppressed = append(n.Suppressed, "c")
		}
		for _, ev := range []string{EventDown, EventUp} {
			n.Event = ev
			if err := p.Send(context.Background(), n); err != nil {
				t.Fatalf("%s: %v", ev, err)
			}
		}
		if len(rcv.Calls()) != 2 || len(rcv.Invalid()) > 0 {
			t.Fatalf("calls %d, invalid %v", len(rcv.Calls()), rcv.Invalid())
		}
	})
}

// How each answer is classified: 2xx delivered, 429 and 5xx retried (at
// Retry-After when given), other 4xx permanent; the provider's JSON error
// is quoted on one line.
func TestPagersAnswers(t *testing.T) {
	retry := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	for _, tc := range []struct {
		name       string
		a          pagertest.Answer
		ok, perm   bool
		retryAt    time.Duration // > 0: a RetryAtError about this far
		errHas     string
		wantRetryA bool
	}{
		{name: "200", a: pagertest.Answer{Code: 200, Body: `{"status":"success"}`}, ok: true},
		{name: "400 PagerDuty", a: pagertest.Answer{Code: 400, Body: `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}`},
			perm: true, errHas: "400 Bad Request: invalid event: Event object is invalid: Length of 'routing_key' is incorrect"},
		{name: "422 Opsgenie", a: pagertest.Answer{Code: 422, Body: `{"message":"Request body is not processable","errors":{"message":"Message can not be empty.","alias":"x"},"took":0.1}`},
			perm: true, errHas: "Request body is not processable: alias: x; message: Message can not be empty."},
		{name: "401", a: pagertest.Answer{Code: 401, Body: `{"message":"Could not authenticate"}`}, perm: true, errHas: "Could not authenticate"},
		{name: "404 text", a: pagertest.Answer{Code: 404, Body: "no\nsuch\tthing"}, perm: true, errHas: "no such thing"},
		{name: "429 Retry-After seconds", a: pagertest.Answer{Code: 429, Header: retry("30")}, retryAt: 30 * time.Second},
		{name: "429 no Retry-After", a: pagertest.Answer{Code: 429, Body: `{"status":"throttled"}`}, errHas: "429 Too Many Requests: throttled"},
		{name: "503 Retry-After date", a: pagertest.Answer{Code: 503, Header: retry(time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat))}, retryAt: 2 * time.Minute},
		{name: "500", a: pagertest.Answer{Code: 500, Body: "oops"}, errHas: "500 Internal Server Error: oops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachPager(t, func(t *testing.T, k pagerKind) {
				rcv := k.receiver(t)
				rcv.Then(tc.a)
				err := k.build(t, rcv.URL(), Deps{}).Send(context.Background(), event(EventDown, testTime))
				var ra *RetryAtError
				switch {
				case tc.ok:
					if err != nil {
						t.Fatal(err)
					}
					return
				case err == nil:
					t.Fatal("no error")
				case errors.Is(err, ErrPermanent) != tc.perm:
					t.Fatalf("permanent %v: %v", !tc.perm, err)
				case tc.retryAt > 0 && (!errors.As(err, &ra) || !ra.Failed || time.Until(ra.At) > tc.retryAt+time.Second || time.Until(ra.At) < tc.retryAt-time.Minute):
					t.Fatalf("want a retry in about %v: %v", tc.retryAt, err)
				case tc.retryAt == 0 && errors.As(err, &ra):
					t.Fatalf("unexpected retry time: %v", err)
				case !strings.Contains(err.Error(), tc.errHas):
					t.Fatalf("error %q lacks %q", err, tc.errHas)
				}
			})
		})
	}
}

// The key never reaches an error, even from a receiver (a proxy) that
// echoes the request, or cuts the echo in the middle of the key; nor the
// log or the notifier's printed form.
func TestPagersNeverLeakTheirKey(t *testing.T) {
	forEachPager(t, func(t *testing.T, k pagerKind) {
		var logged bytes.Buffer
		d := Deps{Logger: slog.New(slog.NewTextHandler(&logged, nil))}
		for _, pad := range []int{0, 1, 37, 200, maxErrorBody - 20, maxErrorBody - 5} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var b bytes.Buffer
				b.WriteString(strings.Repeat("x", pad))
				b.WriteString(r.Header.Get("Authorization"))
				b.ReadFrom(r.Body)
				w.WriteHeader([]int{400, 500}[pad%2])
				w.Write(b.Bytes())
			}))
			n := k.build(t, srv.URL+"/v2/enqueue", d)
			err := n.Send(context.Background(), event(EventDown, testTime))
			srv.Close()
			if err == nil || leaks(err.Error(), k.key) {
				t.Errorf("pad %d: %v", pad, err)
			}
		}
		// Refused connections, and the notifier's printed form.
		n := k.build(t, "http://127.0.0.1:1/v2/enqueue", d)
		err := n.Send(context.Background(), event(EventDown, testTime))
		if err == nil || leaks(err.Error(), k.key) || errors.Is(err, ErrPermanent) {
			t.Errorf("refused: %v", err)
		}
		if s := fmt.Sprintf("%v %+v %s", n, n, n); leaks(s, k.key) {
			t.Errorf("printed: %s", s)
		}
		if leaks(logged.String(), k.key) {
			t.Errorf("logged: %s", logged.String())
		}
	})
}

// leaks reports whether s holds key or a piece of it of 8 characters.
func leaks(s, key string) bool {
	for i := 0; i+8 <= len(key); i++ {
		if strings.Contains(s, key[i:i+8]) {
			return true
		}
	}
	return false
}

// A huge or binary answer makes a short, one-line, valid UTF-8 error.
func TestPagersBoundOddAnswers(t *testing.T) {
	for name, body := range map[string][]byte{
		"huge":   bytes.Repeat([]byte("A"), 8<<20),
		"binary": {0xff, 0xfe, 0, 1, 2, '\n', '\r', 0x1b, '[', '3', '1', 'm', 0xc3},
		"json":   []byte(`{"message":"` + strings.Repeat("m", 5000) + `","errors":[1,2]}`),
	} {
		forEachPager(t, func(t *testing.T, k pagerKind) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
				w.Write(body)
			}))
			defer srv.Close()
			err := k.build(t, srv.URL+"/x", Deps{}).Send(context.Background(), event(EventDown, testTime))
			if err == nil || len(err.Error()) > 2*maxErrorBody || strings.ContainsAny(err.Error(), "\n\r\x00\x1b") || !utf8.ValidString(err.Error()) {
				t.Errorf("%s: %d bytes: %q", name, len(fmt.Sprint(err)), err)
			}
		})
	}
}

// A trigger retried after its check recovered (and the resolve went out)
// is not sent: it would reopen the incident; a resolve retried after the
// check went down again is not sent either. gave_up is never superseded.
func TestPagersSkipSupersededEvents(t *testing.T) {
	forEachPager(t, func(t *testing.T, k pagerKind) {
		rcv := k.receiver(t)
		p := k.build(t, rcv.URL(), Deps{Logger: slog.New(slog.DiscardHandler)})
		ctx := context.Background()
		rcv.Then(pagertest.Answer{Code: 429, Header: http.Header{"Retry-After": {"30"}}})
		down := event(EventDown, testTime)
		if err := p.Send(ctx, down); err == nil {
			t.Fatal("429 accepted")
		}
		if err := p.Send(ctx, event(EventUp, testTime.Add(time.Second))); err != nil {
			t.Fatal(err)
		}
		if err := p.Send(ctx, down); err != nil { // the retry, after the resolve
			t.Fatal(err)
		}
		// The engine tells of a newer down flip (Observe): the up
		// notification, retried late, is not sent.
		p.(Observer).Observe(model.Flip{CheckID: testCheck, To: model.StatusDown, Time: testTime.Add(time.Minute)})
		if err := p.Send(ctx, event(EventUp, testTime.Add(time.Second))); err != nil {
			t.Fatal(err)
		}
		if err := p.Send(ctx, event(EventGaveUp, testTime)); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range rcv.Calls() {
			got = append(got, c.Action)
		}
		if strings.Join(got, ",") != "trigger,resolve,trigger" {
			t.Fatalf("sent %v, want the 429'd trigger, the resolve and gave_up's trigger", got)
		}
	})
}

// Events a pager has no action for fail at once, saying so.
func TestPagersRefuseOtherEvents(t *testing.T) {
	forEachPager(t, func(t *testing.T, k pagerKind) {
		rcv := k.receiver(t)
		err := k.build(t, rcv.URL(), Deps{}).Send(context.Background(), event("paused", testTime))
		if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), `no pager action for event "paused"`) || len(rcv.Calls()) > 0 {
			t.Fatalf("err = %v", err)
		}
	})
}

// An alert storm's digest is one incident of the channel's own: a digest
// with downs triggers "vitals-storm:<channel>", one of recoveries
// resolves it, and the incident of a check that recovered in it, opened
// alone before the storm, once. A test notification is triggered and
// resolved at once, under "vitals-test:<channel>", leaving no incident
// open.
func TestPagersDigestsAndTests(t *testing.T) {
	forEachPager(t, func(t *testing.T, k pagerKind) {
		rcv := k.receiver(t)
		p := k.build(t, rcv.URL(), linkDeps())
		ctx := context.Background()
		if err := p.Send(ctx, event(EventDown, testTime.Add(-time.Minute))); err != nil { // before the storm
			t.Fatal(err)
		}
		downs := []Notification{event(EventDown, testTime), event(EventDown, testTime)}
		ups := []Notification{event(EventUp, testTime.Add(time.Minute)), event(EventUp, testTime.Add(time.Minute))}
		for _, n := range []Notification{
			NewDigest("pager", downs, "https://vitals.example.com/status/", testTime),
			NewDigest("pager", ups, "https://vitals.example.com/status/", testTime.Add(time.Minute)),
		} {
			if err := p.Send(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		test := event(EventTest, testTime)
		test.Test, test.Channel = true, "pager"
		if err := p.Send(ctx, test); err != nil {
			t.Fatal(err)
		}
		calls := rcv.Calls()
		uk := testCheck.UniqueKey()
		want := []struct{ action, key string }{
			{"trigger", uk},
			{"trigger", "vitals-storm:pager"}, {"resolve", "vitals-storm:pager"}, {"resolve", uk},
			{"trigger", "vitals-test:pager"}, {"resolve", "vitals-test:pager"},
		}
		if len(calls) != len(want) {
			t.Fatalf("%d calls, want %d", len(calls), len(want))
		}
		for i, w := range want {
			if calls[i].Action != w.action || calls[i].Key != w.key {
				t.Errorf("call %d: %s %q, want %s %q", i, calls[i].Action, calls[i].Key, w.action, w.key)
			}
		}
		if body := fmt.Sprint(calls[1].Body); !strings.Contains(body, "Alert storm: 2 checks (2 DOWN)") {
			t.Errorf("the storm's trigger does not say so: %s", body)
		}
		if errs := rcv.Invalid(); len(errs) > 0 {
			t.Errorf("requests off the provider's schema: %v", errs)
		}
	})
}

func TestPagerConfigValidate(t *testing.T) {
	const secret = "S3CR3T-with space"
	for _, tc := range []struct {
		s    Spec
		want string
	}{
		{&PagerDutyConfig{}, "routing_key: required"},
		{&PagerDutyConfig{RoutingKey: secret}, "routing_key: contains white space"},
		{&PagerDutyConfig{RoutingKey: "k", URL: "ftp://S3CR3T"}, "url: not an http(s) URL"},
		{&PagerDutyConfig{RoutingKey: "k", Severity: "high"}, `severity: "high" is not one of critical, error, warning, info`},
		{&PagerDutyConfig{RoutingKey: "k", FlappingSeverity: "Warning"}, `flapping_severity: "Warning"`},
		{&OpsgenieConfig{}, "api_key: required"},
		{&OpsgenieConfig{APIKey: secret + "\n"}, "api_key: contains white space"},
		{&OpsgenieConfig{APIKey: "k", Region: "asia"}, `region: "asia" is not one of us, eu`},
		{&OpsgenieConfig{APIKey: "k", URL: "https://h/?S3CR3T"}, "url: the API root takes no query"},
		{&OpsgenieConfig{APIKey: "k", Priority: "P0"}, `priority: "P0" is not one of P1, P2, P3, P4, P5`},
		{&OpsgenieConfig{APIKey: "k", FlappingPriority: "p1"}, `flapping_priority: "p1"`},
		{&OpsgenieConfig{APIKey: "k", Source: strings.Repeat("s", 101)}, "source: 101 characters, at most 100"},
	} {
		err := tc.s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "S3CR3T") {
			t.Errorf("%#v: %v, want %q", tc.s, err, tc.want)
		}
	}
	for _, s := range []Spec{
		&PagerDutyConfig{RoutingKey: testRoutingKey, URL: "https://proxy.example/pd", Severity: "error", FlappingSeverity: "info", Source: "db01"},
		&OpsgenieConfig{APIKey: testGenieKey, Region: "eu", Priority: "P1", FlappingPriority: "P5", Source: "vitals-prod"},
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("%T: %v", s, err)
		}
	}
}

// The region picks the API root; url overrides it.
func TestOpsgenieRegion(t *testing.T) {
	for _, tc := range []struct{ region, url, want string }{
		{"", "", OpsgenieURL}, {"us", "", OpsgenieURL}, {"eu", "", OpsgenieEUURL}, {"eu", "https://proxy.example/og/", "https://proxy.example/og"},
	} {
		o, err := NewOpsgenie(OpsgenieConfig{APIKey: "k", Region: tc.region, URL: tc.url}, Deps{})
		if err != nil || o.base != tc.want {
			t.Errorf("%+v: %v %v", tc, o, err)
		}
	}
	if p, _ := NewPagerDuty(PagerDutyConfig{RoutingKey: "k"}, Deps{}); p.url != PagerDutyURL {
		t.Errorf("pagerduty url %s", p.url)
	}
}

func TestClipChars(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{{"abc", 3, "abc"}, {"abcd", 3, "ab…"}, {"ééé", 2, "é…"}, {"é", 1, "é"}, {"éé", 1, "…"}} {
		if got := clipChars(tc.s, tc.n); got != tc.want {
			t.Errorf("clipChars(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

// FuzzPagerAnswer: whatever a receiver answers, the quoted text is one
// line of valid UTF-8 and holds no piece of the key it was given.
func FuzzPagerAnswer(f *testing.F) {
	f.Add([]byte(`{"status":"invalid event","message":"Event object is invalid","errors":["x"]}`), "R0UT1NGK3Y0123456789abcdefABCDEF")
	f.Add([]byte(`{"message":"m","errors":{"a":"b"}}`), "key1")
	f.Add([]byte("R0UT1NGK3Y0123"), "R0UT1NGK3Y0123456789abcdefABCDEF")
	f.Add([]byte{0xff, '\n'}, "")
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		if len(body) > maxErrorBody {
			body = body[:maxErrorBody]
		}
		s := pagerAnswer(key)(body)
		if strings.ContainsAny(s, "\r\n") || !utf8.ValidString(s) {
			t.Fatalf("%q", s)
		}
		if len(key) >= 8 && validateKey("k", key) == nil && strings.Contains(s, key) {
			t.Fatalf("%q holds the key", s)
		}
	})
}

// A check's resolve does not overtake its trigger still in flight (the
// dispatcher may attempt both at once): it waits, then follows.
func TestPagersKeepACheckInOrder(t *testing.T) {
	forEachPager(t, func(t *testing.T, k pagerKind) {
		var mu sync.Mutex
		var order []string
		inflight, overlapped := 0, false
		arrived, release := make(chan struct{}, 2), make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			action := "trigger"
			if strings.Contains(string(b), `"resolve"`) || strings.HasSuffix(r.URL.Path, "/close") {
				action = "resolve"
			}
			mu.Lock()
			inflight++
			overlapped = overlapped || inflight > 1
			order = append(order, action)
			mu.Unlock()
			arrived <- struct{}{}
			if action == "trigger" {
				<-release
			}
			mu.Lock()
			inflight--
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		}))
		defer srv.Close()
		p := k.build(t, srv.URL+"/v2/enqueue", Deps{})
		errs := make(chan error, 2)
		go func() { errs <- p.Send(context.Background(), event(EventDown, testTime)) }()
		<-arrived
		go func() { errs <- p.Send(context.Background(), event(EventUp, testTime.Add(time.Second))) }()
		// Give the resolve the chance to overtake (it must not take it).
		guard := time.NewTimer(100 * time.Millisecond)
		select {
		case <-arrived:
			t.Error("the resolve reached the pager while the trigger was in flight")
		case <-guard.C:
		}
		close(release)
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if strings.Join(order, ",") != "trigger,resolve" || overlapped {
			t.Fatalf("order %v, overlapped %v", order, overlapped)
		}
	})
}

// A request waiting for its check's lane gives up with its context.
func TestPagersLaneHonoursContext(t *testing.T) {
	p, err := NewPagerDuty(PagerDutyConfig{RoutingKey: "k", URL: "http://127.0.0.1:1/"}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	release, err := p.enter(context.Background(), testCheck)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Send(ctx, event(EventDown, testTime)); !errors.Is(err, context.Canceled) || errors.Is(err, ErrPermanent) {
		t.Fatalf("err = %v", err)
	}
}

package notify

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

func link(id model.CheckID) string {
	return "https://status.example.com/status/check/" + model.UniqueKey(id)
}

func TestDefaultTexts(t *testing.T) {
	texts := Texts{Link: link}
	down := testNotification("ops")
	up := down
	up.Event, up.State, up.Previous, up.Reason = EventUp, model.StatusUp, model.StatusDown, "ping received"
	up.PreviousSince, up.Time = testTime, testTime.Add(12*time.Minute+30*time.Second)
	oldUp := up
	oldUp.PreviousSince = time.Time{} // a row stored before previous_since existed
	flap := down
	flap.Event, flap.State = EventFlapping, model.StatusFlapping
	gave := Notification{Event: EventGaveUp, Check: "process worker", Reason: "5 restarts", Time: testTime}
	late := down
	late.Event, late.State = "late", "grace"
	other := down
	other.Event = "reticulated" // an event this version has no text for
	test := down
	test.Test = true
	for _, tc := range []struct {
		name  string
		n     Notification
		title string
		body  []string
		not   []string
	}{
		{"down", down, `"api <prod> & co" is DOWN`, []string{"went DOWN at 2026-11-22 01:02:03 UTC (was up)", "Reason: 3 consecutive failures", "Tags: prod", link(testCheck)}, []string{uuid.UUID(testCheck).String()}},
		{"up", up, `"api <prod> & co" is UP`, []string{"UP again at 2026-11-22 01:14:33 UTC, after 12m30s down (since 2026-11-22 01:02:03 UTC)", "Reason: ping received"}, nil},
		{"up, old row", oldUp, `"api <prod> & co" is UP`, []string{"UP again at 2026-11-22 01:14:33 UTC (was down)"}, []string{"after"}},
		{"flapping", flap, `"api <prod> & co" is FLAPPING`, []string{"FLAPPING"}, nil},
		{"gave up", gave, `"process worker": gave up restarting`, []string{"process worker: gave up restarting at", "Reason: 5 restarts"}, []string{"https://"}},
		{"late", late, `"api <prod> & co" is LATE`, []string{"is LATE at", "grace period"}, nil},
		{"unknown event", other, `"api <prod> & co": RETICULATED`, []string{"reticulated at 2026-11-22 01:02:03 UTC (status down (was up))"}, nil},
		{"test", test, `[TEST] "api <prod> & co" is DOWN`, []string{"This is a test notification"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := texts.Message(tc.n)
			if m.Title != tc.title {
				t.Errorf("title = %q, want %q", m.Title, tc.title)
			}
			if tc.n.Title() != tc.title {
				t.Errorf("Notification.Title = %q", tc.n.Title())
			}
			for _, s := range tc.body {
				if !strings.Contains(m.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, m.Body)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(m.Body, s) {
					t.Errorf("body has %q:\n%s", s, m.Body)
				}
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 12*time.Minute + 30*time.Second: "12m30s",
		3*time.Hour + 5*time.Minute + 59*time.Second: "3h5m", 51 * time.Hour: "2d 3h",
	} {
		if got := HumanDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

func TestTemplate(t *testing.T) {
	src := `{{define "title"}}[{{upper .Status}}] {{.Check}}{{end}}{{printf "%.3s%%" "abcdef" | len}}{{printf "2026000"}}{{.Check}} is {{.Status}}{{with .Duration}} after {{.}}{{end}}: {{.Reason}} {{join ", " .Tags}} {{.Link}}`
	tp, err := ParseTemplate(src)
	if err != nil {
		t.Fatal(err)
	}
	texts := Texts{Template: tp, Link: link}
	n := testNotification("ops")
	m := texts.Message(n)
	if m.Title != "[DOWN] api <prod> & co" || m.Body != "42026000api <prod> & co is down: 3 consecutive failures: connection refused prod "+link(testCheck) {
		t.Fatalf("%+v", m)
	}
	n.Test = true
	if m := texts.Message(n); !strings.HasPrefix(m.Title, "[TEST] ") {
		t.Errorf("a test's title is not marked: %q", m.Title)
	}
	// A template that renders nothing for an event: the default text.
	tp, err = ParseTemplate(`{{if eq .Event "up"}}up!{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	if m := (Texts{Template: tp}).Message(testNotification("ops")); !strings.Contains(m.Body, "went DOWN") {
		t.Errorf("empty rendering: %+v", m)
	}
}

func TestTemplateErrors(t *testing.T) {
	for src, want := range map[string]string{
		`{{.Check`:             "message:1: unclosed action",
		`{{.Nope}}`:            "can't evaluate field Nope",
		`{{nope .Check}}`:      `function "nope" not defined`,
		`{{index .Tags 5}}`:    "down event",
		"ok\n{{.Time.Nope}}":   "message:2:",
		`{{template "other"}}`: `{{template}} may only call "title"`,
		`{{define "title"}}{{template "title"}}{{end}}x`:                             `title: line 1: {{template}} may only call "title"`,
		`{{range .Time.UnixNano}}{{end}}`:                                            "range goes over .Tags or .Suppressed only",
		`{{range 1000000000}}{{end}}`:                                                "range goes over .Tags or .Suppressed only",
		`{{range .Tags}}{{range $.Tags}}{{range $.Suppressed}}{{end}}{{end}}{{end}}`: "ranges nest at most 2 deep",
	} {
		_, err := ParseTemplate(src)
		if !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

// Whatever API clients put in names and reasons, and whatever a template
// repeats, a message stays bounded.
func TestTemplateBounded(t *testing.T) {
	tp, err := ParseTemplate(`{{define "title"}}{{range .Tags}}{{range $.Suppressed}}{{$.Check}}{{end}}{{end}}{{end}}{{range .Suppressed}}{{range $.Suppressed}}{{$.Reason}}{{end}}{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification("ops")
	n.Check = strings.Repeat("n", 10_000)
	n.Reason = strings.Repeat("r\n", 10_000)
	n.Suppressed = make([]string, 1000)
	n.Tags = []string{"a", "b", "c"}
	for _, texts := range []Texts{{Template: tp}, {}} {
		m := texts.Message(n)
		if len(m.Title) > MaxTitleBytes || len(m.Body) > MaxMessageBytes || strings.Contains(m.Title, "\n") {
			t.Errorf("title %d bytes, body %d bytes", len(m.Title), len(m.Body))
		}
	}
	if d := Data(n, ""); len(d.Suppressed) != maxNamesShown+1 || d.Suppressed[maxNamesShown] != "and 990 more" {
		t.Errorf("suppressed: %d names, last %q", len(d.Suppressed), d.Suppressed[len(d.Suppressed)-1])
	}
}

func FuzzMessage(f *testing.F) {
	f.Add("api", "connection refused", "down", "prod")
	f.Add("\x00\xff", "{{.Check}}", "", "")
	tp, err := ParseTemplate(`{{.Check}} {{upper .Reason}} {{truncate 5 .Event}} {{join "," .Tags}}`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, reason, event, tag string) {
		n := Notification{Check: name, Reason: reason, Event: event, Tags: []string{tag}, Time: testTime, PreviousSince: testTime.Add(-time.Hour),
			State: model.Status(event), Previous: model.StatusDown}
		for _, texts := range []Texts{{Template: tp}, {}} {
			m := texts.Message(n)
			if len(m.Title) > MaxTitleBytes || len(m.Body) > MaxMessageBytes || m.Body == "" {
				t.Fatalf("%q / %q", m.Title, m.Body)
			}
		}
	})
}

// Whatever the operator writes, a template that loads renders in bounded
// time and size, and never panics.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{`{{.Check}} {{printf "%5.2f" 1.5}}`, `{{range .Tags}}{{.}}{{end}}`, `{{define "title"}}{{.Event}}{{end}}{{template "title" .}}`,
		`{{with .Duration}}{{.}}{{else}}{{.Time.Format "15:04"}}{{end}}`, `{{printf "%-20s|" .Check}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tp, err := ParseTemplate(src)
		if err != nil {
			return
		}
		n := testNotification("ops")
		n.Suppressed = []string{"a", "b"}
		m := (Texts{Template: tp}).Message(n)
		if len(m.Title) > MaxTitleBytes || len(m.Body) > MaxMessageBytes {
			t.Fatalf("%d / %d bytes", len(m.Title), len(m.Body))
		}
	})
}

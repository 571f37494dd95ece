package config

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

// pagerSpec is a notifier kind that only a test registers.
type pagerSpec struct {
	Number string `yaml:"number"`
}

func (s *pagerSpec) Validate() error { return nil }

func (s *pagerSpec) Build(notify.Deps) (notify.Notifier, error) {
	return notify.NotifierFunc(func(context.Context, notify.Notification) error { return nil }), nil
}

// A kind registered once, in the registry passed to the loader, is known
// to validation; the default registry does not know it.
func TestLoadOptionsNotifiers(t *testing.T) {
	src := []byte("notifiers:\n  oncall: {pager: {number: '555'}}\n")
	_, err := Parse("n.yaml", src, nil)
	want := "n.yaml:2: notifiers.oncall.pager: unknown notifier kind (known: alertmanager, docker, email, exec, opsgenie, pagerduty, process, slack, webhook)"
	if err == nil || err.Error() != want {
		t.Fatalf("default registry: %v, want %q", err, want)
	}
	reg := notify.NewRegistry()
	reg.Register("pager", func() notify.Spec { return new(pagerSpec) })
	cfg, err := LoadOptions{Notifiers: reg}.Parse("n.yaml", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp, ok := cfg.Actions(IDs{}).Notifiers["oncall"].(*pagerSpec)
	if !ok || sp.Number != "555" {
		t.Fatalf("decoded %#v", cfg.Actions(IDs{}).Notifiers["oncall"])
	}
}

// A notifier may pin its channel id beside its kind; the others get ids
// derived from the installation secret and their name. Channels lists
// them sorted by name, with their kinds.
func TestNotifierIDs(t *testing.T) {
	cfg, err := Parse("n.yaml", []byte(`notifiers:
  ops:
    id: 5D1B7E3A-9C2F-4E8B-A6D4-1F0E2C3B4A59
    webhook: {url: "http://127.0.0.1:1/hook"}
  restart-db: {docker: {container: db}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Channels(testIDs)
	want := []model.Channel{
		{ID: uuid.MustParse("5d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59"), Name: "ops", Kind: "webhook"},
		{ID: DeriveChannelID(testIDs.Secret, "restart-db"), Name: "restart-db", Kind: "docker"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Channels = %+v, want %+v", got, want)
	}
	if got := cfg.Channels(IDs{}); got[0].ID != want[0].ID || got[1].ID != uuid.Nil {
		t.Errorf("without a secret: %+v (a pinned id needs none)", got)
	}
}

// Bad notifier ids and keys are errors with their line; the kind rule
// holds for the keys that are not options.
func TestNotifierIDErrors(t *testing.T) {
	_, err := Parse("n.yaml", []byte(`notifiers:
  a: {id: 5d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59, webhook: {url: "http://x"}}
  b: {id: 5d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59, webhook: {url: "http://x"}}
  c: {id: not-a-uuid, webhook: {url: "http://x"}}
  d: {id: 00000000-0000-0000-0000-000000000000, webhook: {url: "http://x"}}
  e: {id: 7d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59}
  f: {idd: x, webhook: {url: "http://x"}}
  g: {webhook: {url: "http://x"}, slack: {url: "http://x"}}
  h:
    id: [1]
    webhook: {url: "http://x"}
`), nil)
	want := `n.yaml:3: notifiers.b.id: 5d1b7e3a-9c2f-4e8b-a6d4-1f0e2c3b4a59 is also the id of notifiers.a
n.yaml:4: notifiers.c.id: "not-a-uuid" is not a UUID (8-4-4-4-12 hex digits)
n.yaml:5: notifiers.d.id: must be a non-nil UUID
n.yaml:6: notifiers.e: expected one kind: alertmanager, docker, email, exec, opsgenie, pagerduty, process, slack, webhook: {...}
n.yaml:7: notifiers.f.idd: unknown field (a notifier has one kind: alertmanager, docker, email, exec, opsgenie, pagerduty, process, slack, webhook; and may set id, template, storm)
n.yaml:8: notifiers.g: has several kinds: a notifier has exactly one
n.yaml:10: notifiers.h.id: expected a string, found a list`
	if err == nil || err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
}

// pings.channels: "*" by default; a list names notifiers, checked at load;
// Resolve expands it against the channels.
func TestPingsChannels(t *testing.T) {
	const notifiers = `notifiers:
  ops: {webhook: {url: "http://127.0.0.1:1/hook"}}
  chat: {slack: {url: "http://127.0.0.1:1/slack"}}
  restart-db: {docker: {container: db}}
`
	all := []model.Channel{{Name: "chat", Kind: "slack"}, {Name: "ops", Kind: "webhook"}, {Name: "restart-db", Kind: "docker"}}
	for _, tc := range []struct{ yaml, want string }{
		{"", "chat,ops"},
		{`pings: {channels: "*"}`, "chat,ops"},
		{`pings: {channels: ""}`, ""},
		{`pings: {channels: []}`, ""},
		{`pings: {channels: [restart-db, ops, ops]}`, "ops,restart-db"},
	} {
		cfg, err := Parse("p.yaml", []byte(notifiers+tc.yaml), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		names, err := cfg.Pings.Channels.Resolve(all)
		if err != nil || strings.Join(names, ",") != tc.want {
			t.Errorf("%s: %v, %v; want %q", tc.yaml, names, err, tc.want)
		}
	}
	// A channel removed since the load: Resolve says so.
	cfg, _ := Parse("p.yaml", []byte(notifiers+"pings: {channels: [ops]}"), nil)
	if _, err := cfg.Pings.Channels.Resolve(all[:1]); !errors.Is(err, model.ErrChannelSpec) {
		t.Errorf("Resolve without ops: %v", err)
	}

	_, err := Parse("p.yaml", []byte(notifiers+`pings: {channels: [ops, pager]}`), nil)
	if want := `p.yaml:5: pings.channels[1]: unknown notifier "pager"`; err == nil || err.Error() != want {
		t.Errorf("unknown name: %v, want %q", err, want)
	}
	_, err = Parse("p.yaml", []byte(notifiers+`pings: {channels: "ops"}`), nil)
	if want := `p.yaml:5: pings.channels: "ops" must be "*" (every notifier but the actions), "" (none) or a list of notifier names`; err == nil || err.Error() != want {
		t.Errorf("a name as a string: %v, want %q", err, want)
	}
	_, err = Parse("p.yaml", []byte(notifiers+`pings: {channels: {ops: 1}}`), nil)
	if want := `p.yaml:5: pings.channels.ops: expected "*", "" or a list of notifier names`; err == nil || err.Error() != want {
		t.Errorf("a mapping: %v, want %q", err, want)
	}
}

// A check's actions are a mapping of lists of notifier names; another
// shape is refused in the file's words.
func TestActionsShape(t *testing.T) {
	_, err := Parse("a.yaml", []byte("checks:\n  - name: a\n    actions: \"x\"\n"), nil)
	if want := `a.yaml:3: checks[0].actions: expected a mapping, found "x"`; err == nil || err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
}

// The pager kinds take their keys from the environment into their specs
// (what the notifiers are built from) and nowhere else: the channels the
// API and the status page list carry a name, an id and a kind.
func TestPagerKeysStayInTheSpec(t *testing.T) {
	const pdKey, ogKey = "R0UT1NGK3Y0123456789abcdefABCDEF", "G3N1EK3Y-eb24-3592-faa2-4ba2a551"
	cfg, err := Parse("n.yaml", []byte(`notifiers:
  pager: {pagerduty: {routing_key: "${PD_ROUTING_KEY}", severity: error}}
  genie: {opsgenie: {api_key: "${OPSGENIE_KEY}", region: eu}}
`), env(map[string]string{"PD_ROUTING_KEY": pdKey, "OPSGENIE_KEY": ogKey}))
	if err != nil {
		t.Fatal(err)
	}
	specs := cfg.Actions(IDs{}).Notifiers
	if pd, ok := specs["pager"].(*notify.PagerDutyConfig); !ok || pd.RoutingKey != pdKey || pd.Severity != "error" {
		t.Errorf("pager: %T", specs["pager"])
	}
	if og, ok := specs["genie"].(*notify.OpsgenieConfig); !ok || og.APIKey != ogKey || og.Region != "eu" {
		t.Errorf("genie: %T", specs["genie"])
	}
	b, err := json.Marshal(cfg.Channels(testIDs))
	if err != nil || strings.Contains(string(b), pdKey) || strings.Contains(string(b), ogKey) ||
		!strings.Contains(string(b), `"kind":"pagerduty"`) || !strings.Contains(string(b), `"kind":"opsgenie"`) {
		t.Errorf("channels: %s %v", b, err)
	}
}

// A notifier of a kind that sends text may set its template beside its
// kind; the loader renders it once for every event, and a template that
// cannot render is an error at its line.
func TestNotifierTemplates(t *testing.T) {
	cfg, err := Parse("n.yaml", []byte(`notifiers:
  chat:
    template: |
      {{.Check}} is {{.Status}}{{with .Duration}} after {{.}}{{end}}
    slack: {url: "http://127.0.0.1:1/slack"}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sp := cfg.Actions(IDs{}).Notifiers["chat"].(*notify.SlackConfig); sp.Template == "" {
		t.Fatal("the template did not reach the spec")
	}
	_, err = Parse("n.yaml", []byte(`notifiers:
  a:
    slack: {url: "http://x"}
    template: "{{.Check"
  b:
    template: "{{.Nope}}"
    email: {addr: "smtp:25", from: a@b.c, to: [d@e.f]}
  c: {webhook: {url: "http://x"}, template: "{{.Check}}"}
`), nil)
	want := `n.yaml:4: notifiers.a.template: template: message:1: unclosed action
n.yaml:6: notifiers.b.template: template: down event: message:1:2: executing "message" at <.Nope>: can't evaluate field Nope in type notify.TemplateData
n.yaml:8: notifiers.c.template: the webhook kind sends no text for people: it takes no template`
	if err == nil || err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
}

// `storm:` beside the kind sets a channel's storm protection; without it
// each kind gets its default (none for webhooks and actions, ten a minute
// for the others, a kind registered later included); actions refuse it.
func TestNotifierStorms(t *testing.T) {
	reg := notify.NewRegistry()
	reg.Register("pager", func() notify.Spec { return new(pagerSpec) })
	cfg, err := LoadOptions{Notifiers: reg}.Parse("n.yaml", []byte(`notifiers:
  digest: {webhook: {url: "http://127.0.0.1:1/hook"}, storm: {threshold: 20, window: 1m}}
  hook: {webhook: {url: "http://127.0.0.1:1/hook"}}
  team: {slack: {url: "http://127.0.0.1:1/slack"}}
  quiet: {slack: {url: "http://127.0.0.1:1/slack"}, storm: {threshold: 0}}
  oncall: {pager: {number: '555'}}
  slow: {pager: {number: '555'}, storm: {window: 1d}}
  restart-db: {docker: {container: db}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Actions(IDs{}).Storms
	want := map[string]notify.Storm{
		"digest": {Threshold: 20, Window: time.Minute},
		"team":   notify.DefaultStorm,
		"quiet":  {Threshold: 0, Window: time.Minute},
		"oncall": notify.DefaultStorm,
		"slow":   {Threshold: 10, Window: 24 * time.Hour},
	}
	if !maps.Equal(got, want) {
		t.Errorf("storms %v, want %v", got, want)
	}
	_, err = Parse("n.yaml", []byte(`notifiers:
  a: {docker: {container: db}, storm: {threshold: 5}}
  b: {webhook: {url: "http://x"}, storm: {threshold: -1}}
  c: {webhook: {url: "http://x"}, storm: {threshold: 5, window: 2d}}
  d: {webhook: {url: "http://x"}, storm: {treshold: 5}}
`), nil)
	for _, w := range []string{
		"n.yaml:2: notifiers.a.storm: not for docker",
		"n.yaml:3: notifiers.b.storm.threshold: must not be negative",
		"n.yaml:4: notifiers.c.storm.window: at most 24h0m0s",
		"n.yaml:5: notifiers.d.storm.treshold",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v\nwant it to contain %q", err, w)
		}
	}
}

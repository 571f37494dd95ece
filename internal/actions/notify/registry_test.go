package notify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	if got := strings.Join(r.Kinds(), ","); got != "alertmanager,docker,email,exec,opsgenie,pagerduty,process,slack,webhook" {
		t.Fatalf("kinds = %s", got)
	}
	if _, err := r.New("pager"); !errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), "webhook") {
		t.Fatalf("unknown kind: %v", err)
	}
	dec := func(s string) func(any) error {
		return func(v any) error {
			d := json.NewDecoder(strings.NewReader(s))
			d.DisallowUnknownFields()
			return d.Decode(v)
		}
	}
	for _, tc := range []struct{ kind, cfg, wantErr string }{
		{"webhook", `{"url":"https://x.example/hook","secret":"s"}`, ""},
		{"webhook", `{"url":"ftp://x"}`, "url:"},
		{"webhook", `{"uri":"https://x"}`, "unknown field"},
		{"slack", `{"url":"https://hooks.slack.com/services/T/B/X"}`, ""},
		{"email", `{"addr":"smtp:587","from":"a@b.c","to":["d@e.f"]}`, ""},
		{"email", `{"addr":"smtp","from":"a@b.c"}`, "at least one recipient"},
		{"docker", `{"container":"api","restart":{"max_restarts":3}}`, ""},
		{"docker", `{}`, "container: required"},
		{"exec", `{"command":["true"],"timeout":5000000000}`, ""},
		{"exec", `{"command":[]}`, "command: required"},
		{"process", `{"name":"worker"}`, ""},
		{"process", `{}`, "name: required"},
		{"pagerduty", `{"routing_key":"k","url":"https://proxy.example/pd","severity":"error","flapping_severity":"info","source":"db"}`, ""},
		{"pagerduty", `{"routing_key":"k","severity":"high"}`, "severity:"},
		{"opsgenie", `{"api_key":"k","region":"eu","priority":"P1","flapping_priority":"P5","source":"vitals"}`, ""},
		{"opsgenie", `{"api_key":"k","region":"mars"}`, "region:"},
		{"alertmanager", `{"url":"http://am:9093","resend":60000000000,"labels":{"team":"ops"}}`, ""},
		{"alertmanager", `{"urls":["http://am1:9093","https://am2:9093/prefix"],"bearer_token":"t"}`, ""},
		{"alertmanager", `{}`, "url: required"},
		{"alertmanager", `{"url":"http://a","urls":["http://b"]}`, "not both"},
		{"alertmanager", `{"urls":["http://a","ftp://b"]}`, "urls[1]: not an http(s) URL"},
		{"alertmanager", `{"url":"http://a","basic_auth":{"username":"u","password":"p"},"bearer_token":"t"}`, "bearer_token: set basic_auth or bearer_token, not both"},
		{"alertmanager", `{"url":"http://a","resend":1000}`, "resend: 1µs is not between 1s and 1h"},
		{"alertmanager", `{"url":"http://a","labels":{"check":"x"}}`, "labels.check: set by Vitals"},
		{"alertmanager", `{"url":"http://a","labels":{"__x":"y"}}`, "not a label name"},
		{"alertmanager", `{"url":"http://a","labels":{"a-b":"y"}}`, "not a label name"},
	} {
		_, err := r.Decode(tc.kind, dec(tc.cfg))
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s %s: %v, want %q", tc.kind, tc.cfg, err, tc.wantErr)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a kind twice did not panic")
		}
	}()
	r.Register("webhook", func() Spec { return new(WebhookConfig) })
}

// The config loader decodes a channel's YAML strictly into the registry's
// Spec; durations are Go duration strings.
func TestRegistryYAML(t *testing.T) {
	src := "container: api\nstop_timeout: 5s\nrestart: {initial: 2s, max: 1m, max_restarts: 3, window: 10m, stable_after: 5m}\nalert: [ops]\n"
	spec, err := NewRegistry().Decode("docker", func(v any) error {
		d := yaml.NewDecoder(strings.NewReader(src))
		d.KnownFields(true)
		return d.Decode(v)
	})
	if err != nil {
		t.Fatal(err)
	}
	c := spec.(*DockerConfig)
	if c.StopTimeout != 5*time.Second || c.Restart.Initial != 2*time.Second || c.Restart.MaxRestarts != 3 || c.Alert[0] != "ops" {
		t.Fatalf("decoded %+v", c)
	}
}

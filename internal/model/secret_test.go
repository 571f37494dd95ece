package model

import (
	"strings"
	"testing"
)

func TestRedacted(t *testing.T) {
	c := Check{
		Name: "api", Desc: "token s3cr3t-token <here>", Tags: []string{"s3cr3t-token", "prod"}, PingKey: "pk-from-env",
		Probe:    []byte(`{"url":"http://127.0.0.1/x?token=s3cr3t-token&b=<1>","header":{"Authorization":"Bearer s3cr3t-token-long"}}`),
		Schedule: Schedule{Cron: "0 3 * * *"},
		Secrets:  []Secret{{"TOKEN", "s3cr3t-token"}, {"LONG", "s3cr3t-token-long"}, {"PING_KEY", "pk-from-env"}, {"EMPTY", ""}},
	}
	r := c.Redacted()
	if r.Secrets != nil {
		t.Error("Secrets kept")
	}
	if r.Desc != "token ${TOKEN} <here>" || r.Tags[0] != "${TOKEN}" || r.PingKey != "${PING_KEY}" || r.Schedule.Cron != "0 3 * * *" {
		t.Errorf("%+v", r)
	}
	if want := `{"header":{"Authorization":"Bearer ${LONG}"},"url":"http://127.0.0.1/x?token=${TOKEN}&b=<1>"}`; string(r.Probe) != want {
		t.Errorf("probe %s\nwant  %s", r.Probe, want)
	}
	if strings.Contains(c.Tags[0], "$") || !strings.Contains(string(c.Probe), "s3cr3t") {
		t.Error("Redacted changed the check it was called on")
	}
	// Not JSON: replaced as bytes. No secrets: the same check.
	if p := (Check{Probe: []byte("x s3cr3t-token"), Secrets: c.Secrets}).Redacted().Probe; string(p) != "x ${TOKEN}" {
		t.Errorf("raw probe %s", p)
	}
	if p := (Check{Probe: []byte(`{"a": 1}`)}).Redacted().Probe; string(p) != `{"a": 1}` {
		t.Errorf("without secrets: %s", p)
	}
}

package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/vitals-go/vitals/internal/model"
)

// TestCheckSecrets: each model check carries the values its definition
// took from the environment (through aliases and merge keys, and the
// global ping key it uses), and its Redacted form has none of them.
func TestCheckSecrets(t *testing.T) {
	vars := map[string]string{"TOKEN": "tok-3f9a7c", "PASS": "pass-81b2d4", "PK": "pk-5e6f70", "PORT": "8080", "DESC": "desc-value"}
	cfg, err := Parse("s.yaml", []byte(`
pings: {ping_key: "${PK}"}
checks:
  - name: api
    desc: ${DESC}
    http:
      url: "http://127.0.0.1:${PORT}/health?token=${TOKEN}"
      headers: &auth {Authorization: "Basic ${PASS}"}
  - name: grpc
    grpc: {address: "127.0.0.1:9090", headers: *auth}
  - name: cmd
    command: {run: [check-db], env: {PGPASSWORD: "${PASS}", PGPORT: "${UNSET:-5432}"}}
  - {name: job, slug: job, period: 1h}
  - {name: own, slug: own, ping_key: own-key, period: 1h}
`), env(vars))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]model.Check{}
	for _, c := range cfg.ModelChecks(testIDs) {
		byName[c.Name] = c
	}
	names := func(c model.Check) string {
		var out []string
		for _, s := range c.Secrets {
			out = append(out, s.Name)
		}
		return strings.Join(out, ",")
	}
	for name, want := range map[string]string{"api": "DESC,PASS,PORT,TOKEN", "grpc": "PASS", "cmd": "PASS", "job": "PK", "own": ""} {
		if got := names(byName[name]); got != want {
			t.Errorf("%s: secrets %s, want %s (a default is not a secret)", name, got, want)
		}
	}
	for _, c := range byName {
		r := mustJSONString(t, c.Redacted())
		for _, v := range vars {
			if v != "8080" && strings.Contains(r, v) {
				t.Errorf("%s: Redacted still holds %q: %s", c.Name, v, r)
			}
		}
	}
	if p := string(byName["api"].Redacted().Probe); !strings.Contains(p, "http://127.0.0.1:${PORT}/health?token=${TOKEN}") || !strings.Contains(p, "Basic ${PASS}") {
		t.Errorf("api probe as stored: %s", p)
	}
	if !slices.Contains(byName["cmd"].Redacted().Probe, '$') || !strings.Contains(string(byName["cmd"].Probe), "PGPASSWORD=pass-81b2d4") {
		t.Errorf("cmd probe: %s", byName["cmd"].Probe)
	}
}

// TestErrorsHideSecrets: no config error echoes a value taken from the
// environment, whatever field it is in.
func TestErrorsHideSecrets(t *testing.T) {
	const secret = "PRODPASS-7c1e"
	vars := map[string]string{"PASS": secret, "URL": "ftp://u:" + secret + "@x/", "HOOK": "not a url " + secret, "ID": secret}
	for _, tc := range []struct{ name, yaml, want string }{
		{"validation", `
server: {public_url: "${URL}"}
api_keys: [{name: k, key: "0123456789abcdef", access: "${PASS}"}]
notifiers:
  hook: {webhook: {url: "${HOOK}"}}
  pd: {pagerduty: {routing_key: "${HOOK}", severity: "${PASS}"}}
  og: {opsgenie: {api_key: "${HOOK}", region: "${PASS}", url: "${URL}"}}
checks:
  - {name: a, http: {url: "http://user:${PASS}@db.example/"}}
  - {name: b, http: {url: "${URL}"}}
  - {name: d, id: "${ID}", period: 1h}
  - {name: e, slug: "${PASS}", ping_key: k, period: 1h}
  - {name: f, command: {run: [x], env: {"": "${PASS}"}}}
`, `checks[0].http.url: bad target "http://xxxxx@db.example/"`},
		{"decoding", `
checks:
  - name: c
    tcp: {address: "127.0.0.1:1"}
    interval: "${PASS}"
`, `checks[0].interval: invalid duration "${PASS}"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.yaml), env(vars))
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); strings.Contains(msg, secret) || !strings.Contains(msg, tc.want) {
				t.Errorf("errors (want %q and no secret):\n%s", tc.want, msg)
			}
		})
	}
}

func mustJSONString(t *testing.T, c model.Check) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(c.Name + " " + c.Slug + " " + c.PingKey + " " + c.Desc + " " + strings.Join(c.Tags, ",") + " ")
	b.Write(c.Probe)
	return b.String()
}

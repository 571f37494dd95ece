package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitals-go/vitals/internal/apikey"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/pull"
)

// testIDs derive the ids of checks that set none from a fixed secret.
var testIDs = IDs{Secret: []byte("0123456789abcdef0123456789abcdef")}

func env(vars map[string]string) LookupEnv {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

// TestLoadBadConfigs loads each file of testdata/bad and compares every
// error with the exact text expected.
func TestLoadBadConfigs(t *testing.T) {
	tests := map[string][]string{
		"bad_cron": {`bad_cron.yaml:3: checks[0].cron: invalid cron expression "61 * * * *": end of range (61) above maximum (59): 61`},
		"bad_duration": {
			`bad_duration.yaml:3: checks[0].period: invalid duration "10" (use units such as 500ms, 30s, 5m, 1h, 1d)`,
			`bad_duration.yaml:5: checks[1].period: invalid duration "5 minutes" (use units such as 500ms, 30s, 5m, 1h, 1d)`,
		},
		"bad_json_condition": {
			`bad_json_condition.yaml:5: checks[0].http.json[0]: bad condition "status == UP": the path must start with "$"`,
			`bad_json_condition.yaml:5: checks[0].http.json[1]: bad condition "$.status==\"UP\"": put spaces around the operator`,
		},
		"bad_ref": {`bad_ref.yaml:2: server.public_url: bad variable reference "${1BAD}": write ${NAME} or ${NAME:-default} (and $$ for a literal $)`},
		// Credentials, ping secrets and webhook URLs are never quoted.
		"credentials": {
			`credentials.yaml:2: server.dead_mans_switch: is not an http(s) URL`,
			`credentials.yaml:5: checks[0].http.url: bad target "http://xxxxx@db.example:8080/health?token=xxxxx": credentials in the URL are not supported (send an Authorization header instead)`,
			`credentials.yaml:7: checks[1].http.url: "ftp://xxxxx@db.example/" must start with http://, https:// or unix://`,
			`credentials.yaml:7: checks[1].http.url: bad target "ftp://xxxxx@db.example/": unknown scheme "ftp" (want http, https, grpc, grpcs, tcp or unix)`,
			`credentials.yaml:9: checks[2].id: is not a UUID (8-4-4-4-12 hex digits)`,
			`credentials.yaml:9: checks[2].id: must be a non-nil UUID`,
			`credentials.yaml:12: notifiers.chat.slack.url: not an http(s) URL`,
		},
		"duplicate_names": {`duplicate_names.yaml:3: checks[1].name: "a" is also the name of checks[0]`},
		"env_unset":       {`env_unset.yaml:3: api_keys[0].key: environment variable VITALS_TEST_UNSET_KEY is not set (write ${VITALS_TEST_UNSET_KEY:-default} for a default)`},
		"many": {
			`many.yaml:2: server.listen[0]: "nohostport" is not host:port (e.g. 127.0.0.1:8000 or :8000)`,
			`many.yaml:5: checks[0].tz: unknown time zone "Mars/Olympus"`,
			`many.yaml:6: checks[0].period: 500ms is under 1s`,
			`many.yaml:9: checks[1].timeout: 2s is longer than the interval 1s`,
			`many.yaml:12: checks[2].slug: a slug URL needs a ping key: set pings.ping_key or ping_key`,
			`many.yaml:12: checks[2].slug: "Not_A_Slug" must be 1-100 characters of a-z, 0-9, '-' and '_'`,
		},
		"missing": {
			`missing.yaml:2: checks[0].name: is required`,
			`missing.yaml:4: checks[1].http.url: is required`,
		},
		"postgres": {
			`postgres.yaml:3: store.postgres: store.sqlite is set too: choose one store`,
			`postgres.yaml:3: store.postgres.lease_ttl: must be between 1s and 10m0s`,
		},
		"postgres_dsn": {
			`postgres_dsn.yaml:2: store.postgres.dsn: is required (take it from the environment: dsn: ${VITALS_PG_DSN})`,
			`postgres_dsn.yaml:2: store.postgres.lease_ttl: must be between 1s and 10m0s`,
		},
		"push_and_pull": {`push_and_pull.yaml:3: checks[0].period: applies to push checks only (a tcp probe is polled every interval)`},
		"server_bounds": {
			`server_bounds.yaml:2: server.max_connections: must be positive`,
			`server_bounds.yaml:3: server.max_connections_per_client: must be positive`,
			`server_bounds.yaml:4: server.body_timeout: must be at least 100ms`,
			`server_bounds.yaml:5: server.write_timeout: must be at least 100ms`,
		},
		"short_key": {
			`short_key.yaml:3: api_keys[0].key: shorter than 16 characters`,
			`short_key.yaml:4: api_keys[0].access: "admin" must be "read-only" or "read-write"`,
		},
		"syntax":     {`syntax.yaml:1: YAML syntax: did not find expected '-' indicator`},
		"two_probes": {`two_probes.yaml:2: checks[0]: has several probes (http, tcp): a check has at most one`},
		"type_errors": {
			`type_errors.yaml:2: pings.body_limit: expected an integer, found "lots"`,
			`type_errors.yaml:4: retention.pings: expected an integer, found a list`,
		},
		"text_and_bounds": {
			`text_and_bounds.yaml:2: checks[0].name: character U+0000 at byte 2 is not allowed (no control, line-separator or bidi-override characters)`,
			`text_and_bounds.yaml:4: checks[0].tz: "Local" is not allowed: name an IANA zone, such as "Europe/Paris" or "UTC"`,
			`text_and_bounds.yaml:5: checks[0].thresholds.failures: must be between 1 and 1000 (0 or unset means 1)`,
			`text_and_bounds.yaml:7: checks[1].tags: character U+001B at byte 3 is not allowed (no control, line-separator or bidi-override characters)`,
			`text_and_bounds.yaml:8: checks[1].desc: character U+0007 at byte 27 is not allowed (no control, line-separator or bidi-override characters)`,
			`text_and_bounds.yaml:9: checks[1].period: 9600h0m0s is over 365 days`,
			`text_and_bounds.yaml:10: checks[1].thresholds.successes: must be between 1 and 1000 (0 or unset means 1)`,
			`text_and_bounds.yaml:10: checks[1].thresholds.start_period: 9600h0m0s is over 365 days`,
		},
		"unknown_nested": {`unknown_nested.yaml:5: checks[0].http.stauts: unknown field (did you mean "status"?)`},
		"unknown_top":    {`unknown_top.yaml:1: serveur: unknown field (did you mean "server"?)`},
		"unknown_and_invalid": {
			`unknown_and_invalid.yaml:3: checks[0].perod: unknown field (did you mean "period"?)`,
			`unknown_and_invalid.yaml:5: checks[1].cron: invalid cron expression "* * *": expected exactly 5 fields, found 3: [* * *]`,
		},
	}
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(tests) {
		t.Errorf("%d files in testdata/bad, %d in the table", len(files), len(tests))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			want, ok := tests[name]
			if !ok {
				t.Fatalf("no expected errors for %s", f)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(filepath.Base(f), data, env(nil))
			if err == nil {
				t.Fatalf("loaded: %+v", cfg)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
			}
			// Each line is one *Error.
			var e *Error
			if !errors.As(err, &e) || e.File != filepath.Base(f) {
				t.Errorf("not an *Error: %T", err)
			}
		})
	}
}

func TestLoadGood(t *testing.T) {
	cfg, err := Parse("/etc/vitals/good.yaml", mustRead(t, "testdata/good.yaml"), env(map[string]string{"RO_KEY": "read-only-key-0123456789"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Store.SQLite.Path; got != "/etc/vitals/data/vitals.db" {
		t.Errorf("sqlite path %q: relative paths are relative to the config file", got)
	}
	if a, _ := cfg.Keys().Lookup("read-only-key-0123456789"); a != apikey.Read {
		t.Errorf("ro key: %v", a)
	}
	if a, _ := cfg.Keys().Lookup("a-default-key-of-length"); a != apikey.Write {
		t.Errorf("rw key from the default: %v", a)
	}
	if a, _ := cfg.Keys().Lookup("nope"); a != apikey.None {
		t.Error("unknown key accepted")
	}
	if *cfg.Pings.BodyLimit != 2000 || cfg.Pings.PingKey != "pk" || cfg.Retention.Pings != 50 || cfg.Server.ShutdownTimeout.D() != DefaultShutdownTimeout {
		t.Errorf("settings: %+v %+v %+v", cfg.Pings, cfg.Retention, cfg.Server)
	}
	checks := cfg.ModelChecks(testIDs)
	if len(checks) != 6 {
		t.Fatalf("%d checks", len(checks))
	}
	byName := map[string]model.Check{}
	for _, c := range checks {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if c.Source != model.SourceConfig {
			t.Errorf("%s: source %q", c.Name, c.Source)
		}
		byName[c.Name] = c
	}
	b := byName["backup"]
	if b.ID.Secret() != "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278" || b.Kind != model.KindPush || b.Schedule.Cron != "0 3 * * *" ||
		b.Schedule.TZ != "Europe/Paris" || b.Schedule.Grace != 2*time.Hour || b.MinRunTime != time.Minute || b.PingKey != "pk" || b.Slug != "backup" {
		t.Errorf("backup: %+v", b)
	}
	if b.Thresholds.Failures != 2 {
		t.Errorf("defaults.thresholds not applied: %+v", b.Thresholds)
	}
	h := byName["heartbeat"]
	if h.ID != DeriveCheckID(testIDs.Secret, "heartbeat") || h.Schedule.Period != 24*time.Hour || h.Schedule.Grace != DefaultGrace || h.PingKey != "" {
		t.Errorf("heartbeat: %+v", h)
	}
	api := byName["api"]
	spec, err := pull.Decode(api.Probe)
	if err != nil {
		t.Fatal(err)
	}
	if api.Kind != model.KindPull || api.Schedule.Period != time.Minute || spec.Timeout.D() != 3*time.Second || spec.Status != "200-299" ||
		len(spec.JSON) != 2 || spec.MinCertValidity.D() != 14*24*time.Hour || spec.Header["Authorization"] != "Bearer x" || api.Thresholds.Failures != 3 {
		t.Errorf("api: %+v %+v", api, spec)
	}
	g, _ := pull.Decode(byName["grpc"].Probe)
	if g.URL != "grpc://127.0.0.1:9090/orders.v1.Orders" || byName["grpc"].Schedule.Period != 20*time.Second || g.Timeout.D() != 5*time.Second {
		t.Errorf("grpc: %+v %+v", g, byName["grpc"].Schedule)
	}
	d, _ := pull.Decode(byName["disk"].Probe)
	if len(d.Command) != 3 || d.Env[0] != "LANG=C" {
		t.Errorf("disk: %+v", d)
	}
}

func TestDefaults(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/state")
	cfg, err := Parse("empty.yaml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen[0] != DefaultListen || cfg.Server.PublicURL != "http://"+DefaultListen || cfg.Store.SQLite.Path != "/var/state/vitals/vitals.db" ||
		*cfg.Pings.BodyLimit != DefaultBodyLimit || cfg.Retention.Pings != DefaultPingRetention || cfg.Pull.MaxConcurrent != DefaultMaxConcurrent {
		t.Errorf("%+v", cfg)
	}
	if s := cfg.Server; s.MaxConnections != DefaultMaxConnections || s.MaxConnectionsPerClient != DefaultMaxConnectionsPerClient ||
		s.BodyTimeout.D() != DefaultBodyTimeout || s.WriteTimeout.D() != DefaultWriteTimeout {
		t.Errorf("server bounds: %+v", s)
	}
	// Behind a proxy every connection comes from it: the per-client bound
	// defaults to the total.
	cfg, err = Parse("x.yaml", []byte("server: {trust_proxy_headers: true, max_connections: 100}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Server; s.MaxConnectionsPerClient != 100 {
		t.Errorf("per-client bound behind a proxy: %d", s.MaxConnectionsPerClient)
	}
	// A pull check's timeout is capped at its interval.
	cfg, err = Parse("x.yaml", []byte("checks:\n- name: t\n  tcp: {address: 'localhost:1'}\n  interval: 2s\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := pull.Decode(cfg.ModelChecks(testIDs)[0].Probe); s.Timeout.D() != 2*time.Second {
		t.Errorf("timeout %v", s.Timeout)
	}
}

func TestExpand(t *testing.T) {
	vars := env(map[string]string{"PORT": "9000", "EMPTY": "", "KEY": "x: y\n- z"})
	cfg, err := Parse("e.yaml", []byte(`
server:
  listen: ["127.0.0.1:${PORT}"]
  public_url: "http://h:${EMPTY:-80}/$${NOT}"
retention:
  pings: ${PORT}
api_keys:
  - {name: a, key: "${KEY}0123456789abcdef"}
  - {name: b, key: "k$EMPTY-0123456789abcdef"}
`), vars)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen[0] != "127.0.0.1:9000" || cfg.Server.PublicURL != "http://h:80/${NOT}" || cfg.Retention.Pings != 9000 {
		t.Errorf("%+v %+v", cfg.Server, cfg.Retention)
	}
	// A value with YAML syntax stays a value (expansion is after parsing).
	if cfg.APIKeys[0].Key != "x: y\n- z0123456789abcdef" || cfg.APIKeys[1].Key != "k$EMPTY-0123456789abcdef" {
		t.Errorf("%q %q", cfg.APIKeys[0].Key, cfg.APIKeys[1].Key)
	}
}

func TestActions(t *testing.T) {
	cfg, err := Parse("a.yaml", []byte(`
notifiers:
  ops:
    webhook: {url: "http://127.0.0.1:9/hook", secret: s3cret}
  restart-api:
    process: {name: api}
processes:
  - name: api
    command: [sleep, "3600"]
    restart: {max_restarts: 3, window: 10m}
dependency_delay: 30s
maintenance:
  - {name: deploys, checks: [api], cron: "0 2 * * *", duration: 1h, tz: Europe/Paris}
status_page: {public: true, public_tag: public}
checks:
  - name: db
    tcp: {address: "127.0.0.1:5432"}
    actions: {down: [ops], up: [ops]}
  - name: api
    http: {url: "http://127.0.0.1:8080/readyz"}
    parents: [db]
    actions: {down: [ops, restart-api], up: [ops], flapping: [ops]}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Actions(testIDs)
	db, api := DeriveCheckID(testIDs.Secret, "db"), DeriveCheckID(testIDs.Secret, "api")
	if len(a.Notifiers) != 2 || len(a.Processes) != 1 || a.Processes[0].Restart.MaxRestarts != 3 || a.DependencyDelay != 30*time.Second {
		t.Errorf("%+v", a)
	}
	checks := cfg.ModelChecks(testIDs)
	if r := checks[1].Routes; checks[1].ID != api || len(r.Down) != 2 || r.Down[1] != "restart-api" || len(r.Flapping) != 1 || len(checks[0].Routes.Up) != 1 {
		t.Errorf("routes %+v, %+v", checks[0].Routes, checks[1].Routes)
	}
	if p := a.Parents[api]; len(p) != 1 || p[0] != db {
		t.Errorf("parents %+v", a.Parents)
	}
	if len(a.Windows) != 1 || a.Windows[0].Checks[0] != api || a.Windows[0].Duration != time.Hour {
		t.Errorf("windows %+v", a.Windows)
	}
	if !cfg.StatusPage.Public || cfg.StatusPage.PublicTag != "public" {
		t.Errorf("%+v", cfg.StatusPage)
	}

	_, err = Parse("b.yaml", []byte(`notifiers:
  ops:
    webhok: {url: "http://x"}
  hook:
    webhook: {url: "http://x", sekret: y}
  bad:
    webhook: {}
  proc:
    process: {name: nope}
processes:
  - {name: p}
maintenance:
  - {checks: [ghost], cron: "0 2 * * *"}
checks:
  - name: a
    actions: {down: [ops, missing]}
    parents: [a, ghost]
`), nil)
	want := `b.yaml:3: notifiers.ops.webhok: unknown notifier kind (known: alertmanager, docker, email, exec, opsgenie, pagerduty, process, slack, webhook)
b.yaml:5: notifiers.hook.webhook.sekret: unknown field (did you mean "secret"?)
b.yaml:7: notifiers.bad.webhook.url: required
b.yaml:9: notifiers.proc.process.name: no process named "nope" in processes
b.yaml:11: processes[0].command: required
b.yaml:13: maintenance[0].checks[0]: no check named "ghost"
b.yaml:13: maintenance[0].duration: required and positive with cron
b.yaml:16: checks[0].actions.down[0]: unknown notifier "ops"
b.yaml:16: checks[0].actions.down[1]: unknown notifier "missing"
b.yaml:17: checks[0].parents[0]: a check cannot be its own parent
b.yaml:17: checks[0].parents[1]: no check named "ghost"`
	if err == nil || err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := Parse("bomb.yaml", []byte(b.String()), nil)
	if err == nil {
		t.Fatal("accepted")
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90s": 90 * time.Second, "1w2d3h": (9*24 + 3) * time.Hour} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "10", "d", "1x", "5 minutes", "99999d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestExampleConfigs(t *testing.T) {
	files, _ := filepath.Glob("../../examples/watchdog/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example configs")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func mustRead(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WithoutChecks drops the checks and nothing else, and leaves c as it was.
func TestWithoutChecks(t *testing.T) {
	c, err := Parse("c.yaml", []byte("api_keys: [{name: ops, key: \"0123456789abcdef0123456789abcdef\"}]\nchecks:\n  - {name: a, period: 1m}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	slim := c.WithoutChecks()
	if slim.Checks != nil || len(slim.ModelChecks(IDs{})) != 0 {
		t.Errorf("slim keeps checks: %d / %d", len(slim.Checks), len(slim.ModelChecks(IDs{})))
	}
	if len(c.Checks) != 1 || len(c.ModelChecks(IDs{})) != 1 {
		t.Errorf("the original lost its checks: %d / %d", len(c.Checks), len(c.ModelChecks(IDs{})))
	}
	if len(slim.APIKeys) != 1 || !slices.Equal(slim.Server.Listen, c.Server.Listen) || slim.Keys() != c.Keys() {
		t.Errorf("slim lost more than the checks: keys %d, listen %v", len(slim.APIKeys), slim.Server.Listen)
	}
}

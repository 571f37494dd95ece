package config

import (
	"reflect"
	"slices"
	"testing"

	"github.com/vitals-go/vitals/internal/pull"
)

// The stored form of every probe kind, byte for byte: a check whose probe
// encodes differently after an upgrade would be taken for a changed check.
func TestStoredProbes(t *testing.T) {
	cfg, err := Parse("p.yaml", []byte(`
checks:
  - name: web
    http:
      url: https://api.example.com/readyz
      method: HEAD
      status: 200-299
      headers: {Authorization: "Bearer x", X-Trace: "1"}
      json: ['$.status == "UP"']
      max_latency: 1s
      min_cert_validity: 14d
      tls: {insecure_skip_verify: true, server_name: api}
  - name: web-plain
    http: {url: "http://127.0.0.1:8080/", tls: {}}
  - name: grpc
    grpc: {address: "127.0.0.1:9090", service: orders.v1.Orders, headers: {k: v}}
  - name: grpcs
    grpc: {address: "127.0.0.1:9091", tls: {}, min_cert_validity: 1d}
  - name: db
    tcp: {address: "127.0.0.1:5432"}
    interval: 10s
    timeout: 1500ms
  - name: disk
    command:
      run: [sh, -c, "test -w /tmp"]
      dir: /tmp
      env: {LANG: C, A: "b=c"}
      max_output: 100
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"web":       `{"url":"https://api.example.com/readyz","method":"HEAD","header":{"Authorization":"Bearer x","X-Trace":"1"},"status":"200-299","json":["$.status == \"UP\""],"max_latency":"1s","min_cert_validity":"336h0m0s","tls":{"server_name":"api","insecure_skip_verify":true},"timeout":"5s"}`,
		"web-plain": `{"url":"http://127.0.0.1:8080/","timeout":"5s"}`,
		"grpc":      `{"url":"grpc://127.0.0.1:9090/orders.v1.Orders","header":{"k":"v"},"timeout":"5s"}`,
		"grpcs":     `{"url":"grpcs://127.0.0.1:9091","min_cert_validity":"24h0m0s","timeout":"5s"}`,
		"db":        `{"url":"tcp://127.0.0.1:5432","timeout":"1.5s"}`,
		"disk":      `{"command":["sh","-c","test -w /tmp"],"dir":"/tmp","env":["A=b=c","LANG=C"],"max_output":100,"timeout":"5s"}`,
	}
	for _, c := range cfg.ModelChecks(testIDs) {
		if got := string(c.Probe); got != want[c.Name] {
			t.Errorf("%s: stored probe\n got %s\nwant %s", c.Name, got, want[c.Name])
		}
	}
}

// Every registered probe kind is a field of Check, under its name and of
// the type its constructor returns, and Check has no other probe field.
func TestCheckHasEveryProbeKind(t *testing.T) {
	ct := reflect.TypeOf(Check{})
	probeType := reflect.TypeOf((*pull.Probe)(nil)).Elem()
	kinds := map[string]bool{}
	for _, k := range pull.ProbeKinds() {
		kinds[k.Name] = true
		f, ok := fieldByTag(ct, k.Name)
		if !ok {
			t.Errorf("Check has no field %q for the probe kind", k.Name)
			continue
		}
		if p := k.New(); f.Type != reflect.TypeOf(p) || p.Kind() != k.Name {
			t.Errorf("Check.%s is %v, the kind %q is %T", f.Name, f.Type, k.Name, p)
		}
	}
	for i := 0; i < ct.NumField(); i++ {
		if f := ct.Field(i); f.Type.Implements(probeType) && !kinds[f.Tag.Get("yaml")] {
			t.Errorf("Check.%s is a probe of no registered kind", f.Name)
		}
	}
	c := Check{HTTP: &pull.HTTPProbe{}, GRPC: &pull.GRPCProbe{}, TCP: &pull.TCPProbe{}, Command: &pull.CommandProbe{}}
	var got, want []string
	for _, p := range c.probes() {
		got = append(got, p.Kind())
	}
	for _, k := range pull.ProbeKinds() {
		want = append(want, k.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Check.probes: %v, want the registry's %v", got, want)
	}
}

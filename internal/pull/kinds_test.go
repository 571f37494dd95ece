package pull

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// Specs as stored by earlier versions decode, and encode back to the same
// bytes; each is of the kind its config form names.
func TestStoredSpecs(t *testing.T) {
	for _, tc := range []struct{ kind, stored string }{
		{"http", `{"url":"https://api.example.com/readyz","method":"HEAD","header":{"Authorization":"Bearer x"},"status":"200-299","json":["$.status == \"UP\""],"max_latency":"1s","min_cert_validity":"336h0m0s","tls":{"ca_file":"/ca.pem","server_name":"api","insecure_skip_verify":true},"timeout":"5s"}`},
		{"http", `{"url":"unix:///run/app.sock:/healthz","timeout":"5s"}`},
		{"grpc", `{"url":"grpc://127.0.0.1:9090/orders.v1.Orders","header":{"k":"v"},"timeout":"5s"}`},
		{"grpc", `{"url":"grpcs://127.0.0.1:9091","min_cert_validity":"24h0m0s","timeout":"5s"}`},
		{"tcp", `{"url":"tcp://127.0.0.1:5432","timeout":"1.5s"}`},
		{"command", `{"command":["sh","-c","test -w /tmp"],"dir":"/tmp","env":["A=b=c","LANG=C"],"max_output":100,"timeout":"5s"}`},
	} {
		s, err := Decode([]byte(tc.stored))
		if err != nil {
			t.Fatalf("%s: %v", tc.stored, err)
		}
		if got := string(s.Encode()); got != tc.stored {
			t.Errorf("re-encoded\n got %s\nwant %s", got, tc.stored)
		}
		if k := KindOf(s); k != tc.kind {
			t.Errorf("KindOf(%s) = %q, want %q", tc.stored, k, tc.kind)
		}
	}
	if k := KindOf(Spec{URL: "ftp://x"}); k != "" {
		t.Errorf("KindOf(ftp) = %q", k)
	}
}

// Each kind decodes from its YAML and is stored as the Spec of its kind.
func TestProbeKinds(t *testing.T) {
	yamls := map[string]string{
		"http":    `{url: "https://x/", headers: {A: b}, max_latency: 2d, tls: {server_name: x}}`,
		"grpc":    `{address: "h:1", service: s, tls: {}}`,
		"tcp":     `{address: "h:2"}`,
		"command": `{run: [x, y], env: {B: "2", A: "1"}}`,
	}
	want := map[string]string{
		"http":    `{"url":"https://x/","header":{"A":"b"},"max_latency":"48h0m0s","tls":{"server_name":"x"}}`,
		"grpc":    `{"url":"grpcs://h:1/s"}`,
		"tcp":     `{"url":"tcp://h:2"}`,
		"command": `{"command":["x","y"],"env":["A=1","B=2"]}`,
	}
	for _, k := range ProbeKinds() {
		p := k.New()
		if err := yaml.Unmarshal([]byte(yamls[k.Name]), p); err != nil {
			t.Fatalf("%s: %v", k.Name, err)
		}
		s := p.Spec()
		if got := string(s.Encode()); got != want[k.Name] {
			t.Errorf("%s: stored as %s, want %s", k.Name, got, want[k.Name])
		}
		if p.Kind() != k.Name || KindOf(s) != k.Name || p.Required() != "" || p.Validate() != nil {
			t.Errorf("%s: kind %q, KindOf %q, required %q, %v", k.Name, p.Kind(), KindOf(s), p.Required(), p.Validate())
		}
		if k.New().Required() == "" {
			t.Errorf("%s: an empty probe has nothing required", k.Name)
		}
	}
}

package pull

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vitals-go/vitals/internal/clip"
	"github.com/vitals-go/vitals/internal/probe"
)

// Probe is one kind of probe as the config writes it (a check's http:,
// grpc:, tcp: or command:): the config decodes YAML into it directly (its
// yaml tags are the schema, unknown fields are errors), and it knows the
// Spec it is stored and run as. The kinds are registered in ProbeKinds.
type Probe interface {
	// Kind returns the name the probe is registered and written under.
	Kind() string
	// Spec returns the stored form of the probe, without its Timeout
	// (the check's).
	Spec() Spec
	// Required names the probe's required field when it is left empty
	// ("url"), or returns "" (then the Spec is worth compiling).
	Required() string
	// Validate reports what the kind itself rules out beyond what Compile
	// checks of its Spec, as *FieldError relative to the probe; nil if
	// nothing.
	Validate() error
	// Field returns the probe's own name of a field that Compile's
	// FieldError names in Spec terms ("url" of a gRPC probe is its
	// "address").
	Field(specField string) string
}

// ProbeKind is one registered kind of probe.
type ProbeKind struct {
	// Name is the kind's key in a check of the config: "http".
	Name string
	// Schemes are the schemes of the stored Spec.URL of the kind (none:
	// the command kind, stored as Spec.Command).
	Schemes []probe.Scheme
	// New returns the kind's empty config form, to decode into.
	New func() Probe
}

// ProbeKinds returns the registry of probe kinds, in the order the config
// documents them: every kind the config takes, and the kind of every
// Spec (KindOf). A check of the config has one field per kind, typed as
// New returns (its test holds it to this list).
func ProbeKinds() []ProbeKind {
	return []ProbeKind{
		{Name: "http", Schemes: []probe.Scheme{probe.SchemeHTTP, probe.SchemeHTTPS, probe.SchemeUnix}, New: func() Probe { return &HTTPProbe{} }},
		{Name: "grpc", Schemes: []probe.Scheme{probe.SchemeGRPC, probe.SchemeGRPCS}, New: func() Probe { return &GRPCProbe{} }},
		{Name: "tcp", Schemes: []probe.Scheme{probe.SchemeTCP}, New: func() Probe { return &TCPProbe{} }},
		{Name: "command", New: func() Probe { return &CommandProbe{} }},
	}
}

// KindOf returns the registered kind of s, by its URL's scheme or its
// command, or "" when s has neither or a scheme no kind takes.
func KindOf(s Spec) string {
	scheme, _, ok := strings.Cut(s.URL, "://")
	for _, k := range ProbeKinds() {
		if len(k.Schemes) == 0 && len(s.Command) > 0 && s.URL == "" {
			return k.Name
		}
		for _, sc := range k.Schemes {
			if ok && strings.EqualFold(scheme, string(sc)) {
				return k.Name
			}
		}
	}
	return ""
}

// HTTPProbe probes an HTTP endpoint. Its fields are stored as they are,
// under the Spec's names.
type HTTPProbe struct {
	// URL: http://, https:// or unix:///socket:/path. Required.
	URL string `yaml:"url"`
	// Method: default GET.
	Method string `yaml:"method"`
	// Headers are added to the request (put secrets in ${ENV}).
	Headers map[string]string `yaml:"headers"`
	// Status: accepted statuses, "200-299,304". Default "200-399".
	Status string `yaml:"status"`
	// JSON: conditions on the JSON body, all must hold, such as
	// '$.status == "UP"' (syntax: docs/config.md). Default none.
	JSON []string `yaml:"json"`
	// MaxLatency: slower answers fail. Default 0: off.
	MaxLatency Duration `yaml:"max_latency"`
	// MinCertValidity: https only; fails when the server certificate
	// expires within it (e.g. 14d). Default 0: off.
	MinCertValidity Duration `yaml:"min_cert_validity"`
	// CertNotice: with min_cert_validity, the check's cert channels are
	// told once per certificate when it expires within it. Default 2 ×
	// min_cert_validity.
	CertNotice Duration `yaml:"cert_notice"`
	TLS        *TLS     `yaml:"tls"`
	// FreshConnection: connect afresh for every probe instead of reusing
	// a kept-alive connection to the target, to prove the server still
	// accepts connections. Default false.
	FreshConnection bool `yaml:"fresh_connection"`
}

// Kind implements Probe.
func (*HTTPProbe) Kind() string { return "http" }

// Spec implements Probe.
func (h *HTTPProbe) Spec() Spec {
	return Spec{URL: h.URL, Method: h.Method, Header: h.Headers, Status: h.Status, JSON: h.JSON, MaxLatency: h.MaxLatency,
		MinCertValidity: h.MinCertValidity, CertNotice: h.CertNotice, TLS: h.TLS.value(), FreshConnection: h.FreshConnection}
}

// Required implements Probe.
func (h *HTTPProbe) Required() string { return required(h.URL == "", "url") }

// Validate implements Probe: the URL is one of the http kind's.
func (h *HTTPProbe) Validate() error {
	if h.URL == "" || strings.HasPrefix(h.URL, "http://") || strings.HasPrefix(h.URL, "https://") || strings.HasPrefix(h.URL, "unix://") {
		return nil
	}
	return &FieldError{Field: "url", Err: fmt.Errorf("%q must start with http://, https:// or unix://", clip.Text(probe.RedactTarget(h.URL), 60))}
}

// Field implements Probe: the names are the Spec's.
func (*HTTPProbe) Field(f string) string { return f }

// GRPCProbe probes grpc.health.v1. It is stored as the URL
// grpc://address/service (grpcs:// with TLS).
type GRPCProbe struct {
	// Address: host:port. Required.
	Address string `yaml:"address"`
	// Service: the service name asked about. Default "": the server.
	Service string `yaml:"service"`
	// TLS: set (even empty, tls: {}) to use TLS. Default: cleartext h2c.
	TLS *TLS `yaml:"tls"`
	// Headers are sent as request metadata.
	Headers map[string]string `yaml:"headers"`
	// MinCertValidity: with TLS; fails when the certificate expires
	// within it. Default 0: off.
	MinCertValidity Duration `yaml:"min_cert_validity"`
	// CertNotice: as for http. Default 2 × min_cert_validity.
	CertNotice Duration `yaml:"cert_notice"`
}

// Kind implements Probe.
func (*GRPCProbe) Kind() string { return "grpc" }

// Spec implements Probe.
func (g *GRPCProbe) Spec() Spec {
	scheme := string(probe.SchemeGRPC)
	if g.TLS != nil {
		scheme = string(probe.SchemeGRPCS)
	}
	s := Spec{URL: scheme + "://" + g.Address, Header: g.Headers, TLS: g.TLS.value(), MinCertValidity: g.MinCertValidity, CertNotice: g.CertNotice}
	if g.Service != "" {
		s.URL += "/" + g.Service
	}
	return s
}

// Required implements Probe.
func (g *GRPCProbe) Required() string { return required(g.Address == "", "address") }

// Validate implements Probe.
func (*GRPCProbe) Validate() error { return nil }

// Field implements Probe: the Spec's url is the address.
func (*GRPCProbe) Field(f string) string { return strings.Replace(f, "url", "address", 1) }

// TCPProbe checks that a TCP connection opens. It is stored as the URL
// tcp://address.
type TCPProbe struct {
	// Address: host:port. Required.
	Address string `yaml:"address"`
}

// Kind implements Probe.
func (*TCPProbe) Kind() string { return "tcp" }

// Spec implements Probe.
func (t *TCPProbe) Spec() Spec { return Spec{URL: string(probe.SchemeTCP) + "://" + t.Address} }

// Required implements Probe.
func (t *TCPProbe) Required() string { return required(t.Address == "", "address") }

// Validate implements Probe.
func (*TCPProbe) Validate() error { return nil }

// Field implements Probe: the Spec's url is the address.
func (*TCPProbe) Field(f string) string { return strings.Replace(f, "url", "address", 1) }

// CommandProbe runs a program; healthy when it exits 0 within the timeout.
// It is stored as Spec.Command, with Env as KEY=VALUE sorted by key.
type CommandProbe struct {
	// Run is the program and its arguments (no shell: use
	// ["sh", "-c", "..."] for one). Required.
	Run []string `yaml:"run"`
	// Dir: working directory. Default: the daemon's.
	Dir string `yaml:"dir"`
	// Env is added to the daemon's environment.
	Env map[string]string `yaml:"env"`
	// MaxOutput caps the output kept (its tail is the failure reason).
	// Default 4096.
	MaxOutput int `yaml:"max_output"`
}

// Kind implements Probe.
func (*CommandProbe) Kind() string { return "command" }

// Spec implements Probe.
func (x *CommandProbe) Spec() Spec {
	s := Spec{Command: x.Run, Dir: x.Dir, MaxOutput: x.MaxOutput}
	keys := make([]string, 0, len(x.Env))
	for k := range x.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.Env = append(s.Env, k+"="+x.Env[k])
	}
	return s
}

// Required implements Probe.
func (x *CommandProbe) Required() string { return required(len(x.Run) == 0, "run") }

// Validate implements Probe.
func (*CommandProbe) Validate() error { return nil }

// Field implements Probe: the Spec's command is run, and a problem with
// one env[i] is reported on env (a mapping in the config).
func (*CommandProbe) Field(f string) string {
	switch {
	case strings.HasPrefix(f, "command"):
		return "run" + strings.TrimPrefix(f, "command")
	case strings.HasPrefix(f, "env"):
		return "env"
	}
	return f
}

// value returns the TLS settings of a probe whose tls: may be left out.
func (t *TLS) value() TLS {
	if t == nil {
		return TLS{}
	}
	return *t
}

func required(empty bool, field string) string {
	if empty {
		return field
	}
	return ""
}

// Interface guards.
var (
	_ Probe = (*HTTPProbe)(nil)
	_ Probe = (*GRPCProbe)(nil)
	_ Probe = (*TCPProbe)(nil)
	_ Probe = (*CommandProbe)(nil)
)

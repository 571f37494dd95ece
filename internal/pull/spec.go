package pull

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/vitals-go/vitals/internal/clip"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/probe"
)

// Defaults of a Spec's fields left zero.
const (
	// DefaultTimeout bounds one probe.
	DefaultTimeout = 5 * time.Second
	// DefaultJSONBodyLimit is how much of an HTTP body is read when JSON
	// conditions are set (otherwise probe.DefaultMaxBody).
	DefaultJSONBodyLimit = 64 << 10
	// DefaultMaxOutput is how much of a command's output (stdout and
	// stderr together) is kept; the tail is reported in a failure.
	DefaultMaxOutput = 4 << 10
)

// Spec is the definition of a pull check's probe: what model.Check.Probe
// holds, JSON-encoded (Encode, Decode). Exactly one of URL and Command is
// set. Field names in errors are those of the YAML config (see
// docs/config.md), so a config loader can point at the line.
type Spec struct {
	// URL is the target: http://, https://, unix://…:/path (HTTP),
	// grpc://, grpcs:// (gRPC health, service as the path), tcp://.
	// Parsed by probe.ParseTarget.
	URL string `json:"url,omitempty"`
	// Method is the HTTP method. Default GET.
	Method string `json:"method,omitempty"`
	// Header is added to HTTP requests (and sent as gRPC metadata).
	Header map[string]string `json:"header,omitempty"`
	// Status lists the accepted HTTP statuses, as "200-299,304". Default
	// "200-399".
	Status string `json:"status,omitempty"`
	// JSON are conditions on the JSON body (see Condition); all must hold.
	JSON []string `json:"json,omitempty"`
	// MaxLatency fails a probe that took longer. Default 0: off.
	MaxLatency Duration `json:"max_latency,omitempty"`
	// MinCertValidity fails an https or grpcs probe whose server
	// certificate (the earliest expiring of the chain) expires within it.
	// Default 0: off.
	MinCertValidity Duration `json:"min_cert_validity,omitempty"`
	// CertNotice, with MinCertValidity: a probe finding the certificate
	// expiring within it sets model.Result.CertExpiring (the check's cert
	// channels hear of it once per certificate). Default 2 ×
	// MinCertValidity.
	CertNotice Duration `json:"cert_notice,omitempty"`
	// TLS configures https and grpcs targets.
	TLS TLS `json:"tls,omitzero"`
	// FreshConnection makes every probe of an HTTP target connect afresh
	// instead of reusing a kept-alive connection to its target (shared
	// with the other checks of the target): the probe then also proves
	// the server accepts connections (and, over TLS, completes a
	// handshake). Default false.
	FreshConnection bool `json:"fresh_connection,omitempty"`
	// Command is a program and its arguments (no shell), healthy when it
	// exits 0.
	Command []string `json:"command,omitempty"`
	// Dir is the command's working directory. Default: the daemon's.
	Dir string `json:"dir,omitempty"`
	// Env is added to the command's environment, as KEY=VALUE.
	Env []string `json:"env,omitempty"`
	// MaxOutput caps the captured output of a command. Default
	// DefaultMaxOutput.
	MaxOutput int `json:"max_output,omitempty"`
	// Timeout bounds one probe. Default DefaultTimeout.
	Timeout Duration `json:"timeout,omitempty"`
}

// TLS configures the TLS client of https and grpcs probes (see
// probe.TLSOptions), as the config writes it (a probe's tls:) and as the
// stored Spec does. The zero value verifies against the system roots.
type TLS struct {
	// CAFile is a PEM file of CAs to trust. Default: the system roots.
	CAFile string `yaml:"ca_file" json:"ca_file,omitempty"`
	// CertFile and KeyFile are a client certificate and key (mutual TLS).
	// Set both or neither. Default: none.
	CertFile string `yaml:"cert_file" json:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file" json:"key_file,omitempty"`
	// ServerName is checked against the certificate. Default: the host.
	ServerName string `yaml:"server_name" json:"server_name,omitempty"`
	// InsecureSkipVerify accepts any certificate. Default false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify" json:"insecure_skip_verify,omitempty"`
}

// ValidateProbe checks a JSON-encoded Spec (the "probe" of a pull check
// created through the JSON API): it decodes and compiles it.
func ValidateProbe(raw []byte) error {
	s, err := Decode(raw)
	if err != nil {
		return err
	}
	_, err = Compile(s)
	return err
}

// FieldError is a problem with one field of a Spec, the model's field
// error; Field is the YAML name relative to the probe ("url", "json[1]",
// "tls.ca_file").
type FieldError = model.FieldError

// Encode returns the JSON form stored in model.Check.Probe.
func (s Spec) Encode() []byte {
	b, err := json.Marshal(s)
	if err != nil { // a Spec always encodes
		panic(err)
	}
	return b
}

// Decode parses model.Check.Probe.
func Decode(b []byte) (Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("probe spec: %w", err)
	}
	return s, nil
}

// Prober is a compiled Spec, ready to run. It is safe for concurrent use.
type Prober struct {
	spec    Spec
	target  probe.Target
	prober  *probe.Prober
	conds   []*Condition
	timeout time.Duration
}

// Compile checks s and prepares it (parses the target and conditions,
// loads TLS files). Every problem is reported, joined, as a *FieldError.
// Its HTTP probes connect afresh each time; CompileWith shares
// connections.
func Compile(s Spec) (*Prober, error) { return CompileWith(s, nil) }

// CompileWith is Compile whose HTTP probes keep their connections in
// conns (shared per target with the other probers given it; see
// probe.Conns), unless s.FreshConnection. A nil conns is Compile.
func CompileWith(s Spec, conns *probe.Conns) (*Prober, error) {
	var errs []error
	bad := func(field string, err error) { errs = append(errs, &FieldError{Field: field, Err: err}) }
	p := &Prober{spec: s, timeout: s.Timeout.D()}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	if s.Timeout < 0 {
		bad("timeout", errors.New("must not be negative"))
	}
	if s.MaxLatency < 0 {
		bad("max_latency", errors.New("must not be negative"))
	}
	if s.MinCertValidity < 0 {
		bad("min_cert_validity", errors.New("must not be negative"))
	}
	switch {
	case s.CertNotice < 0:
		bad("cert_notice", errors.New("must not be negative"))
	case s.CertNotice > 0 && s.MinCertValidity == 0:
		bad("cert_notice", errors.New("needs min_cert_validity"))
	case s.CertNotice > 0 && s.CertNotice <= s.MinCertValidity:
		bad("cert_notice", fmt.Errorf("must be longer than min_cert_validity (%v): the notice comes before the check fails", s.MinCertValidity.D()))
	}
	switch {
	case len(s.Command) > 0 && s.URL != "":
		bad("command", errors.New("a probe is a URL or a command, not both"))
	case len(s.Command) > 0:
		if s.Command[0] == "" {
			bad("command[0]", errors.New("the program must not be empty"))
		}
		if s.MaxOutput < 0 {
			bad("max_output", errors.New("must not be negative"))
		}
		for i, kv := range s.Env {
			// The value is never quoted: it may be a secret.
			switch k, _, ok := strings.Cut(kv, "="); {
			case !ok:
				bad(fmt.Sprintf("env[%d]", i), fmt.Errorf("%q is not KEY=VALUE", clip.Text(kv, 40)))
			case k == "":
				bad(fmt.Sprintf("env[%d]", i), errors.New("is not KEY=VALUE: the name before '=' is empty"))
			}
		}
	case s.URL == "":
		bad("url", errors.New("is required"))
	default:
		t, err := probe.ParseTarget(s.URL)
		if err != nil {
			bad("url", err)
			break
		}
		p.target = t
		opts := probe.Options{Timeout: p.timeout, Method: s.Method, TLS: probe.TLSOptions(s.TLS), MaxBody: -1,
			Conns: conns, Fresh: s.FreshConnection}
		if !t.IsHTTP() && (s.Method != "" || s.Status != "" || len(s.JSON) > 0) {
			bad("url", fmt.Errorf("method, status and json conditions need an HTTP target, not %s", t.Scheme))
		}
		if !t.IsHTTP() && s.FreshConnection {
			bad("fresh_connection", fmt.Errorf("needs an HTTP target: %s probes always connect afresh", t.Scheme))
		}
		if s.Status != "" {
			r, err := probe.ParseStatusRanges(s.Status)
			if err != nil {
				bad("status", err)
			}
			opts.Status = r
		}
		if len(s.Header) > 0 {
			opts.Header = http.Header{}
			for k, v := range s.Header {
				opts.Header.Set(k, v)
			}
		}
		for i, text := range s.JSON {
			c, err := ParseCondition(text)
			if err != nil {
				bad(fmt.Sprintf("json[%d]", i), err)
				continue
			}
			p.conds = append(p.conds, c)
		}
		if len(s.JSON) > 0 {
			opts.MaxBody = DefaultJSONBodyLimit
		}
		if s.MinCertValidity > 0 && t.Scheme != probe.SchemeHTTPS && t.Scheme != probe.SchemeGRPCS {
			bad("min_cert_validity", fmt.Errorf("needs an https or grpcs target, not %s", t.Scheme))
		}
		if len(errs) > 0 {
			break
		}
		pr, err := probe.New(opts)
		if err != nil {
			bad("url", err)
			break
		}
		p.prober = pr
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Spec returns the spec p was compiled from.
func (p *Prober) Spec() Spec { return p.spec }

// Timeout returns the probe's timeout, with the default applied.
func (p *Prober) Timeout() time.Duration { return p.timeout }

// Probe runs the probe once, within its timeout (and ctx), and returns the
// outcome as the engine takes it. A panic is a failed result.
func (p *Prober) Probe(ctx context.Context) (r model.Result) {
	start := time.Now()
	r.Time = start.UTC()
	defer func() {
		if v := recover(); v != nil {
			r.OK, r.Error = false, fmt.Sprintf("probe panicked: %v", v)
		}
		if r.Duration == 0 {
			r.Duration = time.Since(start)
		}
		r.Error = model.Truncate(r.Error, model.MaxReasonLen)
	}()
	if len(p.spec.Command) > 0 {
		return p.runCommand(ctx, start)
	}
	res := p.prober.Probe(ctx, p.target)
	r.Duration = res.Duration
	if !res.Healthy {
		r.Error = res.Reason
		return r
	}
	if max := p.spec.MaxLatency.D(); max > 0 && res.Duration > max {
		r.Error = fmt.Sprintf("latency %v over %v", res.Duration.Round(time.Millisecond), max)
		return r
	}
	if minv := p.spec.MinCertValidity.D(); minv > 0 && !res.CertExpiry.IsZero() {
		notice := p.spec.CertNotice.D()
		if notice == 0 {
			notice = 2 * minv
		}
		if res.CertExpiry.Sub(start) < notice && res.CertFingerprint != "" {
			r.CertExpiring = &model.CertNotice{Fingerprint: res.CertFingerprint, Expiry: res.CertExpiry.UTC()}
		}
		if left := res.CertExpiry.Sub(start); left < minv {
			r.Error = fmt.Sprintf("certificate expires %s (in %v, under %v)", res.CertExpiry.UTC().Format(time.RFC3339), left.Round(time.Minute), minv)
			return r
		}
	}
	if len(p.conds) > 0 {
		if res.Truncated {
			r.Error = fmt.Sprintf("body longer than %d bytes", DefaultJSONBodyLimit)
			return r
		}
		doc, err := decodeJSON(res.Body)
		if err != nil {
			r.Error = err.Error()
			return r
		}
		for _, c := range p.conds {
			if err := c.Eval(doc); err != nil {
				r.Error = err.Error()
				return r
			}
		}
	}
	r.OK = true
	return r
}

// runCommand runs the command probe: healthy on exit status 0.
func (p *Prober) runCommand(ctx context.Context, start time.Time) model.Result {
	r := model.Result{Time: start.UTC()}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.spec.Command[0], p.spec.Command[1:]...)
	cmd.Dir = p.spec.Dir
	if len(p.spec.Env) > 0 {
		cmd.Env = append(cmd.Environ(), p.spec.Env...)
	}
	// Its own process group, so that a timeout kills what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	limit := p.spec.MaxOutput
	if limit == 0 {
		limit = DefaultMaxOutput
	}
	out := &TailBuffer{Max: limit}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	r.Duration = time.Since(start)
	if err == nil {
		r.OK = true
		return r
	}
	reason := err.Error()
	if ctx.Err() != nil {
		reason = fmt.Sprintf("timeout after %v", p.timeout)
	}
	if tail := strings.TrimSpace(out.String()); tail != "" {
		reason += ": " + lastLines(tail, 300)
	}
	r.Error = reason
	return r
}

// lastLines returns at most n bytes from the end of s, starting at a line.
func lastLines(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return strings.ToValidUTF8(s, "")
}

// TailBuffer is an io.Writer keeping the last Max bytes written (the end of
// a job's output is where its error is). Truncated reports whether
// anything was dropped. Not safe for concurrent use: exec serialises
// writes when Stdout and Stderr are the same writer.
type TailBuffer struct {
	Max       int
	buf       []byte
	Truncated bool
}

// Write implements io.Writer; it never fails.
func (b *TailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= b.Max {
		b.Truncated = b.Truncated || len(p) > b.Max || len(b.buf) > 0
		b.buf = append(b.buf[:0], p[len(p)-b.Max:]...)
		return n, nil
	}
	if over := len(b.buf) + len(p) - b.Max; over > 0 {
		b.Truncated = true
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// Bytes returns the kept bytes.
func (b *TailBuffer) Bytes() []byte { return b.buf }

// String returns the kept bytes as a string.
func (b *TailBuffer) String() string { return string(b.buf) }

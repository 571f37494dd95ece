package probe

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/clip"
)

// Defaults used when the corresponding Options field is zero.
const (
	// DefaultTimeout bounds a probe when Options.Timeout is zero. It is the
	// kubelet's default (timeoutSeconds: 1).
	DefaultTimeout = time.Second
	// DefaultMaxBody is how many bytes of an HTTP response body a Result
	// keeps when Options.MaxBody is zero.
	DefaultMaxBody = 4 << 10
	// DefaultUserAgent is sent unless Options.Header sets User-Agent.
	DefaultUserAgent = "vitals-probe/1"
)

// Options configures a Prober. The zero value is ready to use: a 1s timeout,
// GET, statuses 200-399, system TLS roots.
type Options struct {
	// Timeout bounds the whole probe: connect, TLS handshake, request and
	// reading the response. Zero means DefaultTimeout (1s); it must not be
	// negative. A deadline on the context passed to Probe applies as well.
	Timeout time.Duration

	// Status lists the HTTP status codes that count as healthy for http,
	// https and unix targets. Nil means DefaultStatusRanges (200-399, as
	// the kubelet). Redirects are never followed: a 3xx is judged as it is.
	Status StatusRanges

	// Method is the HTTP method for http, https and unix targets.
	// Empty means GET.
	Method string

	// Header is added to HTTP requests, and sent as request metadata to
	// grpc and grpcs targets (an authorization token, for instance). A
	// "Host" entry sets the HTTP Host header (the :authority of a gRPC
	// request, for a proxy that routes by it). An entry replaces the default
	// of the same name; the defaults are User-Agent: DefaultUserAgent and,
	// for HTTP, Accept: */*.
	Header http.Header

	// TLS configures https and grpcs targets. The zero value verifies the
	// server against the system's roots (a FROM scratch image has none: set
	// CAFile there).
	TLS TLSOptions

	// MaxBody caps how many bytes of an HTTP response body Result.Body
	// keeps. Zero means DefaultMaxBody (4 KiB); negative keeps none and does
	// not read the body at all.
	MaxBody int

	// Conns, when set, keeps the connections of HTTP probes (http, https,
	// unix) open between probes, shared per target with every Prober
	// given the same Conns (see Conns). Default nil: every probe connects
	// afresh and closes its connection, as an orchestrator's probe does.
	// gRPC and TCP probes always connect afresh.
	Conns *Conns
	// Fresh makes every HTTP probe connect afresh even when Conns is set:
	// the probe then proves that the server still accepts connections
	// (its accept queue, its TLS handshake), which a reused connection
	// does not. Default false.
	Fresh bool
}

// Result is the verdict of one probe.
type Result struct {
	// Healthy is the verdict.
	Healthy bool
	// Reason says why, in a few words: "status 200", "SERVING",
	// "connected" when healthy; "connection refused", "timeout after 1s",
	// "status 503", "NOT_SERVING", "TLS: x509: ..." when not. It is one line
	// of printable text.
	Reason string
	// Err is nil when Healthy, and otherwise an error whose message is
	// Reason and which wraps one of the Err* sentinels of this package and,
	// where there is one, the underlying error.
	Err error
	// Duration is how long the probe took.
	Duration time.Duration
	// StatusCode is the HTTP status code of the response (for gRPC targets,
	// of the HTTP/2 response), or 0 when none was received.
	StatusCode int
	// ServingStatus is the grpc.health.v1 serving status of gRPC targets:
	// "SERVING", "NOT_SERVING", "UNKNOWN" or "SERVICE_UNKNOWN"; "" for other
	// targets or when no answer was decoded.
	ServingStatus string
	// CertExpiry is the earliest NotAfter among the certificates the server
	// presented over TLS (https, grpcs), for certificate-expiry alerts; zero
	// without TLS or when no response arrived.
	CertExpiry time.Time
	// CertFingerprint is the SHA-256 (hex) of the certificate that
	// expires at CertExpiry: it names the certificate, so that a notice of
	// its expiry is sent once ("" without TLS).
	CertFingerprint string
	// Body holds the first bytes of an HTTP response body, up to
	// Options.MaxBody.
	Body []byte
	// Truncated reports whether the body was longer than Body.
	Truncated bool
}

// Prober runs probes with one set of options. It is safe for concurrent
// use. Without Options.Conns it holds no connections between probes: every
// probe dials afresh, as an orchestrator's probe does, and closes its
// connection before returning.
type Prober struct {
	opts     Options
	tls      *tls.Config // nil when no TLS option is set
	tlsFiles string      // digest of the TLS files (Conns' key)
}

// New validates opts and loads the TLS files they name. The files are read
// once, here; build a new Prober to pick up rotated certificates.
func New(opts Options) (*Prober, error) {
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("timeout %v is negative", opts.Timeout)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Method == "" {
		opts.Method = http.MethodGet
	}
	if !validToken(opts.Method) {
		return nil, fmt.Errorf("method %q is not a valid HTTP method", clip.Bytes(opts.Method, 20))
	}
	for name, values := range opts.Header {
		if !validToken(name) {
			return nil, fmt.Errorf("header name %q is not valid", clip.Bytes(name, 40))
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, fmt.Errorf("header %s: value contains a line break or NUL", name)
			}
		}
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = DefaultMaxBody
	}
	for _, r := range opts.Status {
		if r.Min < 100 || r.Max > 599 || r.Min > r.Max {
			return nil, fmt.Errorf("status range %d-%d is not within 100-599", r.Min, r.Max)
		}
	}
	conf, err := opts.TLS.config()
	if err != nil {
		return nil, err
	}
	opts.Header = opts.Header.Clone()
	return &Prober{opts: opts, tls: conf, tlsFiles: filesDigest(opts.TLS)}, nil
}

// Options returns the options in effect, with defaults filled in.
func (p *Prober) Options() Options {
	o := p.opts
	o.Header = o.Header.Clone()
	o.Status = append(StatusRanges(nil), o.Status...)
	return o
}

// Probe probes t once and returns the verdict. It returns within the
// Prober's timeout (or ctx's deadline, whichever is sooner) plus the time
// needed to close the connection.
func (p *Prober) Probe(ctx context.Context, t Target) (res Result) {
	start := time.Now()
	timeout := &timeoutError{d: p.opts.Timeout}
	ctx, cancel := context.WithTimeoutCause(ctx, p.opts.Timeout, timeout)
	defer cancel()
	defer func() {
		res.Duration = time.Since(start)
		if res.Err != nil {
			res.Healthy = false
			res.Reason = res.Err.Error()
		}
	}()
	switch t.Scheme {
	case SchemeHTTP, SchemeHTTPS, SchemeUnix:
		return p.probeHTTP(ctx, t)
	case SchemeGRPC, SchemeGRPCS:
		return p.probeGRPC(ctx, t)
	case SchemeTCP:
		return p.probeTCP(ctx, t)
	}
	return Result{Err: fail(ErrBadTarget, fmt.Sprintf("unknown scheme %q", clip.Bytes(string(t.Scheme), 20)), nil)}
}

// validToken reports whether s is an RFC 9110 token (a method or header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Sentinel errors wrapped by Result.Err. Test with errors.Is.
var (
	// ErrTimeout: the probe did not finish within its timeout.
	ErrTimeout = errors.New("timeout")
	// ErrRefused: the connection was refused (nothing listens there).
	ErrRefused = errors.New("connection refused")
	// ErrConnect: the connection failed otherwise (DNS, unreachable, reset,
	// closed early, missing socket file).
	ErrConnect = errors.New("connection failed")
	// ErrTLS: the TLS handshake failed (verification, protocol, alert).
	ErrTLS = errors.New("TLS failed")
	// ErrStatus: an HTTP status code outside Options.Status.
	ErrStatus = errors.New("unexpected status")
	// ErrNotServing: a gRPC health answer other than SERVING.
	ErrNotServing = errors.New("not serving")
	// ErrServiceUnknown: the gRPC health server does not know the service
	// (grpc-status 5 NOT_FOUND).
	ErrServiceUnknown = errors.New("service unknown")
	// ErrGRPC: the gRPC call failed with another grpc-status.
	ErrGRPC = errors.New("gRPC call failed")
	// ErrProtocol: the server answered, but not in the protocol expected
	// (not HTTP/2, not gRPC, a malformed message).
	ErrProtocol = errors.New("protocol error")
	// ErrCanceled: the caller's context was canceled.
	ErrCanceled = errors.New("canceled")
)

// probeError is a failed probe: its message is the short reason, and it
// unwraps to a sentinel and the underlying cause.
type probeError struct {
	kind   error
	reason string
	cause  error
}

func (e *probeError) Error() string { return e.reason }

func (e *probeError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func fail(kind error, reason string, cause error) error {
	return &probeError{kind: kind, reason: oneLine(reason, 300), cause: cause}
}

// timeoutError is the cause of a probe's context when its own timeout fires.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string { return "timeout after " + e.d.String() }

func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// oneLine makes s a single line of printable text of at most n bytes.
func oneLine(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= n {
			b.WriteString("...")
			break
		}
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || r == '\uFFFD':
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// certExpiry returns the earliest NotAfter of the peer's certificates.
// certFingerprint is the SHA-256 (hex) of the earliest expiring
// certificate of cs ("" without one).
func certFingerprint(cs *tls.ConnectionState) string {
	if cs == nil {
		return ""
	}
	var earliest *x509.Certificate
	for _, c := range cs.PeerCertificates {
		if earliest == nil || c.NotAfter.Before(earliest.NotAfter) {
			earliest = c
		}
	}
	if earliest == nil {
		return ""
	}
	sum := sha256.Sum256(earliest.Raw)
	return hex.EncodeToString(sum[:])
}

func certExpiry(cs *tls.ConnectionState) time.Time {
	var earliest time.Time
	if cs == nil {
		return earliest
	}
	for _, c := range cs.PeerCertificates {
		if earliest.IsZero() || c.NotAfter.Before(earliest) {
			earliest = c.NotAfter
		}
	}
	return earliest
}

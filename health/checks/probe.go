package checks

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/vitals-go/vitals/health"
)

// SyntheticHeader is the request header that marks a [Probe]'s synthetic
// request, with the value "1", for logs and for handlers that only see
// headers. Clients can send it too: to tell synthetic requests apart
// reliably, use [IsSynthetic].
const SyntheticHeader = "X-Vitals-Synthetic"

type syntheticKey struct{}

// IsSynthetic reports whether r is a [Probe]'s synthetic request, so that
// the application can keep it out of its business metrics, rate limits and
// audit logs. It looks at r's context, which a client cannot forge (unlike
// the SyntheticHeader, which it can send), and which survives middleware
// that derives a new context from r's.
func IsSynthetic(r *http.Request) bool {
	v, _ := r.Context().Value(syntheticKey{}).(bool)
	return v
}

// Probe sends a synthetic request through the application's own
// http.Handler stack (its router, middleware and handler) in memory, so the
// health check follows the same path as real traffic without a network
// round trip. Register it with the interval the probe should run on.
//
// The request has the context of the check (its deadline bounds the
// handler), RemoteAddr "127.0.0.1:0", the [SyntheticHeader] set to "1", and
// is recognised by [IsSynthetic]. The response is recorded in memory; at
// most MaxBody bytes of its body are kept.
//
// Create it with [NewProbe]; it is safe for concurrent use if the handler
// is. A panicking handler panics the check, which the Monitor turns into a
// failed result.
type Probe struct {
	handler http.Handler
	opts    ProbeOptions
	target  *url.URL
	err     error
}

var _ health.Checker = (*Probe)(nil)

// ProbeOptions configures [NewProbe]. The zero value is ready to use.
type ProbeOptions struct {
	// Method is the request method. Default: GET.
	Method string
	// Target is the request target, a path with an optional query such as
	// "/api/orders?limit=1". Default: "/".
	Target string
	// Host is the request's Host. Default: "localhost".
	Host string
	// Header is added to the request.
	Header http.Header
	// Body is the request body. Default: none.
	Body []byte
	// Statuses are the accepted status codes. Default: any 2xx.
	Statuses []int
	// MaxBody caps the bytes of the response body kept for Check and for
	// error texts; the handler may write more. Default: DefaultMaxBody
	// (4 KiB).
	MaxBody int
	// Check, when set, judges a response whose status is accepted; its
	// error fails the check.
	Check func(status int, header http.Header, body []byte) error
}

// NewProbe returns a checker that serves a synthetic request with h. An
// invalid Target is reported by every Check.
//
//	checks.NewProbe(mux, checks.ProbeOptions{Target: "/api/ping"})
func NewProbe(h http.Handler, opts ProbeOptions) *Probe {
	p := &Probe{handler: h, opts: opts}
	if p.opts.Method == "" {
		p.opts.Method = http.MethodGet
	}
	if p.opts.Target == "" {
		p.opts.Target = "/"
	}
	if p.opts.Host == "" {
		p.opts.Host = "localhost"
	}
	if p.opts.MaxBody <= 0 {
		p.opts.MaxBody = DefaultMaxBody
	}
	if !strings.HasPrefix(p.opts.Target, "/") {
		p.err = fmt.Errorf("target %q does not start with /", p.opts.Target)
	} else if p.target, p.err = url.ParseRequestURI(p.opts.Target); p.err == nil && p.target.Host != "" {
		p.err = fmt.Errorf("target %q has a host", p.opts.Target)
	}
	if p.handler == nil {
		p.err = fmt.Errorf("handler is nil")
	}
	return p
}

// Check serves the request and judges the response. It fails with
// [ErrUnexpectedStatus] (naming the status, the accepted ones and an excerpt
// of the body) or with the Check predicate's error. It observes the status
// code.
func (p *Probe) Check(ctx context.Context) error {
	if p.err != nil {
		return fmt.Errorf("probe: %w", p.err)
	}
	u := *p.target
	r := (&http.Request{
		Method:     p.opts.Method,
		URL:        &u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, len(p.opts.Header)+1),
		Host:       p.opts.Host,
		RemoteAddr: "127.0.0.1:0",
		RequestURI: p.opts.Target,
		Body:       http.NoBody,
	}).WithContext(context.WithValue(ctx, syntheticKey{}, true))
	for k, vs := range p.opts.Header {
		r.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	r.Header.Set(SyntheticHeader, "1")
	if len(p.opts.Body) > 0 {
		r.Body = readCloser{bytes.NewReader(p.opts.Body)}
		r.ContentLength = int64(len(p.opts.Body))
	}
	w := &recorder{header: make(http.Header), max: p.opts.MaxBody}
	p.handler.ServeHTTP(w, r)
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	health.Observe(ctx, float64(status), "status")
	what := "probe " + p.opts.Method + " " + p.opts.Target
	if !statusAccepted(status, p.opts.Statuses) {
		return fmt.Errorf("%s: %w %d %s, want %s%s", what, ErrUnexpectedStatus,
			status, http.StatusText(status), statusesText(p.opts.Statuses), bodyExcerpt(w.body.Bytes()))
	}
	if p.opts.Check != nil {
		if err := p.opts.Check(status, w.header, w.body.Bytes()); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// recorder is an in-memory http.ResponseWriter that keeps the status, the
// header and the first max bytes of the body.
type recorder struct {
	header      http.Header
	status      int
	body        bytes.Buffer
	max         int
	wroteHeader bool
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.status = code
	if code >= 200 { // 1xx are informational: a final status follows
		w.wroteHeader = true
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if room := w.max - w.body.Len(); room > 0 {
		w.body.Write(b[:min(room, len(b))])
	}
	return len(b), nil
}

// Flush does nothing: the recorder keeps everything in memory.
func (w *recorder) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
}

package checks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vitals-go/vitals/health"
)

// DefaultMaxBody is how much of a response body [HTTP] and [Probe] read by
// default: 4 KiB, enough for a health document and an error excerpt.
const DefaultMaxBody = 4 << 10

// errorExcerpt is how much of a body goes into an error text.
const errorExcerpt = 256

// HTTP checks an HTTP endpoint with a GET request (or another method),
// typically a sidecar of the service on loopback. It observes the response
// time in milliseconds. Create it with [NewHTTP]; it is safe for concurrent
// use.
//
// A failing downstream service should not make an instance unready (SPEC
// §1): use HTTP for the service's own sidecars, not for other services.
type HTTP struct {
	url     string
	parsed  *url.URL
	urlErr  error
	opts    HTTPOptions
	client  *http.Client
	maxBody int64
}

var _ health.Checker = (*HTTP)(nil)

// HTTPOptions configures [NewHTTP]. The zero value is ready to use.
type HTTPOptions struct {
	// Client sends the request. Default: a client of its own that opens a
	// new connection for every check (no keep-alive, so the check exercises
	// connecting and leaves no idle connection behind), uses no proxy and
	// follows up to 10 redirects. The check's context bounds the request.
	Client *http.Client
	// Method is the request method. Default: GET.
	Method string
	// Header is added to the request, such as an Authorization header.
	Header http.Header
	// Statuses are the accepted status codes. Default: any 2xx.
	Statuses []int
	// MaxBody caps the bytes of the body that are read and given to Body.
	// Default: DefaultMaxBody (4 KiB).
	MaxBody int64
	// Body, when set, judges the (capped) body of a response whose status
	// is accepted; its error fails the check.
	Body func(body []byte) error
}

// NewHTTP returns a checker that requests rawURL. An invalid URL is reported
// by every Check.
//
//	checks.NewHTTP("http://127.0.0.1:15000/ready", checks.HTTPOptions{})
func NewHTTP(rawURL string, opts HTTPOptions) *HTTP {
	c := &HTTP{url: rawURL, opts: opts, client: opts.Client, maxBody: opts.MaxBody}
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		c.urlErr = err
	case u.Scheme != "http" && u.Scheme != "https":
		c.urlErr = fmt.Errorf("scheme %q is not http or https", u.Scheme)
	case u.Host == "":
		c.urlErr = fmt.Errorf("no host")
	default:
		c.parsed = u
		c.url = u.Redacted()
	}
	if c.opts.Method == "" {
		c.opts.Method = http.MethodGet
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	if c.client == nil {
		c.client = &http.Client{Transport: &http.Transport{
			DisableKeepAlives:  true,
			DisableCompression: true,
		}}
	}
	return c
}

// Check sends the request and judges the response. It fails with
// [ErrUnexpectedStatus] (naming the status, the accepted ones and an excerpt
// of the body), with the transport's error, or with the Body predicate's
// error. Credentials in the URL are never shown.
func (c *HTTP) Check(ctx context.Context) error {
	if c.urlErr != nil {
		return fmt.Errorf("http: invalid URL: %w", c.urlErr)
	}
	req, err := http.NewRequestWithContext(ctx, c.opts.Method, c.parsed.String(), nil)
	if err != nil {
		return fmt.Errorf("http %s %s: %w", c.opts.Method, c.url, err)
	}
	for k, vs := range c.opts.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "vitals-health-check")
	}
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		// *url.Error repeats the method and the unredacted URL: keep its cause.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("http %s %s: %w", c.opts.Method, c.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody))
	health.Observe(ctx, float64(time.Since(start).Microseconds())/1000, "ms")
	if !statusAccepted(resp.StatusCode, c.opts.Statuses) {
		return fmt.Errorf("http %s %s: %w %s, want %s%s", c.opts.Method, c.url, ErrUnexpectedStatus,
			resp.Status, statusesText(c.opts.Statuses), bodyExcerpt(body))
	}
	if err != nil {
		return fmt.Errorf("http %s %s: reading body: %w", c.opts.Method, c.url, err)
	}
	if c.opts.Body != nil {
		if err := c.opts.Body(body); err != nil {
			return fmt.Errorf("http %s %s: body: %w", c.opts.Method, c.url, err)
		}
	}
	return nil
}

// statusAccepted reports whether code is one of statuses, or a 2xx when
// statuses is empty.
func statusAccepted(code int, statuses []int) bool {
	if len(statuses) == 0 {
		return code >= 200 && code <= 299
	}
	return slices.Contains(statuses, code)
}

func statusesText(statuses []int) string {
	switch len(statuses) {
	case 0:
		return "2xx"
	case 1:
		return fmt.Sprint(statuses[0])
	}
	s := make([]string, len(statuses))
	for i, c := range statuses {
		s[i] = fmt.Sprint(c)
	}
	return "one of " + strings.Join(s, ", ")
}

func bodyExcerpt(body []byte) string {
	if e := excerpt(body, errorExcerpt); e != "" {
		return `: body "` + e + `"`
	}
	return ""
}

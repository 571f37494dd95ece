package hcimport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// ClientOptions bound and pace a Client. The zero value is useful.
type ClientOptions struct {
	// Timeout bounds each request, its answer included. Default 30s.
	Timeout time.Duration
	// MaxBody caps an answer's body; a longer one is an error. Default
	// 64 MiB (some 40,000 checks).
	MaxBody int64
	// Interval is the least time between the starts of two requests.
	// Default 0: no pacing. Hosted healthchecks.io asks for at most 100
	// requests a minute (600ms).
	Interval time.Duration
	// Retries is how many times a request answered 429 or 5xx is tried
	// again (a GET also after a network error). Default 5; negative: none.
	Retries int
	// Backoff is the wait before the first retry, doubled for each next
	// one up to MaxWait, unless the answer says Retry-After. Default 1s.
	Backoff time.Duration
	// MaxWait bounds any single wait (a Retry-After included). Default 2m.
	MaxWait time.Duration
	// Sleep waits for d or until ctx is done. Default: a timer. Tests
	// inject their own.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock pacing is measured with. Default time.Now.
	Now func() time.Time
	// Transport sends the requests. Default http.DefaultTransport.
	Transport http.RoundTripper
}

// Defaults of ClientOptions.
const (
	DefaultTimeout = 30 * time.Second
	DefaultMaxBody = 64 << 20
	DefaultRetries = 5
	DefaultBackoff = time.Second
	DefaultMaxWait = 2 * time.Minute
)

// Client speaks healthchecks.io's Management API v3, to healthchecks.io or
// to Vitals. Its key goes in X-Api-Key and nowhere else: not in errors,
// not in logs. Its errors never hold a check's UUID. A Client is safe for
// concurrent use; pacing is shared by all its requests.
type Client struct {
	base *url.URL // ends in /api/v3/
	key  string
	http *http.Client
	opts ClientOptions

	// mu guards next, the earliest start of the next request.
	mu   sync.Mutex
	next time.Time
}

// NewClient returns a client of the API at base: the site's root URL
// ("https://healthchecks.io", "https://hc.example.com/prefix"), to which
// "/api/v3/" is added unless base ends with it already. key is the API
// key (required).
func NewClient(base, key string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	switch {
	case err == nil && u.User != nil:
		return nil, errors.New("the URL holds a user or password: give the API key apart")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, fmt.Errorf("%s is not an http(s) URL of a site", clipText(strconv.Quote(base)))
	}
	if key == "" {
		return nil, errors.New("no API key")
	}
	u.RawQuery, u.Fragment = "", ""
	p := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(p, "/api/v3") {
		p += "/api/v3"
	}
	u.Path, u.RawPath = p+"/", ""
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Retries == 0 {
		opts.Retries = DefaultRetries
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	hc := &http.Client{
		Transport: opts.Transport,
		// A redirect would carry X-Api-Key to wherever it points (Go
		// forwards custom headers) and turn a POST into a GET: refuse,
		// and say where it pointed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{base: u, key: key, http: hc, opts: opts}, nil
}

// URL returns the API's base URL (with /api/v3/), for messages.
func (c *Client) URL() string { return c.base.String() }

// Checks lists every check (GET checks/).
func (c *Client) Checks(ctx context.Context) ([]Check, error) {
	b, err := c.do(ctx, "list checks", http.MethodGet, "checks/", nil)
	if err != nil {
		return nil, err
	}
	return DecodeChecks(b)
}

// Channels lists every channel (GET channels/).
func (c *Client) Channels(ctx context.Context) ([]Channel, error) {
	b, err := c.do(ctx, "list channels", http.MethodGet, "channels/", nil)
	if err != nil {
		return nil, err
	}
	return DecodeChannels(b)
}

// Create creates a check (POST checks/) from body, which names its UUID in
// "uuid" (Vitals' extension of the API).
func (c *Client) Create(ctx context.Context, body map[string]any) error {
	_, err := c.do(ctx, "create", http.MethodPost, "checks/", body)
	return err
}

// Update changes the fields of body of check id (POST checks/<uuid>).
func (c *Client) Update(ctx context.Context, id model.CheckID, body map[string]any) error {
	_, err := c.do(ctx, "update", http.MethodPost, "checks/"+id.Secret(), body)
	return err
}

// Pause pauses check id (POST checks/<uuid>/pause).
func (c *Client) Pause(ctx context.Context, id model.CheckID) error {
	_, err := c.do(ctx, "pause", http.MethodPost, "checks/"+id.Secret()+"/pause", map[string]any{})
	return err
}

// Resume resumes check id (POST checks/<uuid>/resume).
func (c *Client) Resume(ctx context.Context, id model.CheckID) error {
	_, err := c.do(ctx, "resume", http.MethodPost, "checks/"+id.Secret()+"/resume", map[string]any{})
	return err
}

// StatusError is an answer other than 2xx. Msg is the answer's "error"
// (healthchecks.io's error body) or the start of its body, with every
// UUID in it replaced by "<uuid>".
type StatusError struct {
	Op     string // "list checks", "create", "update", ...
	Status int
	Msg    string
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// IsStatus reports whether err is a StatusError with the given status.
func IsStatus(err error, status int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == status
}

// do sends one request (paced, retried, bounded) and returns the body of
// its 2xx answer.
func (c *Client) do(ctx context.Context, op, method, path string, body any) ([]byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	wait := c.opts.Backoff
	for attempt := 0; ; attempt++ {
		if err := c.pace(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		b, retryAfter, err := c.once(ctx, op, method, path, payload)
		if err == nil {
			return b, nil
		}
		if attempt >= c.opts.Retries || !retryable(err, method) {
			return nil, err
		}
		d := wait
		if retryAfter > 0 {
			d = retryAfter
		} else {
			wait = min(2*wait, c.opts.MaxWait)
		}
		if err := c.opts.Sleep(ctx, min(d, c.opts.MaxWait)); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
}

// retryable: 429 and 5xx answers, and a GET's network errors (a POST that
// may have been applied is not sent twice).
func retryable(err error, method string) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status == http.StatusTooManyRequests || se.Status >= 500
	}
	var ne netError
	return method == http.MethodGet && errors.As(err, &ne) && !errors.Is(err, context.Canceled)
}

// netError is a failure to send a request or to read its answer.
type netError struct{ error }

func (e netError) Unwrap() error { return e.error }

// pace waits until the next request may start.
func (c *Client) pace(ctx context.Context) error {
	if c.opts.Interval <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	now := c.opts.Now()
	start := now
	if c.next.After(now) {
		start = c.next
	}
	c.next = start.Add(c.opts.Interval)
	c.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		return c.opts.Sleep(ctx, d)
	}
	return ctx.Err()
}

// once sends one request. retryAfter is the answer's Retry-After, if any.
func (c *Client) once(ctx context.Context, op, method, path string, payload []byte) (b []byte, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	u := *c.base
	u.Path += path // path is ours: fixed words and a UUID
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", op, scrubErr(err))
	}
	req.Header.Set("X-Api-Key", c.key)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, netError{fmt.Errorf("%s: %w", op, scrubErr(err))}
	}
	defer resp.Body.Close()
	b, err = io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBody+1))
	if err != nil {
		return nil, 0, netError{fmt.Errorf("%s: reading the answer: %w", op, scrubErr(err))}
	}
	if resp.StatusCode/100 == 3 {
		return nil, 0, &StatusError{Op: op, Status: resp.StatusCode,
			Msg: "redirected to " + clipText(scrub(resp.Header.Get("Location"))) + ": give that address instead"}
	}
	if resp.StatusCode/100 != 2 {
		return nil, parseRetryAfter(resp.Header.Get("Retry-After"), c.opts.Now()),
			&StatusError{Op: op, Status: resp.StatusCode, Msg: errorMessage(b)}
	}
	if int64(len(b)) > c.opts.MaxBody {
		return nil, 0, fmt.Errorf("%s: the answer is larger than %d bytes", op, c.opts.MaxBody)
	}
	return b, 0, nil
}

// parseRetryAfter reads Retry-After: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// errorMessage returns healthchecks.io's {"error": "..."}, or the start
// of a body that is not that, scrubbed and clipped.
func errorMessage(b []byte) string {
	var v struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &v) == nil && v.Error != "" {
		return clipText(scrub(v.Error))
	}
	return clipText(scrub(strings.TrimSpace(string(b))))
}

var uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}`)

// scrub replaces every UUID in s by "<uuid>": a check's UUID is the
// secret of its ping URL.
func scrub(s string) string { return uuidRE.ReplaceAllString(s, "<uuid>") }

// scrubErr drops the URL a *url.Error names (it holds the check's UUID)
// and scrubs what is left.
func scrubErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timed out")
	}
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return errors.New(scrub(err.Error()))
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook request.
const (
	// HeaderIdempotencyKey carries Notification.Key: the same on every
	// retry of one notification, so a receiver can drop duplicates.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderTimestamp is the Unix time (seconds) the request was signed at.
	HeaderTimestamp = "X-Vitals-Timestamp"
	// HeaderSignature is "v1=" + hex(HMAC-SHA256(secret, timestamp + "." +
	// body)), present when the webhook has a secret. See VerifySignature.
	HeaderSignature = "X-Vitals-Signature"
)

// maxErrorBody caps how much of a failed answer's body ends up in an error.
const maxErrorBody = 512

// Webhook POSTs each notification as JSON (the Notification's fields, see
// its JSON tags) to URL. Build it with [NewWebhook] or from config through
// the registry (kind "webhook").
type Webhook struct {
	url     string
	secret  []byte
	headers http.Header
	client  *http.Client
	now     func() time.Time
}

var _ Notifier = (*Webhook)(nil)

// WebhookConfig configures a Webhook (config kind "webhook").
type WebhookConfig struct {
	// URL receives the POST. http or https. Required.
	URL string `yaml:"url" json:"url"`
	// Secret, when set, signs each request with HMAC-SHA256 (headers
	// X-Vitals-Timestamp and X-Vitals-Signature). Put it in ${ENV}.
	// Default "": unsigned.
	Secret string `yaml:"secret" json:"secret,omitempty"`
	// Headers are added to every request (e.g. Authorization).
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
}

// Validate reports every problem of c, naming the fields.
func (c *WebhookConfig) Validate() error { return validateHTTPURL("url", c.URL) }

// Build returns the Webhook c describes.
func (c *WebhookConfig) Build(d Deps) (Notifier, error) { return NewWebhook(*c, d.HTTPClient) }

// DefaultStorm implements StormDefaulter: a webhook has no storm protection
// unless its config sets `storm:`. Its receivers are programs that expect
// one body per check and flip; a digest changes the body's shape.
func (c *WebhookConfig) DefaultStorm() Storm { return Storm{} }

// validateHTTPURL checks a channel's URL. Its errors never quote it: the
// URL of a webhook (a Slack one's path) is a secret.
func validateHTTPURL(field, s string) error {
	if s == "" {
		return fmt.Errorf("%s: required", field)
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: not a URL: %w", field, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%s: not an http(s) URL", field)
	}
	return nil
}

// withoutURLSecrets returns err with the URL of a *url.Error (what
// http.Client.Do returns) cut to its scheme and host: the path and query of
// a webhook URL may be its secret, and the error is logged and stored with
// the outbox row.
func withoutURLSecrets(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	short := "…"
	if u, perr := url.Parse(ue.URL); perr == nil {
		short = u.Scheme + "://" + u.Host + "/…"
	}
	return &url.Error{Op: ue.Op, URL: short, Err: ue.Err}
}

// NewWebhook returns a webhook for c. client may be nil: a client without
// redirects is used (the attempt's deadline comes from the context).
func NewWebhook(c WebhookConfig, client *http.Client) (*Webhook, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	h := http.Header{}
	for k, v := range c.Headers {
		h.Set(k, v)
	}
	return &Webhook{url: c.URL, secret: []byte(c.Secret), headers: h, client: orDefaultClient(client), now: time.Now}, nil
}

func orDefaultClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Send POSTs n. A 2xx answer is success; 408, 429 and 5xx are retried (at
// the time their Retry-After header says, capped at an hour, when they
// have one); any other status is a permanent failure.
func (w *Webhook) Send(ctx context.Context, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return Permanent(fmt.Errorf("webhook: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook: %w", err))
	}
	for k, v := range w.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vitals-watchdog")
	req.Header.Set(HeaderIdempotencyKey, n.Key)
	if len(w.secret) > 0 {
		ts := strconv.FormatInt(w.now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, Sign(w.secret, ts, body))
	}
	return post(w.client, req, "webhook")
}

// post does req and classifies the answer.
func post(c *http.Client, req *http.Request, what string) error {
	return postWith(c, req, what, func(b []byte) string { return strings.TrimSpace(string(b)) })
}

// postWith is post with describe turning the first maxErrorBody bytes of
// a failed answer's body into the text its error quotes (a receiver's
// JSON error decoded, a key it echoed cut out). The status is quoted by
// its code and standard text, not the receiver's reason phrase.
func postWith(c *http.Client, req *http.Request, what string, describe func(body []byte) string) error {
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, withoutURLSecrets(err))
	}
	defer resp.Body.Close()
	recordAnswer(req.Context(), req.Method+" "+req.URL.Scheme+"://"+req.URL.Host+": "+resp.Status)
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("%s: %d %s: %s", what, resp.StatusCode, http.StatusText(resp.StatusCode), describe(msg))
	if resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		if at, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return &RetryAtError{At: at, Err: err, Failed: true}
		}
		return err
	}
	return Permanent(err)
}

// maxRetryAfter caps how long a receiver's Retry-After can delay a row.
const maxRetryAfter = time.Hour

// retryAfter parses a Retry-After value (seconds, or an HTTP date) into a
// time at most maxRetryAfter from now.
func retryAfter(v string, now time.Time) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	var at time.Time
	if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if secs < 0 {
			return time.Time{}, false
		}
		at = now.Add(time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second)
	} else if t, err := http.ParseTime(v); err == nil {
		at = t
	} else {
		return time.Time{}, false
	}
	if at.Before(now) {
		at = now
	}
	if lim := now.Add(maxRetryAfter); at.After(lim) {
		at = lim
	}
	return at, true
}

// Sign returns the value of the X-Vitals-Signature header for body signed
// at the Unix time ts (a decimal string): "v1=" + hex(HMAC-SHA256(secret,
// ts + "." + body)).
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Errors of VerifySignature.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook timestamp outside the tolerance")
)

// VerifySignature checks a received webhook: sig and ts are the values of
// the X-Vitals-Signature and X-Vitals-Timestamp headers, body the raw
// request body. It fails with ErrStale when ts is further than tolerance
// from now (replay protection; 5 minutes is a good tolerance) and with
// ErrBadSignature when no "v1=" signature in sig (comma-separated, to allow
// secret rotation) matches. The comparison is constant-time.
func VerifySignature(secret []byte, sig, ts string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrBadSignature, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := []byte(Sign(secret, ts, body))
	for _, s := range strings.Split(sig, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), want) {
			return nil
		}
	}
	return ErrBadSignature
}

// VerifyRequest reads r's body (at most maxBody bytes: a longer body is an
// error) and checks its signature headers with VerifySignature at the
// current time. It returns the body, to be decoded only when err is nil.
// For receivers written in Go; see docs/actions.md for other languages.
func VerifyRequest(r *http.Request, secret []byte, maxBody int64, tolerance time.Duration) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	if int64(len(body)) > maxBody {
		return nil, fmt.Errorf("webhook body larger than %d bytes", maxBody)
	}
	if err := VerifySignature(secret, r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), body, time.Now(), tolerance); err != nil {
		return nil, err
	}
	return body, nil
}

// Package pagertest is test support for the pager notifier kinds: local
// receivers (httptest servers on loopback) shaped like PagerDuty's Events
// API v2 and Opsgenie's Alert API, which check every request against the
// provider's documented schema (required fields, types, length limits,
// enum values, headers) and answer as the provider does, or as a test
// scripts. The schema checks are exported on their own (CheckPagerDuty,
// CheckOpsgenie) for receivers of other shapes. Only tests import it; it
// imports nothing of the project, so notify's own tests and the outbox's
// can both use it.
//
// Sources of the schema: PagerDuty's OpenAPI description of the Events
// API v2 (github.com/PagerDuty/api-schema, reference/events-v2) and its
// documented limits (summary 1024 characters, dedup_key 255, routing_key
// 32); Opsgenie's Alert API documentation (docs.opsgenie.com/docs/alert-api:
// create and close alert, with their field limits).
package pagertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Call is what one valid request asked the pager.
type Call struct {
	// Action is "trigger" or "resolve" (an Opsgenie create is a trigger,
	// a close a resolve).
	Action string
	// Key is the PagerDuty dedup_key or the Opsgenie alias.
	Key string
	// Body is the decoded JSON body.
	Body map[string]any
	// At is when the receiver got it.
	At time.Time
}

// Answer is a scripted answer.
type Answer struct {
	Code   int
	Header http.Header
	Body   string
}

// Receiver is a local pager endpoint. Safe for concurrent use; it is
// closed when the test ends.
type Receiver struct {
	t     testing.TB
	srv   *httptest.Server
	url   string
	check func(r *http.Request, body []byte) (Call, error)
	ok    func(c Call) Answer

	mu      sync.Mutex
	calls   []Call
	answers []Answer
	invalid []error
}

func newReceiver(t testing.TB, suffix string, check func(*http.Request, []byte) (Call, error), ok func(Call) Answer) *Receiver {
	r := &Receiver{t: t, check: check, ok: ok}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.url = r.srv.URL + suffix
	t.Cleanup(r.srv.Close)
	return r
}

// maxBody bounds what a receiver reads of a request (PagerDuty's limit
// on an event is 512 KB).
const maxBody = 512 << 10

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err == nil && len(body) > maxBody {
		err = fmt.Errorf("body larger than %d bytes", maxBody)
	}
	var c Call
	if err == nil {
		c, err = r.check(req, body)
	}
	c.At = time.Now()
	r.mu.Lock()
	if err != nil {
		r.invalid = append(r.invalid, err)
		r.mu.Unlock()
		r.t.Errorf("pagertest: invalid request %s %s: %v\n%s", req.Method, req.URL.Path, err, body)
		writeAnswer(w, Answer{Code: http.StatusBadRequest, Body: `{"status":"invalid event","message":"Event object is invalid","errors":[` + quote(err.Error()) + `]}`})
		return
	}
	r.calls = append(r.calls, c)
	a := r.ok(c)
	if len(r.answers) > 0 {
		a, r.answers = r.answers[0], r.answers[1:]
	}
	r.mu.Unlock()
	writeAnswer(w, a)
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func writeAnswer(w http.ResponseWriter, a Answer) {
	for k, v := range a.Header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(a.Code)
	io.WriteString(w, a.Body)
}

// URL is the URL to configure the notifier with: PagerDuty's endpoint, or
// Opsgenie's API root.
func (r *Receiver) URL() string { return r.url }

// Then queues answers for the next valid requests (in order); after them
// the receiver answers as the provider does when it accepts.
func (r *Receiver) Then(as ...Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers = append(r.answers, as...)
}

// Calls returns the valid requests received, in order (including those
// answered with a scripted error).
func (r *Receiver) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Invalid returns the schema violations seen.
func (r *Receiver) Invalid() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.invalid)
}

// NewPagerDuty returns a receiver shaped like the Events API v2 endpoint
// (URL ends in /v2/enqueue) that accepts events for routingKey, answering
// 202 {"status":"success","message":"Event processed","dedup_key":…}.
func NewPagerDuty(t testing.TB, routingKey string) *Receiver {
	return newReceiver(t, "/v2/enqueue", func(req *http.Request, body []byte) (Call, error) {
		if req.Method != http.MethodPost || req.URL.Path != "/v2/enqueue" {
			return Call{}, fmt.Errorf("%s %s: want POST /v2/enqueue", req.Method, req.URL.Path)
		}
		return CheckPagerDuty(req.Header, body, routingKey)
	}, func(c Call) Answer {
		return Answer{Code: http.StatusAccepted, Body: `{"status":"success","message":"Event processed","dedup_key":` + quote(c.Key) + `}`}
	})
}

// NewOpsgenie returns a receiver shaped like the Alert API (URL is the API
// root, with a path prefix a proxy would have) that accepts requests with
// apiKey, answering 202 {"result":"Request will be processed",…}.
func NewOpsgenie(t testing.TB, apiKey string) *Receiver {
	const prefix = "/opsgenie"
	return newReceiver(t, prefix, func(req *http.Request, body []byte) (Call, error) {
		path, ok := strings.CutPrefix(req.URL.EscapedPath(), prefix)
		if !ok {
			return Call{}, fmt.Errorf("path %s: not under %s", req.URL.EscapedPath(), prefix)
		}
		return CheckOpsgenie(req.Method, path, req.URL.Query(), req.Header, body, apiKey)
	}, func(Call) Answer {
		return Answer{Code: http.StatusAccepted, Body: `{"result":"Request will be processed","took":0.004,"requestId":"43a29c5c-3dbf-4fa4-9c26-f4f71023e120"}`}
	})
}

// object decodes body as one JSON object (numbers kept as json.Number).
func object(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("body is not a JSON object: %w", err)
	}
	if m == nil {
		return nil, errors.New("body is null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return m, nil
}

// fields checks m's keys against allowed and required, and gives typed
// access to them, collecting every problem.
type fields struct {
	m    map[string]any
	at   string
	errs []error
}

func newFields(m map[string]any, at string, allowed, required []string) *fields {
	f := &fields{m: m, at: at}
	for k := range m {
		if !slices.Contains(allowed, k) {
			f.errorf(k, "not a field of the schema")
		}
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			f.errorf(k, "required")
		}
	}
	return f
}

func (f *fields) errorf(k, format string, a ...any) {
	f.errs = append(f.errs, fmt.Errorf("%s%s: %s", f.at, k, fmt.Sprintf(format, a...)))
}

// str returns the string at k ("" when absent), checking its type, that
// it is valid UTF-8 and at most max characters (0: no limit).
func (f *fields) str(k string, max int) string {
	v, ok := f.m[k]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		f.errorf(k, "not a string (%T)", v)
		return ""
	}
	if !utf8.ValidString(s) {
		f.errorf(k, "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); max > 0 && n > max {
		f.errorf(k, "%d characters, the limit is %d", n, max)
	}
	return s
}

// nonEmpty is str that must not be empty when present.
func (f *fields) nonEmpty(k string, max int) string {
	s := f.str(k, max)
	if _, ok := f.m[k]; ok && strings.TrimSpace(s) == "" {
		f.errorf(k, "empty")
	}
	return s
}

func (f *fields) enum(k string, allowed ...string) string {
	s := f.str(k, 0)
	if _, ok := f.m[k]; ok && !slices.Contains(allowed, s) {
		f.errorf(k, "%q is not one of %v", s, allowed)
	}
	return s
}

func (f *fields) url(k string) {
	s := f.str(k, 0)
	if _, ok := f.m[k]; !ok {
		return
	}
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f.errorf(k, "not an absolute http(s) URL")
	}
}

func (f *fields) obj(k string) (map[string]any, bool) {
	v, ok := f.m[k]
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		f.errorf(k, "not an object (%T)", v)
	}
	return m, ok
}

func (f *fields) list(k string, maxItems int) ([]any, bool) {
	v, ok := f.m[k]
	if !ok {
		return nil, false
	}
	l, ok := v.([]any)
	if !ok {
		f.errorf(k, "not an array (%T)", v)
		return nil, false
	}
	if maxItems > 0 && len(l) > maxItems {
		f.errorf(k, "%d items, the limit is %d", len(l), maxItems)
	}
	return l, true
}

// objects checks the array of objects at k, each with check.
func (f *fields) objects(k string, allowed, required []string, check func(*fields)) {
	l, ok := f.list(k, 0)
	if !ok {
		return
	}
	for i, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			f.errorf(fmt.Sprintf("%s[%d]", k, i), "not an object")
			continue
		}
		g := newFields(m, fmt.Sprintf("%s%s[%d].", f.at, k, i), allowed, required)
		check(g)
		f.sub(g)
	}
}

func (f *fields) sub(g *fields) { f.errs = append(f.errs, g.errs...) }

func (f *fields) err() error { return errors.Join(f.errs...) }

func checkJSONContentType(h http.Header) error {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return fmt.Errorf("Content-Type %q: want application/json", h.Get("Content-Type"))
	}
	return nil
}

// PagerDuty limits (characters).
const (
	PagerDutySummaryMax  = 1024
	PagerDutyDedupKeyMax = 255
	PagerDutyKeyLen      = 32
)

// CheckPagerDuty checks an Events API v2 request (its headers and body)
// against the schema, for routingKey: routing_key, event_action
// (trigger, acknowledge, resolve), dedup_key (required but for a trigger,
// at most 255 characters), and for a trigger the payload (summary ≤ 1024
// characters, severity critical/error/warning/info, source, timestamp an
// RFC 3339 date-time, component/group/class strings, custom_details an
// object), client, client_url, links (href required) and images (src
// required); no other fields.
func CheckPagerDuty(h http.Header, body []byte, routingKey string) (Call, error) {
	if err := checkJSONContentType(h); err != nil {
		return Call{}, err
	}
	m, err := object(body)
	if err != nil {
		return Call{}, err
	}
	f := newFields(m, "", []string{"routing_key", "event_action", "dedup_key", "payload", "client", "client_url", "links", "images"},
		[]string{"routing_key", "event_action"})
	if k := f.str("routing_key", 0); k != routingKey || len(k) != PagerDutyKeyLen {
		f.errorf("routing_key", "not the integration's key (32 characters)")
	}
	action := f.enum("event_action", "trigger", "acknowledge", "resolve")
	key := f.str("dedup_key", PagerDutyDedupKeyMax)
	if _, ok := m["dedup_key"]; !ok && action != "trigger" {
		f.errorf("dedup_key", "required for %s", action)
	}
	if action == "trigger" {
		if _, ok := m["payload"]; !ok {
			f.errorf("payload", "required for a trigger")
		}
	}
	if p, ok := f.obj("payload"); ok {
		pf := newFields(p, "payload.", []string{"summary", "timestamp", "severity", "source", "component", "group", "class", "custom_details"},
			[]string{"summary", "severity", "source"})
		if s := pf.nonEmpty("summary", PagerDutySummaryMax); strings.ContainsAny(s, "\r\n") {
			pf.errorf("summary", "not one line")
		}
		pf.enum("severity", "critical", "error", "warning", "info")
		pf.nonEmpty("source", 0)
		if ts, ok := p["timestamp"]; ok {
			if _, err := time.Parse(time.RFC3339Nano, pf.str("timestamp", 0)); err != nil {
				pf.errorf("timestamp", "%v is not a date-time", ts)
			}
		}
		pf.str("component", 0)
		pf.str("group", 0)
		pf.str("class", 0)
		pf.obj("custom_details")
		f.sub(pf)
	}
	f.str("client", 0)
	f.url("client_url")
	f.objects("links", []string{"href", "text"}, []string{"href"}, func(g *fields) {
		g.url("href")
		g.str("text", 0)
	})
	f.objects("images", []string{"src", "href", "alt"}, []string{"src"}, func(g *fields) {
		g.url("src")
		g.url("href")
		g.str("alt", 0)
	})
	return Call{Action: action, Key: key, Body: m}, f.err()
}

// Opsgenie limits (characters).
const (
	OpsgenieMessageMax     = 130
	OpsgenieAliasMax       = 512
	OpsgenieDescriptionMax = 15000
	OpsgenieTagsMax        = 20
	OpsgenieTagMax         = 50
	OpsgenieDetailsMax     = 8000
	OpsgenieEntityMax      = 512
	OpsgenieSourceMax      = 100
	OpsgenieUserMax        = 100
	OpsgenieNoteMax        = 25000
	OpsgenieActionsMax     = 10
	OpsgenieActionMax      = 50
)

// CheckOpsgenie checks an Alert API request, its path relative to the
// API root: the "Authorization: GenieKey <apiKey>" header, and either a
// create (POST /v2/alerts: message required ≤ 130 characters, alias ≤ 512,
// description ≤ 15000, tags ≤ 20 of ≤ 50, details string values ≤ 8000
// characters in all, entity ≤ 512, source ≤ 100, priority P1–P5, user ≤
// 100, note ≤ 25000, actions ≤ 10 of ≤ 50, responders and visibleTo
// arrays) or a close (POST /v2/alerts/{identifier}/close with
// identifierType id, tiny or alias: user, source, note); no other fields.
// A close by anything but alias is reported (Vitals closes by alias).
func CheckOpsgenie(method, path string, q url.Values, h http.Header, body []byte, apiKey string) (Call, error) {
	if h.Get("Authorization") != "GenieKey "+apiKey {
		return Call{}, errors.New("header Authorization: not GenieKey and the integration's key")
	}
	if method != http.MethodPost {
		return Call{}, fmt.Errorf("method %s: want POST", method)
	}
	if err := checkJSONContentType(h); err != nil {
		return Call{}, err
	}
	m, err := object(body)
	if err != nil {
		return Call{}, err
	}
	if path == "/v2/alerts" {
		f := newFields(m, "", []string{"message", "alias", "description", "responders", "visibleTo", "actions", "tags", "details",
			"entity", "source", "priority", "user", "note"}, []string{"message"})
		f.nonEmpty("message", OpsgenieMessageMax)
		alias := f.str("alias", OpsgenieAliasMax)
		f.str("description", OpsgenieDescriptionMax)
		f.list("responders", 0)
		f.list("visibleTo", 0)
		if l, ok := f.list("actions", OpsgenieActionsMax); ok {
			f.strings("actions", l, OpsgenieActionMax)
		}
		if l, ok := f.list("tags", OpsgenieTagsMax); ok {
			f.strings("tags", l, OpsgenieTagMax)
		}
		if d, ok := f.obj("details"); ok {
			total := 0
			for k, v := range d {
				s, ok := v.(string)
				if !ok {
					f.errorf("details."+k, "not a string (%T)", v)
				}
				total += utf8.RuneCountInString(k) + utf8.RuneCountInString(s)
			}
			if total > OpsgenieDetailsMax {
				f.errorf("details", "%d characters in all, the limit is %d", total, OpsgenieDetailsMax)
			}
		}
		f.str("entity", OpsgenieEntityMax)
		f.str("source", OpsgenieSourceMax)
		f.enum("priority", "P1", "P2", "P3", "P4", "P5")
		f.str("user", OpsgenieUserMax)
		f.str("note", OpsgenieNoteMax)
		return Call{Action: "trigger", Key: alias, Body: m}, f.err()
	}
	rest, ok := strings.CutPrefix(path, "/v2/alerts/")
	id, ok2 := strings.CutSuffix(rest, "/close")
	if !ok || !ok2 || id == "" || strings.Contains(id, "/") {
		return Call{}, fmt.Errorf("path %s: neither /v2/alerts nor /v2/alerts/{identifier}/close", path)
	}
	alias, err := url.PathUnescape(id)
	if err != nil {
		return Call{}, fmt.Errorf("path %s: %w", path, err)
	}
	f := newFields(m, "", []string{"user", "source", "note"}, nil)
	if it := q.Get("identifierType"); it != "alias" {
		f.errorf("identifierType", "%q: Vitals closes by alias", it)
	}
	for k := range q {
		if k != "identifierType" {
			f.errorf("?"+k, "not a parameter of close")
		}
	}
	if utf8.RuneCountInString(alias) > OpsgenieAliasMax {
		f.errorf("alias", "longer than %d characters", OpsgenieAliasMax)
	}
	f.str("user", OpsgenieUserMax)
	f.str("source", OpsgenieSourceMax)
	f.str("note", OpsgenieNoteMax)
	return Call{Action: "resolve", Key: alias, Body: m}, f.err()
}

func (f *fields) strings(k string, l []any, max int) {
	for i, v := range l {
		s, ok := v.(string)
		if !ok {
			f.errorf(fmt.Sprintf("%s[%d]", k, i), "not a string (%T)", v)
			continue
		}
		if n := utf8.RuneCountInString(s); n > max || n == 0 {
			f.errorf(fmt.Sprintf("%s[%d]", k, i), "%d characters, want 1 to %d", n, max)
		}
	}
}

package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vitals-go/vitals/internal/model"
)

// What the pager kinds (pagerduty, opsgenie) share: which action an event
// is, the key that ties a check's trigger to its resolve, the details sent
// with a trigger, the text of a failed answer, and the memory that keeps
// a retried trigger from reopening an incident its check has since
// resolved.

// pagerAction is what a pager is asked to do for an event.
type pagerAction int

const (
	pagerNone    pagerAction = iota // an event pagers are not told of
	pagerTrigger                    // open (or add to) the check's incident
	pagerResolve                    // resolve / close the check's incident
)

// pagerActionFor returns what a notification of event asks of a pager:
// down, flapping and gave_up trigger, up resolves.
func pagerActionFor(event string) pagerAction {
	switch event {
	case EventDown, EventFlapping, EventGaveUp:
		return pagerTrigger
	case EventUp:
		return pagerResolve
	}
	return pagerNone
}

// PagerKey returns the key that ties a check's pager alert together: the
// PagerDuty dedup_key and the Opsgenie alias of n. It is the check's
// unique key (as healthchecks.io's integrations use it, so an incident
// opened by healthchecks.io for an imported check is resolved by Vitals),
// never its UUID, the secret of its ping URL; a "gave up restarting"
// alert has its own, the unique key + ":gave_up", so that the check's
// recovery does not close it.
//
// A digest (an alert storm, see Storm) is one incident of the channel's
// own, "vitals-storm:<channel>": a digest of downs opens (or adds to) it,
// a digest of recoveries only resolves it. A test notification is
// "vitals-test:<channel>", triggered and at once resolved.
func PagerKey(n Notification) string {
	switch {
	case n.Digest != nil:
		return "vitals-storm:" + n.Channel
	case n.Test:
		return "vitals-test:" + n.Channel
	case n.Event == EventGaveUp:
		return n.CheckID.UniqueKey() + ":gave_up"
	}
	return n.CheckID.UniqueKey()
}

// pagerActionOf returns what n asks of a pager: its event's action; for a
// digest, a trigger if it holds anything but recoveries, else a resolve;
// for a test, a trigger (send resolves it at once).
func pagerActionOf(n Notification) pagerAction {
	switch {
	case n.Digest != nil:
		for e, c := range n.Digest.Counts {
			if c > 0 && pagerActionFor(e) == pagerTrigger {
				return pagerTrigger
			}
		}
		return pagerResolve
	case n.Test:
		return pagerTrigger
	}
	return pagerActionFor(n.Event)
}

// pagerState remembers, per check sent to this channel, the latest flip
// known (from Send and, for those checks, from Observe), so that a
// notification superseded by a later flip with the other action is not
// sent: a trigger retried (a 429's Retry-After) after its check's resolve
// went out would reopen an incident for a check that is up, and a resolve
// retried after a new trigger would close the new incident. Memory: one
// entry per check ever sent to the channel.
//
// It also keeps the requests of one check in order: the dispatcher may
// attempt a check's trigger and resolve at the same time (a quick
// recovery), and the resolve must not overtake the trigger on the way to
// the pager. A check's request waits for the one in flight (lanes: one of
// pagerLanes slots, chosen by the check id; checks sharing a lane wait
// for each other too, a small cost for a bounded memory).
type pagerState struct {
	mu     sync.Mutex
	latest map[model.CheckID]pagerSeen

	lanes [pagerLanes]chan struct{} // capacity 1: held while a request is in flight
}

// pagerLanes is how many checks' requests a pager channel can have in
// flight at once (the dispatcher's PerChannel, 8 by default, is lower).
const pagerLanes = 64

type pagerSeen struct {
	at     time.Time
	action pagerAction
}

// enter waits for id's lane (or ctx) and returns its release.
func (p *pagerState) enter(ctx context.Context, id model.CheckID) (release func(), err error) {
	lane := p.lanes[int(id[len(id)-1])%pagerLanes]
	select {
	case lane <- struct{}{}:
		return func() { <-lane }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the check's request in flight: %w", ctx.Err())
	}
}

// Observe implements Observer for the pager kinds.
func (p *pagerState) Observe(f model.Flip) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.latest[f.CheckID]; ok && !f.Time.Before(s.at) {
		p.latest[f.CheckID] = pagerSeen{f.Time, pagerActionFor(string(f.To))}
	}
}

// superseded records n and reports whether a later flip of its check,
// asking the other action, is known: n is then not sent. gave_up alerts
// have their own key and are never superseded.
func (p *pagerState) superseded(n Notification, a pagerAction) bool {
	if n.Event == EventGaveUp {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.latest == nil {
		p.latest = map[model.CheckID]pagerSeen{}
	}
	s, ok := p.latest[n.CheckID]
	if ok && s.at.After(n.Time) {
		return s.action != a && s.action != pagerNone
	}
	p.latest[n.CheckID] = pagerSeen{n.Time, a}
	return false
}

// pager is what the pager kinds share: the key, the HTTP client, links,
// the log, and the memory of the latest flips (pagerState).
type pager struct {
	pagerState
	what   string // "pagerduty" or "opsgenie", the errors' prefix
	key    string // the secret, redacted from every error
	auth   string // the Authorization header, if any
	client *http.Client
	link   func(model.CheckID) string
	log    *slog.Logger
}

// setup sets p up for the kind what with its key and d.
func (p *pager) setup(what, key string, d Deps) {
	p.what, p.key, p.client, p.link, p.log = what, key, orDefaultClient(d.HTTPClient), d.Link, orDefaultLogger(d.Logger)
	for i := range p.lanes {
		p.lanes[i] = make(chan struct{}, 1)
	}
}

// send is the pager kinds' Send: it fails events they have no action for,
// waits for the check's request in flight, skips superseded events, and
// POSTs the JSON body of request(a) to its url.
func (p *pager) send(ctx context.Context, n Notification, request pagerRequest) error {
	a := pagerActionOf(n)
	if a == pagerNone {
		return Permanent(fmt.Errorf("%s: no pager action for event %q (down, flapping and gave_up trigger, up resolves)", p.what, n.Event))
	}
	release, err := p.enter(ctx, n.CheckID)
	if err != nil {
		return fmt.Errorf("%s: %w", p.what, err)
	}
	defer release()
	if n.Digest == nil && !n.Test && p.superseded(n, a) {
		p.log.Info(p.what+": not sent: superseded by a later flip of the check", "channel", n.Channel, "unique_key", n.CheckID, "event", n.Event)
		return nil
	}
	if err := p.post(ctx, request, n, a); err != nil {
		return err
	}
	switch {
	case n.Test:
		return p.post(ctx, request, n, pagerResolve) // a test leaves no incident open
	case n.Digest != nil:
		return p.resolveDigested(ctx, request, n)
	}
	return nil
}

// pagerRequest returns the url and the JSON body asking action a for n.
type pagerRequest func(n Notification, a pagerAction) (url string, body any)

// resolveDigested resolves the incidents of the checks that recovered in
// digest n and whose incident this channel opened alone, before the storm
// (known from pagerState: per process), so that they follow their
// checks; the other recoveries of a storm page no one and are not sent.
func (p *pager) resolveDigested(ctx context.Context, request pagerRequest, n Notification) error {
	for _, e := range n.Digest.Entries {
		if pagerActionFor(e.Event) != pagerResolve {
			continue
		}
		p.mu.Lock()
		s, ok := p.latest[e.CheckID]
		open := ok && s.action == pagerTrigger && !s.at.After(e.Time)
		p.mu.Unlock()
		if !open {
			continue
		}
		up := Notification{Key: e.Key, Event: e.Event, CheckID: e.CheckID, Check: e.Check, FlipID: e.FlipID,
			State: e.State, Previous: e.Previous, Reason: e.Reason, Time: e.Time, Channel: n.Channel}
		if err := p.post(ctx, request, up, pagerResolve); err != nil {
			return err
		}
		p.superseded(up, pagerResolve) // records the resolve
	}
	return nil
}

// post POSTs the JSON body of request(n, a) to its url.
func (p *pager) post(ctx context.Context, request pagerRequest, n Notification, a pagerAction) error {
	u, v := request(n, a)
	body, err := json.Marshal(v)
	if err != nil {
		return Permanent(fmt.Errorf("%s: %w", p.what, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("%s: %w", p.what, withoutURLSecrets(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vitals-watchdog")
	if p.auth != "" {
		req.Header.Set("Authorization", p.auth)
	}
	return postWith(p.client, req, p.what, pagerAnswer(p.key))
}

// validatePager checks the fields every pager kind has: its key (named
// keyField), an optional endpoint URL, and levels, each field name then
// its value, that must be one of allowed.
func validatePager(keyField, key, endpoint string, allowed []string, levels ...string) []error {
	var errs []error
	if err := validateKey(keyField, key); err != nil {
		errs = append(errs, err)
	}
	if endpoint != "" {
		if err := validateHTTPURL("url", endpoint); err != nil {
			errs = append(errs, err)
		}
	}
	for i := 0; i+1 < len(levels); i += 2 {
		if err := oneOf(levels[i], levels[i+1], allowed...); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Limits of what a pager is sent (the providers' documented limits, or
// ours where they set none), in characters.
const (
	maxPagerReason     = 2000 // details' reason
	maxPagerList       = 2000 // details' tags and suppressed, joined
	maxPagerName       = 512  // details' check name
	maxPagerLink       = 1000 // a longer link is left out
	maxPagerSuppressed = 50   // names listed, then a count
)

// pagerDetails are the key-value details sent with a trigger (PagerDuty's
// custom_details, Opsgenie's details: string values only, at most about
// 6,000 characters with the limits above, under Opsgenie's 8,000).
func pagerDetails(n Notification, link string) map[string]string {
	d := map[string]string{
		"check":      clipChars(n.Check, maxPagerName),
		"unique_key": n.CheckID.UniqueKey(),
		"event":      n.Event,
		"state":      string(n.State),
		"time":       n.Time.UTC().Format(time.RFC3339),
	}
	if n.Previous != "" {
		d["previous"] = string(n.Previous)
	}
	if n.Reason != "" {
		d["reason"] = clipChars(n.Reason, maxPagerReason)
	}
	if len(n.Tags) > 0 {
		d["tags"] = clipChars(strings.Join(n.Tags, ", "), maxPagerList)
	}
	if len(n.Suppressed) > 0 {
		d["suppressed"] = clipChars(suppressedList(n.Suppressed), maxPagerList)
	}
	if !n.HeldUntil.IsZero() {
		d["held_until"] = n.HeldUntil.UTC().Format(time.RFC3339)
	}
	if link != "" && len(link) <= maxPagerLink {
		d["link"] = link
	}
	return d
}

// suppressedList names the first maxPagerSuppressed checks, then counts
// the rest.
func suppressedList(names []string) string {
	if len(names) <= maxPagerSuppressed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxPagerSuppressed], ", "), len(names)-maxPagerSuppressed)
}

// pagerLine is n's one-line summary: the title and the reason, without
// control characters, at most max characters.
func pagerLine(n Notification, max int) string {
	s := n.Title()
	if n.Reason != "" {
		s += ": " + n.Reason
	}
	return clipChars(flatLine(s), max)
}

// flatLine replaces every control character (newlines, tabs) of s with a
// space and invalid UTF-8 with U+FFFD.
func flatLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// clipChars returns s when it has at most max characters (runes), else
// its first max-1 followed by "…".
func clipChars(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	i, n := 0, 0
	for i = range s {
		if n == max-1 {
			break
		}
		n++
	}
	return s[:i] + "…"
}

// pagerAnswer returns the describe func of postWith for a pager: the
// provider's JSON error ({"message", "errors"}, PagerDuty's and Opsgenie's
// shape) when the body is one, else the text; on one line, and with any
// secret (or the start of one cut by the length limit) replaced by
// "[redacted]": a proxy may echo the request.
func pagerAnswer(secrets ...string) func([]byte) string {
	return func(body []byte) string {
		return strings.ToValidUTF8(redact(flatLine(providerMessage(body)), secrets), "\uFFFD")
	}
}

// providerMessage decodes a PagerDuty or Opsgenie error answer into
// "status: message: error; error", or returns the body as text.
func providerMessage(body []byte) string {
	var a struct {
		Status  string          `json:"status"`
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &a) != nil || a.Message == "" && a.Status == "" {
		return strings.TrimSpace(string(body))
	}
	parts := make([]string, 0, 3)
	for _, s := range []string{a.Status, a.Message} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	var list []string
	var byField map[string]string
	switch {
	case json.Unmarshal(a.Errors, &list) == nil && len(list) > 0:
	case json.Unmarshal(a.Errors, &byField) == nil && len(byField) > 0:
		for k, v := range byField {
			list = append(list, k+": "+v)
		}
		slices.Sort(list)
	}
	if len(list) > 0 {
		parts = append(parts, strings.Join(list, "; "))
	}
	return strings.Join(parts, ": ")
}

// minRedacted is the shortest start of a secret redact recognises at the
// end of a text cut short.
const minRedacted = 4

// redact replaces every secret in s, and a start of one (at least
// minRedacted bytes) at its end, with "[redacted]".
func redact(s string, secrets []string) string {
	for _, k := range secrets {
		if k == "" {
			continue
		}
		s = strings.ReplaceAll(s, k, "[redacted]")
		for n := len(k) - 1; n >= minRedacted; n-- {
			if strings.HasSuffix(s, k[:n]) {
				s = s[:len(s)-n] + "[redacted]"
				break
			}
		}
	}
	return s
}

// validateKey checks a provider key: set, and without white space (a
// newline from a secret file), never quoting it.
func validateKey(field, k string) error {
	switch {
	case k == "":
		return fmt.Errorf("%s: required", field)
	case strings.IndexFunc(k, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("%s: contains white space or control characters", field)
	}
	return nil
}

// orDefaultLogger returns l, or slog.Default() when it is nil.
func orDefaultLogger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.Default()
}

// hostOf returns the scheme and host of a URL, without its path and
// query (which may hold a secret).
func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "…"
	}
	return u.Scheme + "://" + u.Host
}

// oneOf checks that v, when set, is one of allowed.
func oneOf(field, v string, allowed ...string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%s: %q is not one of %s", field, clipChars(v, 40), strings.Join(allowed, ", "))
}

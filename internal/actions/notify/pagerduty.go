package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PagerDutyURL is the Events API v2 endpoint.
const PagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDuty severities (the Events API v2's payload.severity).
var pagerDutySeverities = []string{"critical", "error", "warning", "info"}

// Limits of the Events API v2, in characters.
const (
	maxPDSummary  = 1024
	maxPDDedupKey = 255
)

// PagerDuty sends each notification to PagerDuty's Events API v2
// (https://developer.pagerduty.com/docs/events-api-v2/overview/): a down,
// flapping or gave_up notification is a "trigger" event, an up one a
// "resolve" event with the same dedup_key ([PagerKey]), so the incident
// PagerDuty opens for a check is resolved when the check recovers. Build
// it with [NewPagerDuty] or from config (kind "pagerduty"). It is an
// [Observer]: a trigger or resolve superseded by a later flip of its check
// is not sent (see docs/actions.md).
type PagerDuty struct {
	pager
	url                        string
	severity, flappingSeverity string
	source                     string
}

var (
	_ Notifier = (*PagerDuty)(nil)
	_ Observer = (*PagerDuty)(nil)
)

// PagerDutyConfig configures a PagerDuty notifier (config kind
// "pagerduty").
type PagerDutyConfig struct {
	// RoutingKey is the integration key of an Events API v2 integration
	// (32 characters at PagerDuty); a secret: put it in ${ENV}. Required.
	RoutingKey string `yaml:"routing_key" json:"routing_key"`
	// URL is the endpoint events are POSTed to. Default PagerDutyURL; set
	// it for a proxy or a PagerDuty-compatible receiver.
	URL string `yaml:"url" json:"url,omitempty"`
	// Severity of down and gave_up triggers: critical, error, warning or
	// info. Default critical.
	Severity string `yaml:"severity" json:"severity,omitempty"`
	// FlappingSeverity is the severity of flapping triggers. Default
	// warning.
	FlappingSeverity string `yaml:"flapping_severity" json:"flapping_severity,omitempty"`
	// Source is payload.source, "the unique location of the affected
	// system". Default: the check's name.
	Source string `yaml:"source" json:"source,omitempty"`
}

// Validate reports every problem of c, naming the fields; it never quotes
// the routing key.
func (c *PagerDutyConfig) Validate() error {
	return errors.Join(validatePager("routing_key", c.RoutingKey, c.URL, pagerDutySeverities,
		"severity", c.Severity, "flapping_severity", c.FlappingSeverity)...)
}

// Build returns the PagerDuty notifier c describes.
func (c *PagerDutyConfig) Build(d Deps) (Notifier, error) { return NewPagerDuty(*c, d) }

// NewPagerDuty returns a PagerDuty notifier for c, with d's HTTP client
// (see NewWebhook for the default), check links (Deps.CheckURL) and
// logger.
func NewPagerDuty(c PagerDutyConfig, d Deps) (*PagerDuty, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("pagerduty: %w", err)
	}
	p := &PagerDuty{url: c.URL, severity: c.Severity,
		flappingSeverity: c.FlappingSeverity, source: c.Source}
	p.setup("pagerduty", c.RoutingKey, d)
	if p.url == "" {
		p.url = PagerDutyURL
	}
	if p.severity == "" {
		p.severity = "critical"
	}
	if p.flappingSeverity == "" {
		p.flappingSeverity = "warning"
	}
	return p, nil
}

// pdEvent is an Events API v2 alert event.
type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Client      string     `json:"client,omitempty"`
	ClientURL   string     `json:"client_url,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
}

type pdPayload struct {
	Summary       string            `json:"summary"`
	Timestamp     string            `json:"timestamp,omitempty"`
	Severity      string            `json:"severity"`
	Source        string            `json:"source"`
	Class         string            `json:"class,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// event is the Events API v2 event p sends for n.
func (p *PagerDuty) event(n Notification, a pagerAction) pdEvent {
	e := pdEvent{RoutingKey: p.key, EventAction: "resolve", DedupKey: clipChars(PagerKey(n), maxPDDedupKey)}
	if a == pagerResolve {
		return e // PagerDuty reads only the routing and dedup keys of a resolve
	}
	link := p.link(n.CheckID)
	sev := p.severity
	if n.Event == EventFlapping {
		sev = p.flappingSeverity
	}
	src := p.source
	if src == "" {
		src = clipChars(flatLine(n.Check), maxPagerName)
	}
	if src == "" {
		src = "vitals"
	}
	e.EventAction = "trigger"
	e.Client = "Vitals"
	e.Payload = &pdPayload{
		Summary: pagerLine(n, maxPDSummary), Timestamp: n.Time.UTC().Format(time.RFC3339Nano), Severity: sev,
		Source: src, Class: n.Event, CustomDetails: pagerDetails(n, link),
	}
	if link != "" && len(link) <= maxPagerLink {
		e.ClientURL = link
		e.Links = []pdLink{{Href: link, Text: "the check on the Vitals status page"}}
	}
	return e
}

// Send posts n's event. PagerDuty answers 202; 400 (an invalid event) and
// other 4xx but 408 and 429 are permanent; 408, 429, 5xx and network
// errors are retried, at the time a Retry-After header asks for when
// there is one. A trigger or resolve superseded by a later flip of its
// check with the other action is not sent (nil); a check's request waits
// for its request in flight.
func (p *PagerDuty) Send(ctx context.Context, n Notification) error {
	return p.send(ctx, n, func(n Notification, a pagerAction) (string, any) { return p.url, p.event(n, a) })
}

// String names the notifier without its key.
func (p *PagerDuty) String() string { return "pagerduty(" + hostOf(p.url) + ")" }

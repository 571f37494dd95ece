package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The Opsgenie API roots by region.
const (
	OpsgenieURL   = "https://api.opsgenie.com"
	OpsgenieEUURL = "https://api.eu.opsgenie.com"
)

// Opsgenie priorities, P1 the highest.
var opsgeniePriorities = []string{"P1", "P2", "P3", "P4", "P5"}

// Limits of the Alert API (https://docs.opsgenie.com/docs/alert-api), in
// characters.
const (
	maxOGMessage     = 130
	maxOGAlias       = 512
	maxOGDescription = 15000
	maxOGTags        = 20
	maxOGTag         = 50
	maxOGEntity      = 512
	maxOGSource      = 100
	maxOGNote        = 25000
)

// Opsgenie sends each notification to Opsgenie's Alert API: a down,
// flapping or gave_up notification creates an alert (POST /v2/alerts) with
// an alias ([PagerKey]), an up one closes the alert of that alias (POST
// /v2/alerts/{alias}/close?identifierType=alias), so the alert Opsgenie
// opens for a check is closed when the check recovers. Opsgenie processes
// both asynchronously: its 202 means the request was accepted, not that
// the alert exists. Build it with [NewOpsgenie] or from config (kind
// "opsgenie"). Like [PagerDuty], it does not send what a later flip
// superseded.
type Opsgenie struct {
	pager
	base                       string // API root, without a trailing slash
	priority, flappingPriority string
	source                     string
}

var (
	_ Notifier = (*Opsgenie)(nil)
	_ Observer = (*Opsgenie)(nil)
)

// OpsgenieConfig configures an Opsgenie notifier (config kind "opsgenie").
type OpsgenieConfig struct {
	// APIKey is the key of an Opsgenie API integration, sent as
	// "Authorization: GenieKey <key>"; a secret: put it in ${ENV}.
	// Required.
	APIKey string `yaml:"api_key" json:"api_key"`
	// Region is "us" (api.opsgenie.com) or "eu" (api.eu.opsgenie.com).
	// Default us.
	Region string `yaml:"region" json:"region,omitempty"`
	// URL is the API root the /v2/alerts paths are appended to, for a
	// proxy or an Opsgenie-compatible receiver; it overrides Region.
	// Default: the region's.
	URL string `yaml:"url" json:"url,omitempty"`
	// Priority of down and gave_up alerts, P1 (highest) to P5. Default P3,
	// Opsgenie's own default.
	Priority string `yaml:"priority" json:"priority,omitempty"`
	// FlappingPriority is the priority of flapping alerts. Default P4.
	FlappingPriority string `yaml:"flapping_priority" json:"flapping_priority,omitempty"`
	// Source is the alerts' source field (at most 100 characters).
	// Default "Vitals".
	Source string `yaml:"source" json:"source,omitempty"`
}

// Validate reports every problem of c, naming the fields; it never quotes
// the API key.
func (c *OpsgenieConfig) Validate() error {
	errs := validatePager("api_key", c.APIKey, c.URL, opsgeniePriorities, "priority", c.Priority, "flapping_priority", c.FlappingPriority)
	if err := oneOf("region", c.Region, "us", "eu"); err != nil {
		errs = append(errs, err)
	}
	if u, err := url.Parse(c.URL); err == nil && (u.RawQuery != "" || u.Fragment != "") {
		errs = append(errs, errors.New("url: the API root takes no query or fragment"))
	}
	if n := len([]rune(c.Source)); n > maxOGSource {
		errs = append(errs, fmt.Errorf("source: %d characters, at most %d", n, maxOGSource))
	}
	return errors.Join(errs...)
}

// Build returns the Opsgenie notifier c describes.
func (c *OpsgenieConfig) Build(d Deps) (Notifier, error) { return NewOpsgenie(*c, d) }

// NewOpsgenie returns an Opsgenie notifier for c, with d's HTTP client
// (see NewWebhook for the default), check links (Deps.CheckURL) and
// logger.
func NewOpsgenie(c OpsgenieConfig, d Deps) (*Opsgenie, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("opsgenie: %w", err)
	}
	o := &Opsgenie{base: strings.TrimSuffix(c.URL, "/"), priority: c.Priority,
		flappingPriority: c.FlappingPriority, source: c.Source}
	o.setup("opsgenie", c.APIKey, d)
	o.auth = "GenieKey " + c.APIKey
	switch {
	case o.base != "":
	case c.Region == "eu":
		o.base = OpsgenieEUURL
	default:
		o.base = OpsgenieURL
	}
	if o.priority == "" {
		o.priority = "P3"
	}
	if o.flappingPriority == "" {
		o.flappingPriority = "P4"
	}
	if o.source == "" {
		o.source = "Vitals"
	}
	return o, nil
}

// ogCreate is the body of a create-alert request.
type ogCreate struct {
	Message     string            `json:"message"`
	Alias       string            `json:"alias"`
	Description string            `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
	Entity      string            `json:"entity,omitempty"`
	Source      string            `json:"source"`
	Priority    string            `json:"priority"`
}

// ogClose is the body of a close-alert request.
type ogClose struct {
	Source string `json:"source"`
	Note   string `json:"note,omitempty"`
}

// request returns the path and body of the request o sends for n.
func (o *Opsgenie) request(n Notification, a pagerAction) (path string, body any) {
	alias := clipChars(PagerKey(n), maxOGAlias)
	if a == pagerResolve {
		return "/v2/alerts/" + url.PathEscape(alias) + "/close?identifierType=alias",
			ogClose{Source: o.source, Note: clipChars(pagerLine(n, maxOGNote), maxOGNote)}
	}
	link := o.link(n.CheckID)
	pri := o.priority
	if n.Event == EventFlapping {
		pri = o.flappingPriority
	}
	tags := make([]string, 0, min(len(n.Tags), maxOGTags))
	for _, t := range n.Tags {
		if len(tags) == maxOGTags {
			break
		}
		if t = clipChars(flatLine(t), maxOGTag); t != "" {
			tags = append(tags, t)
		}
	}
	return "/v2/alerts", ogCreate{
		Message: pagerLine(n, maxOGMessage), Alias: alias, Description: clipChars(ogDescription(n, link), maxOGDescription),
		Tags: tags, Details: pagerDetails(n, link), Entity: clipChars(flatLine(n.Check), maxOGEntity), Source: o.source, Priority: pri,
	}
}

// ogDescription is the alert's description: what happened, in lines.
func ogDescription(n Notification, link string) string {
	var b strings.Builder
	b.WriteString(flatLine(n.Title()))
	if n.Reason != "" {
		b.WriteString("\n\nReason: " + clipChars(n.Reason, maxPagerReason))
	}
	if n.Previous != "" {
		fmt.Fprintf(&b, "\n%s → %s at %s", n.Previous, n.State, n.Time.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(&b, "\n%s at %s", n.State, n.Time.UTC().Format(time.RFC3339))
	}
	if len(n.Suppressed) > 0 {
		b.WriteString("\nAlso affected: " + clipChars(suppressedList(n.Suppressed), maxPagerList))
	}
	if link != "" && len(link) <= maxPagerLink {
		b.WriteString("\n" + link)
	}
	return b.String()
}

// Send posts n's create or close request. Opsgenie answers 202 (it
// processes the request later); 4xx answers (400, 401 a wrong key, 403,
// 404, 422) but 408 and 429 are permanent; 408, 429, 5xx and network
// errors are retried, at the time a Retry-After header asks for when
// there is one. A request superseded by a later flip of its check with the
// other action is not sent (nil); a check's request waits for its request
// in flight.
func (o *Opsgenie) Send(ctx context.Context, n Notification) error {
	return o.send(ctx, n, func(n Notification, a pagerAction) (string, any) {
		path, body := o.request(n, a)
		return o.base + path, body
	})
}

// String names the notifier without its key.
func (o *Opsgenie) String() string { return "opsgenie(" + hostOf(o.base) + ")" }

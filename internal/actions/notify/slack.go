package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Slack posts each notification to a Slack incoming webhook
// (https://api.slack.com/messaging/webhooks): a JSON body with "text" (the
// fallback shown in notifications) and "blocks" (a section with the title and
// reason in mrkdwn, and a context line with the check's id and time). Build it
// with [NewSlack] or from config (kind "slack").
type Slack struct {
	url    string
	client *http.Client
}

var _ Notifier = (*Slack)(nil)

// SlackConfig configures a Slack notifier (config kind "slack").
type SlackConfig struct {
	// URL is the incoming webhook URL (https://hooks.slack.com/services/…);
	// it is a secret: put it in ${ENV}. Required.
	URL string `yaml:"url" json:"url"`
}

// Validate reports every problem of c, naming the fields.
func (c *SlackConfig) Validate() error { return validateHTTPURL("url", c.URL) }

// Build returns the Slack notifier c describes.
func (c *SlackConfig) Build(d Deps) (Notifier, error) { return NewSlack(*c, d.HTTPClient) }

// NewSlack returns a Slack notifier for c; client may be nil (see NewWebhook).
func NewSlack(c SlackConfig, client *http.Client) (*Slack, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	return &Slack{url: c.URL, client: orDefaultClient(client)}, nil
}

// SlackMessage is the body posted to an incoming webhook.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks,omitempty"`
}

// SlackBlock is a Block Kit block: a "section" with Text or a "context" with
// Elements.
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a Block Kit text object ("mrkdwn" or "plain_text").
type SlackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// SlackMessageFor is the message Slack.Send posts for n.
func SlackMessageFor(n Notification) SlackMessage {
	icon := map[string]string{EventDown: ":red_circle:", EventUp: ":large_green_circle:", EventFlapping: ":warning:", EventGaveUp: ":rotating_light:"}[n.Event]
	if icon == "" {
		icon = ":information_source:"
	}
	title := slackEscape(n.Title())
	body := fmt.Sprintf("%s *%s*", icon, title)
	if n.Reason != "" {
		body += "\n" + slackEscape(n.Reason)
	}
	if len(n.Suppressed) > 0 {
		body += "\nAlso affected: " + slackEscape(strings.Join(n.Suppressed, ", "))
	}
	ctx := fmt.Sprintf("check `%s` · %s → %s · %s", n.CheckID, n.Previous, n.State, n.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	return SlackMessage{
		Text: title,
		Blocks: []SlackBlock{
			{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: body}},
			{Type: "context", Elements: []SlackText{{Type: "mrkdwn", Text: ctx}}},
		},
	}
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning to
// (https://api.slack.com/reference/surfaces/formatting#escaping).
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// Send posts n. Slack answers 200 "ok"; 4xx answers (invalid_payload,
// no_service, channel_is_archived…) are permanent failures except 429.
func (s *Slack) Send(ctx context.Context, n Notification) error {
	body, err := json.Marshal(SlackMessageFor(n))
	if err != nil {
		return Permanent(fmt.Errorf("slack: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("slack: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	return post(s.client, req, "slack")
}

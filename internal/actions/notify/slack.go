package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/vitals-go/vitals/internal/model"
)

// Slack posts each notification to a Slack incoming webhook
// (https://api.slack.com/messaging/webhooks): a JSON body with "text" (the
// fallback shown in notifications: the message's title) and "blocks" (a
// section with the message in mrkdwn, and a context line with the check's
// unique key, its change and time). The message is the default text or the
// notifier's template (see Texts), escaped for mrkdwn. Build it with
// [NewSlack] or from config (kind "slack").
type Slack struct {
	url    string
	client *http.Client
	texts  Texts
}

var _ Notifier = (*Slack)(nil)

// SlackConfig configures a Slack notifier (config kind "slack").
type SlackConfig struct {
	// URL is the incoming webhook URL (https://hooks.slack.com/services/…);
	// it is a secret: put it in ${ENV}. Required.
	URL string `yaml:"url" json:"url"`
	// TextOptions: the notifier's template (`template:` beside the kind).
	TextOptions `yaml:"-" json:"-"`
}

// Validate reports every problem of c, naming the fields.
func (c *SlackConfig) Validate() error { return validateHTTPURL("url", c.URL) }

// Build returns the Slack notifier c describes, linking to checks with
// d.CheckURL.
func (c *SlackConfig) Build(d Deps) (Notifier, error) {
	s, err := NewSlack(*c, d.HTTPClient)
	if err != nil {
		return nil, err
	}
	s.texts.Link = d.CheckURL
	return s, nil
}

// NewSlack returns a Slack notifier for c (without links to checks);
// client may be nil (see NewWebhook).
func NewSlack(c SlackConfig, client *http.Client) (*Slack, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	texts, err := NewTexts(c.Template, Deps{})
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	return &Slack{url: c.URL, client: orDefaultClient(client), texts: texts}, nil
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

// SlackMessageFor is the message Slack.Send posts for n shown as m.
func SlackMessageFor(n Notification, m Message) SlackMessage {
	icon := map[string]string{EventDown: ":red_circle:", EventUp: ":large_green_circle:", EventFlapping: ":warning:", EventGaveUp: ":rotating_light:"}[n.Event]
	if icon == "" {
		icon = ":information_source:"
	}
	if n.Test {
		icon = ":test_tube:"
	}
	title := slackEscape(m.Title)
	// A section's text is at most 3000 characters (Block Kit).
	body := cut(fmt.Sprintf("%s *%s*\n%s", icon, title, slackEscape(m.Body)), 3000)
	ctx := fmt.Sprintf("check `%s` · %s → %s · %s", model.UniqueKey(n.CheckID), slackEscape(string(n.Previous)), slackEscape(string(n.State)), n.Time.UTC().Format(TimeFormat))
	if n.Digest != nil {
		ctx = fmt.Sprintf("digest of %d notifications · %s", n.Digest.Total, n.Time.UTC().Format(TimeFormat))
	}
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
	body, err := json.Marshal(SlackMessageFor(n, s.texts.Message(n)))
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

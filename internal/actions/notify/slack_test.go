package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// slackServer checks what Slack's incoming webhooks accept
// (https://api.slack.com/messaging/webhooks): a JSON POST whose "text" is
// set, blocks of known types with mrkdwn text objects; it answers "ok".
func slackServer(t *testing.T, got chan<- SlackMessage) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m SlackMessage
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		bad := func(why string) {
			t.Errorf("invalid_payload: %s: %s", why, b)
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "invalid_payload")
		}
		switch {
		case r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
			bad("not a JSON POST")
			return
		case dec.Decode(&m) != nil:
			bad("not a message")
			return
		case m.Text == "":
			bad("no text")
			return
		}
		for _, bl := range m.Blocks {
			switch bl.Type {
			case "section":
				if bl.Text == nil || bl.Text.Type != "mrkdwn" || bl.Text.Text == "" {
					bad("section without mrkdwn text")
					return
				}
			case "context":
				if len(bl.Elements) == 0 || bl.Elements[0].Type != "mrkdwn" {
					bad("context without elements")
					return
				}
			default:
				bad("block type " + bl.Type)
				return
			}
		}
		got <- m
		io.WriteString(w, "ok")
	}))
}

func TestSlackPayload(t *testing.T) {
	got := make(chan SlackMessage, 1)
	srv := slackServer(t, got)
	defer srv.Close()
	s, err := NewSlack(SlackConfig{URL: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), testNotification("slack")); err != nil {
		t.Fatal(err)
	}
	m := <-got
	if m.Text != `"api &lt;prod&gt; &amp; co" is DOWN` {
		t.Errorf("text = %q", m.Text)
	}
	sec := m.Blocks[0].Text.Text
	if !strings.HasPrefix(sec, ":red_circle: *") || !strings.Contains(sec, "connection refused") {
		t.Errorf("section = %q", sec)
	}
	if ctx := m.Blocks[1].Elements[0].Text; !strings.Contains(ctx, testCheck.String()) || !strings.Contains(ctx, "up → down") {
		t.Errorf("context = %q", ctx)
	}
}

func TestSlackErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "no_service")
	}))
	defer srv.Close()
	s, _ := NewSlack(SlackConfig{URL: srv.URL}, nil)
	err := s.Send(context.Background(), testNotification("slack"))
	if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "no_service") {
		t.Fatalf("err = %v, want permanent no_service", err)
	}
}

// A template's output is the section's message, escaped for mrkdwn like
// the default text: a check's name cannot mention a channel.
func TestSlackTemplate(t *testing.T) {
	got := make(chan SlackMessage, 1)
	srv := slackServer(t, got)
	defer srv.Close()
	c := SlackConfig{URL: srv.URL}
	c.SetTemplate(`{{define "title"}}{{.Check}} down{{end}}*{{.Check}}* {{.Reason}}`)
	s, err := NewSlack(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification("slack")
	n.Check = "<!channel> api"
	if err := s.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	m := <-got
	if m.Text != "&lt;!channel&gt; api down" || !strings.HasSuffix(m.Blocks[0].Text.Text, "\n*&lt;!channel&gt; api* 3 consecutive failures: connection refused") {
		t.Errorf("text %q, section %q", m.Text, m.Blocks[0].Text.Text)
	}
	c.SetTemplate("{{.Nope}}")
	if _, err := NewSlack(c, nil); !errors.Is(err, ErrTemplate) {
		t.Errorf("a bad template: %v", err)
	}
}

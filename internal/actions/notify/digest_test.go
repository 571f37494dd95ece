package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A digest is a plain Notification: its JSON (a webhook's body) carries
// the entries, and the kinds that send Title and Reason render it.
func TestDigestNotification(t *testing.T) {
	n := Notification{Key: "k", Event: EventDown, Check: "api", State: "down", Previous: "up", Reason: "refused", Time: time.Unix(0, 0).UTC()}
	d := NewDigest("pager", []Notification{n, n}, "https://v.example/status/", time.Unix(10, 0))
	d.Key = DigestKey("pager", nil)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", b)
	var back Notification
	if err := json.Unmarshal(b, &back); err != nil || back.Digest == nil || back.Digest.Total != 2 || back.Title() != "Alert storm: 2 checks (2 DOWN)" {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	msg := SlackMessageFor(d, Texts{}.Message(d))
	if !strings.Contains(msg.Text, "Alert storm") || !strings.Contains(msg.Blocks[1].Elements[0].Text, "digest of 2") {
		t.Errorf("slack: %+v", msg)
	}
}

// The e-mail of a digest lists every entry, one line each.
func TestDigestEmail(t *testing.T) {
	var ns []Notification
	for _, name := range []string{"api", "db\r\nBcc: x@example.com", "web"} {
		ns = append(ns, Notification{Event: EventDown, Check: name, Reason: "refused", Time: time.Unix(0, 0).UTC()})
	}
	d := NewDigest("oncall", ns, "", time.Unix(10, 0))
	d.Key = DigestKey("oncall", nil)
	e, err := NewEmail(EmailConfig{Addr: "127.0.0.1:1", From: "vitals@example.com", To: []string{"oncall@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	body := string(e.message(d))
	for _, want := range []string{"Subject: [vitals] Alert storm: 3 checks (3 DOWN)", `down     "api": refused`, `"web": refused`} {
		if !strings.Contains(body, want) {
			t.Errorf("mail lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "\r\nBcc:") {
		t.Errorf("a check's name broke a line:\n%s", body)
	}
}

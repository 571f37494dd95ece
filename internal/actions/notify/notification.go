package notify

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

// Events a notification can announce. A flip's event is its new status
// ("down", "up", "flapping", "paused"); EventGaveUp is raised by a restart
// action that stopped restarting (see package restart).
const (
	EventDown     = string(model.StatusDown)
	EventUp       = string(model.StatusUp)
	EventFlapping = string(model.StatusFlapping)
	EventGaveUp   = "gave_up"
)

// Notification is what a [Notifier] is asked to send or do: one outbox row,
// decoded. Its JSON form is the payload stored in the row and, with Attempt
// and Sent filled in, the body of a webhook.
type Notification struct {
	// Key is the idempotency key, "<check id>/<flip id>/<channel>": the same
	// on every attempt of the same row, different for every other row.
	Key string `json:"key"`
	// Event is what happened: the flip's new status, or EventGaveUp.
	Event string `json:"event"`
	// CheckID, Check (its name) and Tags identify the check.
	CheckID model.CheckID `json:"check_id"`
	Check   string        `json:"check"`
	Tags    []string      `json:"tags,omitempty"`
	// FlipID is the flip that caused the notification.
	FlipID uuid.UUID `json:"flip_id"`
	// State and Previous are the check's status after and before the flip.
	State    model.Status `json:"state"`
	Previous model.Status `json:"previous,omitempty"`
	// Reason says why, for humans (the flip's reason).
	Reason string `json:"reason"`
	// Time is when the flip was decided (UTC).
	Time time.Time `json:"time"`
	// Suppressed names the checks whose own alerts this one stands for
	// (children of a down parent), when a Policy folded them in.
	Suppressed []string `json:"suppressed,omitempty"`
	// HeldUntil is set when a Policy held the row back (a maintenance
	// window): it is sent then, if the check is still in State.
	HeldUntil time.Time `json:"held_until,omitzero"`
	// Channel is the configured channel name the row is for.
	Channel string `json:"channel"`
	// Attempt numbers the delivery attempts from 1 (set by the Dispatcher).
	Attempt int `json:"attempt,omitempty"`
	// Sent is when this attempt was made (set by the Dispatcher).
	Sent time.Time `json:"sent,omitzero"`
}

// Key returns the idempotency key of the row for (check, flip, channel).
func Key(check model.CheckID, flip uuid.UUID, channel string) string {
	return check.UniqueKey() + "/" + flip.String() + "/" + channel
}

// Title is a one-line summary for subjects and chat messages, such as
// `"api" is DOWN`.
func (n Notification) Title() string {
	switch n.Event {
	case EventGaveUp:
		return fmt.Sprintf("%q: gave up restarting", n.Check)
	default:
		return fmt.Sprintf("%q is %s", n.Check, upper(string(n.State)))
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// FromTransition is the Notification announcing a flip (without Channel).
func FromTransition(c model.Check, f model.Flip) Notification {
	return Notification{
		Event: string(f.To), CheckID: c.ID, Check: c.Name, Tags: c.Tags, FlipID: f.ID,
		State: f.To, Previous: f.From, Reason: f.Reason, Time: f.Time,
	}
}

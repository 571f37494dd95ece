package notify

import (
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/clip"
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
	// EventLate: the check is past its due time, within its grace time
	// (not a flip: State is "grace"; see model.Routes.Late).
	EventLate = "late"
	// EventCertExpiring: a pull check's TLS certificate expires soon
	// (not a flip; sent once per certificate).
	EventCertExpiring = "cert_expiring"
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
	// Kind is the check's kind (push or pull); empty in rows written
	// before it was added, and for a supervised process's "gave up".
	Kind model.Kind `json:"kind,omitempty"`
	// FlipID is the flip that caused the notification.
	FlipID uuid.UUID `json:"flip_id"`
	// State and Previous are the check's status after and before the flip.
	State    model.Status `json:"state"`
	Previous model.Status `json:"previous,omitempty"`
	// Reason says why, for humans (the flip's reason).
	Reason string `json:"reason"`
	// Time is when the flip was decided (UTC).
	Time time.Time `json:"time"`
	// PreviousSince is when the check entered Previous: on a recovery,
	// when the outage began (see Outage). Zero when unknown (rows stored
	// by earlier versions, raised notifications).
	PreviousSince time.Time `json:"previous_since,omitzero"`
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
	// Test marks a test notification (`vitals notify test`, POST
	// /channels/{id}/test): nothing happened to the check.
	Test bool `json:"test,omitempty"`
	// Digest is set on a digest (Event EventDigest): the notifications it
	// stands for, during an alert storm (see Storm). CheckID, Check and
	// FlipID are then zero.
	Digest *Digest `json:"digest,omitempty"`
}

// Outage is how long the check was down or flapping, for a recovery (an
// up event from down or flapping) whose start is known; 0 otherwise.
func (n Notification) Outage() time.Duration {
	if n.Event != EventUp || n.PreviousSince.IsZero() || n.Time.Before(n.PreviousSince) {
		return 0
	}
	if n.Previous != model.StatusDown && n.Previous != model.StatusFlapping {
		return 0
	}
	return n.Time.Sub(n.PreviousSince)
}

// Key returns the idempotency key of the row for (check, flip, channel).
func Key(check model.CheckID, flip uuid.UUID, channel string) string {
	return check.UniqueKey() + "/" + flip.String() + "/" + channel
}

// Title is a one-line summary for subjects and chat messages, such as
// `"api" is DOWN` (the default title, see Data).
func (n Notification) Title() string {
	if n.Event == EventDigest && n.Digest != nil {
		return n.Digest.title()
	}
	d := TemplateData{Event: n.Event, Check: clip.Text(n.Check, 2*model.MaxNameLen), Test: n.Test}
	t, _ := defaultTitle(d)
	return t
}

// FromTransition is the Notification announcing a flip (without Channel).
func FromTransition(c model.Check, f model.Flip) Notification {
	return Notification{
		Event: string(f.To), CheckID: c.ID, Check: c.Name, Tags: c.Tags, Kind: c.Kind, FlipID: f.ID,
		State: f.To, Previous: f.From, Reason: f.Reason, Time: f.Time,
	}
}

package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
)

// ErrBadPayload is wrapped by Decode when a row's payload is not a Notification.
var ErrBadPayload = errors.New("actions: bad outbox payload")

// Row builds the outbox row that carries n for its channel: ID a fresh
// UUIDv7, pending, due at due (now, or a maintenance window's end).
func Row(n notify.Notification, created, due time.Time) (model.Notification, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return model.Notification{}, fmt.Errorf("outbox row id: %w", err)
	}
	n.Key = notify.Key(n.CheckID, n.FlipID, n.Channel)
	n.Attempt, n.Sent = 0, time.Time{}
	p, err := json.Marshal(n)
	if err != nil {
		return model.Notification{}, fmt.Errorf("outbox payload: %w", err)
	}
	return model.Notification{
		ID: id, FlipID: n.FlipID, CheckID: n.CheckID, Channel: n.Channel,
		Payload: p, State: model.NotificationPending, NextAttempt: due, Created: created,
	}, nil
}

// Decode returns the Notification stored in the row r, with Channel and Key
// taken from the row. A payload that is not one wraps ErrBadPayload.
func Decode(r model.Notification) (notify.Notification, error) {
	var n notify.Notification
	if err := json.Unmarshal(r.Payload, &n); err != nil {
		return notify.Notification{}, fmt.Errorf("%w: row %s: %v", ErrBadPayload, r.ID, err)
	}
	n.Channel = r.Channel
	n.CheckID, n.FlipID = r.CheckID, r.FlipID
	n.Key = notify.Key(r.CheckID, r.FlipID, r.Channel)
	return n, nil
}

package model

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Flip is one change of a check's Status, with the reason. Flips are the
// events actions and notifications hang on: they are identified by ID so an
// action runs once per flip.
type Flip struct {
	// ID identifies the flip (UUIDv7: ordered by time), set by the engine.
	ID uuid.UUID `json:"id"`
	// CheckID is the check that flipped.
	CheckID CheckID `json:"check_id"`
	// From and To are stored statuses (never started / grace).
	From Status `json:"from"`
	To   Status `json:"to"`
	// Time is when the change was decided (UTC).
	Time time.Time `json:"time"`
	// Reason says why, for humans: "fail ping", "no ping within period +
	// grace (deadline 12:00:00)", "3 consecutive failures: connection
	// refused", "paused by operator". At most MaxReasonLen bytes.
	Reason string `json:"reason"`
}

// NotificationState is where an outbox row is in its delivery.
type NotificationState string

const (
	// NotificationPending: not delivered yet (maybe retried later).
	NotificationPending NotificationState = "pending"
	// NotificationDelivered: the receiver accepted it; never sent again.
	NotificationDelivered NotificationState = "delivered"
	// NotificationFailed: given up after the last retry.
	NotificationFailed NotificationState = "failed"
)

// Notification is a row of the durable outbox: something to send or do
// because of a flip. It is written in the same transaction as its flip (see
// store.Update), so a flip is never recorded without its notifications and
// vice versa; a deliverer then sends pending rows with retries.
type Notification struct {
	// ID identifies the row (UUIDv7), set by whoever creates it; (FlipID,
	// Channel) is unique, so that planning a flip twice adds nothing.
	ID uuid.UUID `json:"id"`
	// FlipID and CheckID tie the row to its cause.
	FlipID  uuid.UUID `json:"flip_id"`
	CheckID CheckID   `json:"check_id"`
	// Channel names the receiver or action (a config key such as
	// "webhook:ops" or "restart:api").
	Channel string `json:"channel"`
	// Payload is the channel-specific message, JSON.
	Payload json.RawMessage `json:"payload,omitempty"`
	// State, Attempts, NextAttempt, LastError and Delivered track delivery.
	State       NotificationState `json:"state"`
	Attempts    int               `json:"attempts"`
	NextAttempt time.Time         `json:"next_attempt"`
	LastError   string            `json:"last_error,omitempty"`
	Created     time.Time         `json:"created"`
	Delivered   time.Time         `json:"delivered,omitzero"`
}

// UptimeDay is one day (UTC) of one check's uptime rollup: Up seconds of
// Total counted seconds (time new or paused is not counted). The 90-day bars
// of the status page are 90 of these.
type UptimeDay struct {
	CheckID CheckID `json:"check_id"`
	// Day is midnight UTC of the day.
	Day   time.Time     `json:"day"`
	Up    time.Duration `json:"up"`
	Total time.Duration `json:"total"`
}

// Ratio returns Up / Total, or 1 when nothing was counted.
func (d UptimeDay) Ratio() float64 {
	if d.Total <= 0 {
		return 1
	}
	return float64(d.Up) / float64(d.Total)
}

// SplitDays returns the uptime increments for having been in status st from
// from to to, one per UTC day touched; nil when st is not counted or the
// interval is empty.
func SplitDays(id CheckID, st Status, from, to time.Time) []UptimeDay {
	up, counted := CountsAsUp(st)
	if !counted || !to.After(from) {
		return nil
	}
	from, to = from.UTC(), to.UTC()
	var out []UptimeDay
	for from.Before(to) {
		day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
		end := day.AddDate(0, 0, 1)
		if to.Before(end) {
			end = to
		}
		d := UptimeDay{CheckID: id, Day: day, Total: end.Sub(from)}
		if up {
			d.Up = d.Total
		}
		out = append(out, d)
		from = end
	}
	return out
}

// MergeDays adds the increments in add into days (both keyed by Day),
// returning days sorted by Day.
func MergeDays(days []UptimeDay, add ...UptimeDay) []UptimeDay {
	for _, a := range add {
		found := false
		for i := range days {
			if days[i].Day.Equal(a.Day) {
				days[i].Up += a.Up
				days[i].Total += a.Total
				found = true
				break
			}
		}
		if !found {
			days = append(days, a)
		}
	}
	sortDays(days)
	return days
}

func sortDays(days []UptimeDay) {
	for i := 1; i < len(days); i++ {
		for j := i; j > 0 && days[j].Day.Before(days[j-1].Day); j-- {
			days[j], days[j-1] = days[j-1], days[j]
		}
	}
}

package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

// EventDigest is the Event of a digest: one notification standing for many
// rows of one channel, sent instead of them during an alert storm (see
// Storm and the outbox's Dispatcher).
const EventDigest = "digest"

// DigestNames is how many check names a digest's Reason lists before "and
// N more" (every entry is in Digest.Entries, and on the linked page).
const DigestNames = 10

// Storm is a channel's alert-storm protection: when more than Threshold of
// its notifications come due within Window, the rest of them are sent as
// digests (Notification.Digest), at most one every Pace, instead of one
// message each. The zero value is off.
type Storm struct {
	// Threshold is how many notifications the channel sends one by one
	// within Window; beyond it they are digested. 0: off.
	Threshold int `json:"threshold"`
	// Window is the sliding window Threshold counts in.
	Window time.Duration `json:"window"`
}

// DefaultStorm is the storm protection of a channel whose kind is not an
// action and does not say otherwise (see StormDefaulter): ten messages a
// minute one by one, then digests. It protects a pager or a chat channel
// from a network partition's hundreds of alerts.
var DefaultStorm = Storm{Threshold: 10, Window: time.Minute}

// MaxStormWindow bounds Storm.Window.
const MaxStormWindow = 24 * time.Hour

// Enabled reports whether s digests anything.
func (s Storm) Enabled() bool { return s.Threshold > 0 && s.Window > 0 }

// Pace is the least time between two digests of a channel, and how long
// the first digest of a storm waits to gather the burst: Window/6, at most
// 10s.
func (s Storm) Pace() time.Duration { return min(s.Window/6, 10*time.Second) }

// Validate reports the problems of an enabled s, naming the fields.
func (s Storm) Validate() error {
	switch {
	case s.Threshold < 0:
		return fmt.Errorf("threshold: must not be negative (0 turns storm protection off)")
	case s.Threshold > 0 && s.Window <= 0:
		return fmt.Errorf("window: must be positive")
	case s.Window > MaxStormWindow:
		return fmt.Errorf("window: at most %s", MaxStormWindow)
	}
	return nil
}

// StormDefaulter is implemented by a Spec whose kind has its own default
// storm protection (the webhook: none, its receivers are programs that
// expect one body per check). Kinds that do not implement it get
// DefaultStorm; action kinds (model.ActionKinds) never get any.
type StormDefaulter interface {
	DefaultStorm() Storm
}

var (
	_ StormDefaulter = (*WebhookConfig)(nil)
	_ StormDefaulter = (*AlertmanagerConfig)(nil)
)

// StormFor is the storm protection of a channel of kind with spec when
// the config sets none: none for an action (a restart must happen per
// check), the spec's own default (StormDefaulter), else DefaultStorm.
func StormFor(kind string, spec Spec) Storm {
	if slices.Contains(model.ActionKinds, kind) {
		return Storm{}
	}
	if d, ok := spec.(StormDefaulter); ok {
		return d.DefaultStorm()
	}
	return DefaultStorm
}

// Digest is the body of a digest notification (Event EventDigest).
type Digest struct {
	// Total is the number of notifications digested (len(Entries)).
	Total int `json:"total"`
	// Counts are the entries by event ("down": 480, "up": 20).
	Counts map[string]int `json:"counts"`
	// Entries are the notifications digested, in the order they came due.
	Entries []DigestEntry `json:"entries"`
	// URL is the status page's overview, where every check is listed
	// (empty when the daemon has no public URL).
	URL string `json:"url,omitempty"`
}

// DigestEntry is one digested notification: the fields of the
// Notification it stands for.
type DigestEntry struct {
	// Key is the key the notification would have had alone.
	Key      string        `json:"key"`
	Event    string        `json:"event"`
	CheckID  model.CheckID `json:"check_id"`
	Check    string        `json:"check"`
	FlipID   uuid.UUID     `json:"flip_id"`
	State    model.Status  `json:"state,omitempty"`
	Previous model.Status  `json:"previous,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Time     time.Time     `json:"time"`
}

// DigestKey is the idempotency key of a digest of the given outbox rows
// (by id) for channel: derived from the set of rows, so the same rows
// digested again (a retry) carry the same key.
func DigestKey(channel string, rows []uuid.UUID) string {
	ids := slices.Clone(rows)
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	h := sha256.New()
	for _, id := range ids {
		h.Write(id[:])
	}
	return "digest/" + hex.EncodeToString(h.Sum(nil)[:16]) + "/" + channel
}

// NewDigest is the notification digesting ns (notifications of one
// channel, in the order they came due) with link url (the status page's
// overview; may be empty). Its Title counts them by event and its Reason
// names the first DigestNames checks and gives the link, so that a kind
// sending only Title and Reason renders it sensibly. Key is to be set by
// the caller (DigestKey).
func NewDigest(channel string, ns []Notification, url string, now time.Time) Notification {
	d := &Digest{Total: len(ns), Counts: map[string]int{}, URL: url, Entries: make([]DigestEntry, 0, len(ns))}
	var names []string
	for _, n := range ns {
		d.Counts[n.Event]++
		d.Entries = append(d.Entries, DigestEntry{Key: n.Key, Event: n.Event, CheckID: n.CheckID, Check: n.Check, FlipID: n.FlipID,
			State: n.State, Previous: n.Previous, Reason: n.Reason, Time: n.Time})
		if len(names) < DigestNames {
			names = append(names, fmt.Sprintf("%q (%s)", n.Check, n.Event))
		}
	}
	reason := fmt.Sprintf("alert storm on channel %q: %s", channel, strings.Join(names, ", "))
	if more := len(ns) - len(names); more > 0 {
		reason += fmt.Sprintf(" and %d more", more)
	}
	if url != "" {
		reason += "; every check: " + url
	}
	return Notification{Event: EventDigest, Check: "", Reason: reason, Time: now.UTC(), Channel: channel, Digest: d}
}

// title is Notification.Title for a digest: "Alert storm: 500 checks (480
// DOWN, 20 UP)".
func (d *Digest) title() string {
	events := make([]string, 0, len(d.Counts))
	for e := range d.Counts {
		events = append(events, e)
	}
	slices.SortFunc(events, func(a, b string) int {
		if c := d.Counts[b] - d.Counts[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(events))
	for i, e := range events {
		parts[i] = fmt.Sprintf("%d %s", d.Counts[e], strings.ToUpper(e))
	}
	return fmt.Sprintf("Alert storm: %d checks (%s)", d.Total, strings.Join(parts, ", "))
}

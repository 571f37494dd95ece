package api

import (
	"net/http"
	"slices"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

// listChannels: GET /channels/, the configured notification channels
// (healthchecks.io's integrations) with their stable ids.
func (h *Handler) listChannels(q *request, _ []string) *apiError {
	out := struct {
		Channels []model.Channel `json:"channels"`
	}{Channels: slices.Clone(h.channels())}
	if out.Channels == nil {
		out.Channels = []model.Channel{}
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// ChannelTest is the outcome of a channel test (Options.TestChannel).
type ChannelTest struct {
	// Sent is true when the receiver accepted the test notification.
	Sent bool
	// Refused is true when the channel acts (restarts something) and
	// was not run; Error says what it would have done.
	Refused bool
	// Answers are what receivers answered ("POST https://host: 200 OK"),
	// when the notifier can tell.
	Answers []string
	// Error is why it failed or was refused (never a secret).
	Error string
}

// testChannel: POST /channels/{id}/test, {id} a channel's id or name:
// sends a test notification through the channel and answers 200 with
// what the receiver answered, 502 when the send failed, 409 when the
// channel acts (it is not run), 429 while another test runs.
func (h *Handler) testChannel(q *request, args []string) *apiError {
	var ch model.Channel
	found := false
	id, idErr := uuid.Parse(args[0])
	for _, c := range h.channels() {
		if idErr == nil && c.ID == id || idErr != nil && c.Name == args[0] {
			ch, found = c, true
			break
		}
	}
	if !found {
		return errorf(http.StatusNotFound, "no such channel")
	}
	if !h.testMu.TryLock() {
		return errorf(http.StatusTooManyRequests, "another channel test is running")
	}
	defer h.testMu.Unlock()
	res := h.opts.TestChannel(q.r.Context(), ch.Name)
	h.log.Info("channel test", "channel", ch.Name, "kind", ch.Kind, "sent", res.Sent, "key", q.keyName)
	switch {
	case res.Refused:
		return errorf(http.StatusConflict, res.Error)
	case !res.Sent:
		return errorf(http.StatusBadGateway, "test notification failed: "+res.Error, res.Answers...)
	}
	answers := res.Answers
	if answers == nil {
		answers = []string{}
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"channel": ch, "sent": true, "answers": answers})
	return nil
}

// badgeFormats are the keys of each tag's badges (healthchecks.io's).
var badgeFormats = []string{"svg", "svg3", "json", "json3", "shields", "shields3"}

// listBadges: GET /badges/, the badge URLs of "*" (every check) and of
// every tag of every check, from Options.BadgeURLs.
func (h *Handler) listBadges(q *request, _ []string) *apiError {
	badges := map[string]map[string]string{}
	if h.opts.BadgeURLs != nil {
		tags := []string{"*"}
		for _, cs := range h.e.List() {
			tags = append(tags, cs.Check.Tags...)
		}
		slices.Sort(tags)
		origin, _ := h.urls(q.r)
		for _, tag := range slices.Compact(tags) {
			paths := h.opts.BadgeURLs(tag)
			if len(paths) == 0 {
				continue
			}
			urls := make(map[string]string, len(badgeFormats))
			for _, f := range badgeFormats {
				if p, ok := paths[f]; ok {
					urls[f] = origin + p
				}
			}
			badges[tag] = urls
		}
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"badges": badges})
	return nil
}

// status: GET /status/ (no key needed, as healthchecks.io): 200 "OK" when
// the store answers (Options.Status), else 503.
func (h *Handler) status(q *request, _ []string) *apiError {
	code, body := http.StatusOK, "OK"
	if h.opts.Status != nil {
		// Not logged: anyone may ask, as often as they like, and the
		// outage is logged once by whoever owns the store's health
		// (the daemon's readiness check).
		if h.opts.Status(q.r.Context()) != nil {
			code, body = http.StatusServiceUnavailable, "store unavailable"
		}
	}
	hdr := q.w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	q.w.WriteHeader(code)
	q.w.Write([]byte(body))
	return nil
}

package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// pingOutput is a ping as healthchecks.io's Ping.to_dict shows it, plus
// exit_status and body_truncated (Vitals' own).
type pingOutput struct {
	Type          string   `json:"type"`
	Date          string   `json:"date"`
	N             int64    `json:"n"`
	Scheme        string   `json:"scheme"`
	RemoteAddr    *string  `json:"remote_addr"`
	Method        string   `json:"method"`
	UA            string   `json:"ua"`
	RID           *string  `json:"rid"`
	Duration      *float64 `json:"duration,omitempty"`
	BodyURL       *string  `json:"body_url"`
	ExitStatus    *int     `json:"exit_status,omitempty"`
	BodyTruncated bool     `json:"body_truncated,omitempty"`
}

// flipOutput is a flip as the API shows it: healthchecks.io's timestamp
// and up, plus the statuses, the reason and what became of its actions.
type flipOutput struct {
	Timestamp string `json:"timestamp"`
	Up        int    `json:"up"`
	// Time is the flip's time to the nanosecond (a Vitals extra:
	// healthchecks.io's timestamp is whole seconds).
	Time   time.Time `json:"time"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	// Actions are the outcomes of the notifications and actions this flip
	// caused (one per channel), from the outbox.
	Actions []actionOutput `json:"actions"`
}

// actionOutput is one outbox row of a flip: where it went and how it went.
type actionOutput struct {
	Channel   string     `json:"channel"`
	State     string     `json:"state"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	Delivered *time.Time `json:"delivered,omitempty"`
}

// listPings: GET /checks/{key}/pings/, newest first: the last MaxPings, or
// with the opt-in ?limit a page (the cursor is the number of the last ping
// seen).
func (h *Handler) listPings(q *request, args []string) *apiError {
	limit, cursor, err := page(q.r)
	if err != nil {
		return err
	}
	paged := limit > 0
	if !paged {
		limit = MaxPings
	}
	var before int64
	if cursor != "" {
		s, ok := decodeCursor(cursor)
		n, perr := strconv.ParseInt(s, 10, 64)
		if !ok || perr != nil || n < 1 {
			return badCursor
		}
		before = n
	}
	cs, err := h.resolve(args[0])
	if err != nil {
		return err
	}
	pings, serr := h.st.Pings(q.r.Context(), cs.Check.ID, store.PingQuery{Limit: limit + 1, Before: before})
	if serr != nil {
		return h.fromEngine(serr)
	}
	out := struct {
		Pings      []pingOutput `json:"pings"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{Pings: make([]pingOutput, 0, min(len(pings), limit))}
	if len(pings) > limit {
		pings = pings[:limit]
		if paged {
			out.NextCursor = encodeCursor(strconv.FormatInt(pings[limit-1].N, 10))
		}
	}
	base := h.apiBase(q) + "checks/" + cs.Check.ID.Secret() + "/pings/"
	for _, p := range pings {
		out.Pings = append(out.Pings, renderPing(p, base))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// renderPing renders p; base is the URL its body_url extends.
func renderPing(p model.Ping, base string) pingOutput {
	o := pingOutput{
		Type:          string(p.Kind),
		N:             p.N,
		Date:          isoMicro(p.Time),
		Method:        p.Method,
		Scheme:        p.Scheme,
		UA:            p.UserAgent,
		BodyTruncated: p.BodyTruncated,
	}
	if p.RemoteAddr != "" {
		a := p.RemoteAddr
		o.RemoteAddr = &a
	}
	if p.Kind == model.PingExitStatus {
		// healthchecks.io shows exit-status pings as success or fail.
		es := p.ExitStatus
		o.ExitStatus = &es
		o.Type = string(model.PingSuccess)
		if es != 0 {
			o.Type = string(model.PingFail)
		}
	}
	if p.RID != uuid.Nil {
		r := p.RID.String()
		o.RID = &r
	}
	if p.Duration > 0 {
		// healthchecks.io rounds to hundredths: timing HTTP requests is
		// no more precise than that.
		d := math.Round(p.Duration.Seconds()*100) / 100
		o.Duration = &d
	}
	if len(p.Body) > 0 {
		u := base + strconv.FormatInt(p.N, 10) + "/body"
		o.BodyURL = &u
	}
	return o
}

// pingBody: GET /checks/{key}/pings/{n}/body, the ping's body verbatim as
// text/plain; 404 when the ping has none or is no longer kept.
func (h *Handler) pingBody(q *request, args []string) *apiError {
	n, perr := strconv.ParseInt(args[1], 10, 64)
	if perr != nil || n < 1 {
		return errorf(http.StatusNotFound, "ping not found")
	}
	cs, err := h.resolve(args[0])
	if err != nil {
		return err
	}
	if n == math.MaxInt64 {
		return errorf(http.StatusNotFound, "ping not found")
	}
	pings, serr := h.st.Pings(q.r.Context(), cs.Check.ID, store.PingQuery{Limit: 1, Before: n + 1})
	if serr != nil {
		return h.fromEngine(serr)
	}
	if len(pings) == 0 || pings[0].N != n {
		return errorf(http.StatusNotFound, "ping not found")
	}
	if len(pings[0].Body) == 0 {
		return errorf(http.StatusNotFound, "ping has no body")
	}
	hdr := q.w.Header()
	hdr.Set("Content-Type", "text/plain")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "sandbox")
	q.w.WriteHeader(http.StatusOK)
	q.w.Write(pings[0].Body)
	return nil
}

// flipOutcomes returns a check's outbox rows by flip: the outcome of each
// action a flip caused. A failing read gives none (the flips are still
// served).
func (h *Handler) flipOutcomes(q *request, id model.CheckID) map[uuid.UUID][]actionOutput {
	rows, err := h.st.Notifications(q.r.Context(), store.NotificationQuery{CheckID: id, Limit: 10000})
	if err != nil {
		h.log.Warn("api: reading the outbox", "err", err)
		return nil
	}
	out := make(map[uuid.UUID][]actionOutput)
	for _, n := range rows {
		a := actionOutput{Channel: n.Channel, State: string(n.State), Attempts: n.Attempts, LastError: n.LastError}
		if !n.Delivered.IsZero() {
			d := n.Delivered.UTC()
			a.Delivered = &d
		}
		out[n.FlipID] = append(out[n.FlipID], a)
	}
	return out
}

// Bounds of healthchecks.io's FlipsFiltersForm.
const (
	maxTimestamp   = 10_000_000_000 // year 2286
	maxFlipSeconds = 31_536_000     // 365 days
)

// flipFilters reads ?start=, ?end= (UNIX times) and ?seconds= as
// healthchecks.io's FlipsFiltersForm: integers within bounds, empty or 0
// meaning no filter. since is the later of start and now-seconds.
func flipFilters(r *http.Request, now time.Time) (since, until time.Time, err *apiError) {
	v := r.URL.Query()
	num := func(name string, max int64) (int64, *apiError) {
		s := strings.TrimSpace(v.Get(name))
		if s == "" {
			return 0, nil
		}
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			return 0, errorf(http.StatusBadRequest, name+": must be an integer")
		}
		if n < 0 || n > max {
			return 0, errorf(http.StatusBadRequest, name+": out of bounds (0 to "+strconv.FormatInt(max, 10)+")")
		}
		return n, nil
	}
	start, err := num("start", maxTimestamp)
	if err != nil {
		return since, until, err
	}
	end, err := num("end", maxTimestamp)
	if err != nil {
		return since, until, err
	}
	secs, err := num("seconds", maxFlipSeconds)
	if err != nil {
		return since, until, err
	}
	if start > 0 {
		since = time.Unix(start, 0)
	}
	if secs > 0 {
		if t := now.Add(-time.Duration(secs) * time.Second); t.After(since) {
			since = t
		}
	}
	if end > 0 {
		until = time.Unix(end, 0)
	}
	return since, until, nil
}

// listFlips: GET /checks/{key}/flips/?seconds=&start=&end=, newest first:
// every flip kept (at most MaxFlips), or with the opt-in ?limit a page (the
// cursor is the time of the last flip seen).
func (h *Handler) listFlips(q *request, args []string) *apiError {
	limit, cursor, err := page(q.r)
	if err != nil {
		return err
	}
	since, until, err := flipFilters(q.r, h.opts.Now())
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = MaxFlips
	}
	before := until
	if cursor != "" {
		s, ok := decodeCursor(cursor)
		t, perr := time.Parse(time.RFC3339Nano, s)
		if !ok || perr != nil {
			return badCursor
		}
		if before.IsZero() || t.Before(before) {
			before = t
		}
	}
	cs, err := h.resolve(args[0])
	if err != nil {
		return err
	}
	flips, serr := h.st.Flips(q.r.Context(), cs.Check.ID, store.FlipQuery{Limit: limit + 1, Before: before})
	if serr != nil {
		return h.fromEngine(serr)
	}
	for i, f := range flips { // newest first: cut at the first too old
		if !since.IsZero() && f.Time.Before(since) {
			flips = flips[:i]
			break
		}
	}
	out := struct {
		Flips      []flipOutput `json:"flips"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{Flips: make([]flipOutput, 0, min(len(flips), limit))}
	if len(flips) > limit {
		flips = flips[:limit]
		out.NextCursor = encodeCursor(flips[limit-1].Time.UTC().Format(time.RFC3339Nano))
	}
	outcomes := h.flipOutcomes(q, cs.Check.ID)
	for _, f := range flips {
		o := flipOutput{Timestamp: *isoString(f.Time), Time: f.Time.UTC(), From: string(f.From), To: string(f.To), Reason: f.Reason,
			Actions: outcomes[f.ID]}
		if o.Actions == nil {
			o.Actions = []actionOutput{}
		}
		if f.To == model.StatusUp {
			o.Up = 1
		}
		out.Flips = append(out.Flips, o)
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/apikey"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/pull"
	"github.com/vitals-go/vitals/internal/store"
)

// request is one authenticated API call.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	access  apikey.Access
	keyName string
}

func (q *request) readOnly() bool { return q.access != apikey.Write }

// ServeHTTP implements http.Handler: it authenticates, routes and answers
// one API request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every endpoint's body is capped, including those that take none.
	if r.Body == nil { // a client-side request handed over directly
		r.Body = http.NoBody
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes)
	acc, name, presented := h.authenticate(r)
	if !presented {
		h.writeError(w, errorf(http.StatusUnauthorized, "missing API key: send it in the X-Api-Key header or as Authorization: Bearer"))
		return
	}
	if acc == apikey.None {
		h.writeError(w, errorf(http.StatusUnauthorized, "wrong API key"))
		return
	}
	q := &request{w: w, r: r, access: acc, keyName: name}
	if err := h.route(q); err != nil {
		h.writeError(w, err)
	}
}

// endpoint is one method on one route.
type endpoint struct {
	method string
	write  bool
	serve  func(h *Handler, q *request, key string) *apiError
}

func (h *Handler) route(q *request) *apiError {
	rest, ok := strings.CutPrefix(q.r.URL.Path, h.opts.Prefix)
	if !ok {
		return errorf(http.StatusNotFound, "no such endpoint")
	}
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	var eps []endpoint
	key := ""
	switch {
	case len(seg) == 1 && seg[0] == "checks":
		eps = []endpoint{{"GET", false, (*Handler).listChecks}, {"POST", true, (*Handler).createCheck}}
	case len(seg) == 2 && seg[0] == "checks" && seg[1] != "":
		key = seg[1]
		eps = []endpoint{
			{"DELETE", true, (*Handler).deleteCheck},
			{"GET", false, (*Handler).getCheck},
			{"PATCH", true, (*Handler).updateCheck},
			{"POST", true, (*Handler).updateCheck},
		}
	case len(seg) == 3 && seg[0] == "checks" && seg[1] != "":
		key = seg[1]
		switch seg[2] {
		case "pause":
			eps = []endpoint{{"POST", true, (*Handler).pauseCheck}}
		case "resume":
			eps = []endpoint{{"POST", true, (*Handler).resumeCheck}}
		case "pings":
			eps = []endpoint{{"GET", false, (*Handler).listPings}}
		case "flips":
			eps = []endpoint{{"GET", false, (*Handler).listFlips}}
		}
	case len(seg) == 1 && seg[0] == "silences" && h.opts.Silences != nil:
		eps = []endpoint{{"GET", false, (*Handler).listSilences}, {"POST", true, (*Handler).createSilence}}
	case len(seg) == 2 && seg[0] == "silences" && seg[1] != "" && h.opts.Silences != nil:
		key = seg[1]
		eps = []endpoint{{"DELETE", true, (*Handler).deleteSilence}}
	}
	if eps == nil {
		return errorf(http.StatusNotFound, "no such endpoint: "+q.r.URL.Path)
	}
	method := q.r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var allow []string
	for _, ep := range eps {
		allow = append(allow, ep.method)
		if ep.method == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	for _, ep := range eps {
		if ep.method != method {
			continue
		}
		if ep.write && q.readOnly() {
			return errorf(http.StatusForbidden, "read-only API key: "+q.r.Method+" needs a read-write key")
		}
		if method == http.MethodGet || method == http.MethodDelete {
			// These take no body, but its size is still capped.
			if _, err := h.readBody(q.w, q.r); err != nil && err.Status == http.StatusRequestEntityTooLarge {
				return err
			}
		}
		return ep.serve(h, q, key)
	}
	slices.Sort(allow)
	e := errorf(http.StatusMethodNotAllowed, "method "+q.r.Method+" not allowed", "allowed: "+strings.Join(allow, ", "))
	e.Allow = strings.Join(allow, ", ")
	return e
}

// resolve finds the check named by key: its canonical UUID, or its
// unique_key.
func (h *Handler) resolve(key string) (model.CheckState, *apiError) {
	notFound := errorf(http.StatusNotFound, "check not found")
	switch len(key) {
	case 36:
		id, err := model.ParseCheckID(key)
		if err != nil {
			return model.CheckState{}, notFound
		}
		cs, ok := h.e.Get(id)
		if !ok {
			return model.CheckState{}, notFound
		}
		return cs, nil
	case 40:
		id, ok := h.ukeys.lookup(strings.ToLower(key), func() []model.CheckID {
			all := h.e.List()
			ids := make([]model.CheckID, len(all))
			for i, cs := range all {
				ids[i] = cs.Check.ID
			}
			return ids
		})
		if !ok {
			return model.CheckState{}, notFound
		}
		if cs, ok := h.e.Get(id); ok {
			return cs, nil
		}
	}
	return model.CheckState{}, notFound
}

// urls returns the origin (scheme://host) of the URLs in answers and the
// base of ping URLs (ending in "/"): from Options.PingURL when it is
// absolute, else from the scheme and Host of the request (and PingURL as a
// path, default "/ping/").
func (h *Handler) urls(r *http.Request) (origin, pingBase string) {
	pingBase = h.opts.PingURL
	if u, err := url.Parse(pingBase); err == nil && u.Scheme != "" && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	} else {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		origin = scheme + "://" + r.Host
		if pingBase == "" {
			pingBase = "/ping/"
		}
		pingBase = origin + "/" + strings.TrimPrefix(pingBase, "/")
	}
	if !strings.HasSuffix(pingBase, "/") {
		pingBase += "/"
	}
	return origin, pingBase
}

// output renders a check for q's key. A read-only key sees the check's
// Redacted form (each value its config took from the environment shown as
// ${NAME}), with its probe's secrets masked on top (pull.RedactJSON).
func (h *Handler) output(q *request, cs model.CheckState, now time.Time) checkOutput {
	c, s := cs.Check, cs.State
	if q.readOnly() {
		c = c.Redacted()
	}
	o := checkOutput{
		UniqueKey:    h.ukeys.key(c.ID),
		Name:         c.Name,
		Slug:         c.Slug,
		Tags:         c.Tags,
		Desc:         c.Desc,
		Kind:         string(c.Kind),
		Source:       cmp.Or(c.Source, model.SourceAPI),
		Schedule:     c.Schedule.Cron,
		Grace:        durSeconds(c.Schedule.Grace),
		MinRunTime:   durSeconds(c.MinRunTime),
		ManualResume: c.ManualResume,
		Thresholds: thresholdsOutput{
			Failures:    c.Thresholds.FailuresOrDefault(),
			Successes:   c.Thresholds.SuccessesOrDefault(),
			StartPeriod: durSeconds(c.Thresholds.StartPeriod),
			FlapChanges: c.Thresholds.FlapChanges,
			FlapWindow:  c.Thresholds.FlapWindow,
		},
		Probe:       c.Probe,
		Status:      string(s.Display(now)),
		Started:     len(s.Runs) > 0,
		LastPing:    optTime(s.LastPing),
		LastSuccess: optTime(s.LastSuccess),
		NextPing:    optTime(s.Due),
		Deadline:    optTime(s.Deadline),
		LastError:   s.LastError,
		NPings:      s.NPings,
		NFlips:      s.NFlips,
		StatusSince: s.Since.UTC(),
		Created:     c.Created.UTC(),
		Updated:     c.Updated.UTC(),
	}
	if o.Tags == nil {
		o.Tags = []string{}
	}
	if c.Schedule.Cron != "" {
		o.TZ = c.Schedule.TZ
	} else {
		p := durSeconds(c.Schedule.Period)
		o.Timeout = &p
	}
	if c.PostOnly {
		o.Methods = "POST"
	}
	if s.LastDuration > 0 {
		d := durSeconds(s.LastDuration)
		o.LastDuration = &d
	}
	if q.readOnly() {
		o.Probe = pull.RedactJSON(c.Probe)
	}
	if !q.readOnly() {
		id := c.ID.Secret()
		o.UUID = id
		o.PingKey = c.PingKey
		origin, pingBase := h.urls(q.r)
		if c.Kind == model.KindPush {
			o.PingURL = pingBase + id
		}
		api := origin + h.opts.Prefix + "checks/" + id
		o.UpdateURL = api
		o.PauseURL = api + "/pause"
		o.ResumeURL = api + "/resume"
	}
	return o
}

// page reads ?limit and ?cursor.
func page(r *http.Request) (limit int, cursor string, err *apiError) {
	v := r.URL.Query()
	limit = DefaultLimit
	if s := v.Get("limit"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 || n > MaxLimit {
			return 0, "", errorf(http.StatusBadRequest, "limit: must be an integer from 1 to "+strconv.Itoa(MaxLimit))
		}
		limit = n
	}
	return limit, v.Get("cursor"), nil
}

var badCursor = errorf(http.StatusBadRequest, "cursor: invalid (pass the next_cursor of the previous page)")

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// listChecks: GET /checks?limit=&cursor=&tag=&slug=. Ordered by creation
// time, then unique_key.
func (h *Handler) listChecks(q *request, _ string) *apiError {
	limit, cursor, err := page(q.r)
	if err != nil {
		return err
	}
	vals := q.r.URL.Query()
	tags, slug := vals["tag"], vals.Get("slug")
	// Rows refer to the engine's list by index, so that filtering and
	// ordering 10,000 checks moves small values, not checks.
	type row struct {
		created time.Time
		ukey    string
		i       int
	}
	all := h.e.List()
	rows := make([]row, 0, len(all))
	for i := range all {
		c := &all[i].Check
		if slug != "" && c.Slug != slug {
			continue
		}
		if !hasTags(c.Tags, tags) {
			continue
		}
		rows = append(rows, row{c.Created, h.ukeys.key(c.ID), i})
	}
	cmpRow := func(aT time.Time, aK string, bT time.Time, bK string) int {
		if c := aT.Compare(bT); c != 0 {
			return c
		}
		return strings.Compare(aK, bK)
	}
	slices.SortFunc(rows, func(a, b row) int { return cmpRow(a.created, a.ukey, b.created, b.ukey) })
	if cursor != "" {
		s, ok := decodeCursor(cursor)
		ts, key, ok2 := strings.Cut(s, " ")
		t, terr := time.Parse(time.RFC3339Nano, ts)
		if !ok || !ok2 || terr != nil {
			return badCursor
		}
		i, _ := slices.BinarySearchFunc(rows, 0, func(r row, _ int) int {
			if cmpRow(r.created, r.ukey, t, key) <= 0 {
				return -1
			}
			return 1
		})
		rows = rows[i:]
	}
	out := struct {
		Checks     []checkOutput `json:"checks"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}{Checks: make([]checkOutput, 0, min(limit, len(rows)))}
	now := time.Now()
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			out.NextCursor = encodeCursor(last.created.UTC().Format(time.RFC3339Nano) + " " + last.ukey)
			break
		}
		out.Checks = append(out.Checks, h.output(q, all[r.i], now))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// hasTags reports whether have contains every tag in want.
func hasTags(have, want []string) bool {
	for _, t := range want {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}

func (h *Handler) getCheck(q *request, key string) *apiError {
	cs, err := h.resolve(key)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, h.output(q, cs, time.Now()))
	return nil
}

// decodeCheck reads and decodes a create or update body.
func (h *Handler) decodeCheck(q *request) (*checkInput, *apiError) {
	body, err := h.readBody(q.w, q.r)
	if err != nil {
		return nil, err
	}
	var in checkInput
	if err := decodeStrict(body, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// validate applies the API's own rules and the model's, returning every
// problem.
func (h *Handler) validate(c model.Check, errs []string) *apiError {
	c = c.WithDefaults()
	if c.Kind == model.KindPull {
		if len(c.Probe) == 0 && !slices.ContainsFunc(errs, func(e string) bool { return strings.HasPrefix(e, "probe: ") }) {
			errs = append(errs, "probe: required for pull checks")
		} else if h.opts.ValidateProbe != nil {
			if err := h.opts.ValidateProbe(c.Probe); err != nil {
				errs = append(errs, "probe: "+err.Error())
			}
		}
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, validationDetails(err)...)
	}
	if len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}

// slugConflictLocked answers 409 when another check has c's ping key and
// slug. h.writeMu must be held.
func (h *Handler) slugConflictLocked(c model.Check) *apiError {
	if c.Slug == "" || c.PingKey == "" {
		return nil
	}
	for _, id := range h.e.LookupSlug(c.PingKey, c.Slug) {
		if id != c.ID {
			return errorf(http.StatusConflict, "slug "+strconv.Quote(c.Slug)+" is already used by another check with the same ping key")
		}
	}
	return nil
}

// createCheck: POST /checks.
func (h *Handler) createCheck(q *request, _ string) *apiError {
	in, err := h.decodeCheck(q)
	if err != nil {
		return err
	}
	c := model.Check{ID: model.NewCheckID(), Kind: model.KindPush, PingKey: h.opts.PingKey, Source: model.SourceAPI}
	var errs []string
	in.apply(&c, &errs)
	if err := h.validate(c, errs); err != nil {
		return err
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	if err := h.slugConflictLocked(c); err != nil {
		return err
	}
	got, cerr := h.e.Create(q.r.Context(), c)
	if cerr != nil {
		return h.fromEngine(cerr)
	}
	cs, ok := h.e.Get(got.ID)
	if !ok { // deleted meanwhile
		cs = model.CheckState{Check: got, State: model.NewState(got.ID, got.Created)}
	}
	writeJSON(q.w, http.StatusCreated, h.output(q, cs, time.Now()))
	return nil
}

// configOwned answers 409 for a definition owned by the config file.
func configOwned(c model.Check, what string) *apiError {
	if c.Source != model.SourceConfig {
		return nil
	}
	return errorf(http.StatusConflict, "check "+strconv.Quote(c.Name)+" is defined in the config file: "+what+" it there and reload")
}

// updateCheck: POST or PATCH /checks/{key}; only the fields given change.
func (h *Handler) updateCheck(q *request, key string) *apiError {
	in, err := h.decodeCheck(q)
	if err != nil {
		return err
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	cs, err := h.resolve(key)
	if err != nil {
		return err
	}
	if err := configOwned(cs.Check, "change"); err != nil {
		return err
	}
	c := cs.Check
	c.Tags = slices.Clone(c.Tags)
	var errs []string
	in.apply(&c, &errs)
	if err := h.validate(c, errs); err != nil {
		return err
	}
	if err := h.slugConflictLocked(c); err != nil {
		return err
	}
	if _, uerr := h.e.Update(q.r.Context(), c); uerr != nil {
		return h.fromEngine(uerr)
	}
	if cs, err = h.resolve(c.ID.Secret()); err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, h.output(q, cs, time.Now()))
	return nil
}

// deleteCheck: DELETE /checks/{key}; answers the check as it was.
func (h *Handler) deleteCheck(q *request, key string) *apiError {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	cs, err := h.resolve(key)
	if err != nil {
		return err
	}
	if err := configOwned(cs.Check, "remove"); err != nil {
		return err
	}
	if derr := h.e.Delete(q.r.Context(), cs.Check.ID); derr != nil {
		return h.fromEngine(derr)
	}
	writeJSON(q.w, http.StatusOK, h.output(q, cs, time.Now()))
	return nil
}

// actionInput is the optional body of pause and resume.
type actionInput struct {
	Reason *string `json:"reason"`
}

func (h *Handler) actionReason(q *request) (string, *apiError) {
	body, err := h.readBody(q.w, q.r)
	if err != nil {
		return "", err
	}
	// The engine records "<verb>: <reason>" on the flip.
	by := "through the API"
	if q.keyName != "" {
		by = "by API key " + q.keyName
	}
	if body == nil {
		return by, nil
	}
	var in actionInput
	if err := decodeStrict(body, &in); err != nil {
		return "", err
	}
	reason := by
	if in.Reason != nil && *in.Reason != "" {
		reason = *in.Reason + " (" + by + ")"
	}
	return model.Truncate(reason, model.MaxReasonLen), nil
}

// pauseCheck: POST /checks/{key}/pause.
func (h *Handler) pauseCheck(q *request, key string) *apiError {
	reason, err := h.actionReason(q)
	if err != nil {
		return err
	}
	cs, err := h.resolve(key)
	if err != nil {
		return err
	}
	st, perr := h.e.Pause(q.r.Context(), cs.Check.ID, reason)
	if perr != nil {
		return h.fromEngine(perr)
	}
	cs.State = st
	writeJSON(q.w, http.StatusOK, h.output(q, cs, time.Now()))
	return nil
}

// resumeCheck: POST /checks/{key}/resume; 409 if the check is not paused.
func (h *Handler) resumeCheck(q *request, key string) *apiError {
	reason, err := h.actionReason(q)
	if err != nil {
		return err
	}
	cs, err := h.resolve(key)
	if err != nil {
		return err
	}
	if cs.State.Status != model.StatusPaused {
		return errorf(http.StatusConflict, "check is not paused")
	}
	st, rerr := h.e.Resume(q.r.Context(), cs.Check.ID, reason)
	if rerr != nil {
		return h.fromEngine(rerr)
	}
	cs.State = st
	writeJSON(q.w, http.StatusOK, h.output(q, cs, time.Now()))
	return nil
}

// listPings: GET /checks/{key}/pings, newest first; the cursor is the
// number of the last ping seen.
func (h *Handler) listPings(q *request, key string) *apiError {
	limit, cursor, err := page(q.r)
	if err != nil {
		return err
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
	cs, err := h.resolve(key)
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
	}{Pings: []pingOutput{}}
	if len(pings) > limit {
		pings = pings[:limit]
		out.NextCursor = encodeCursor(strconv.FormatInt(pings[limit-1].N, 10))
	}
	for _, p := range pings {
		out.Pings = append(out.Pings, renderPing(p))
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

func renderPing(p model.Ping) pingOutput {
	o := pingOutput{
		Type:          string(p.Kind),
		N:             p.N,
		Date:          p.Time.UTC(),
		Method:        p.Method,
		Scheme:        p.Scheme,
		RemoteAddr:    p.RemoteAddr,
		UA:            p.UserAgent,
		BodyTruncated: p.BodyTruncated,
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
		o.RID = p.RID.String()
	}
	if p.Duration > 0 {
		d := durSeconds(p.Duration)
		o.Duration = &d
	}
	if len(p.Body) > 0 {
		if utf8.Valid(p.Body) {
			s := string(p.Body)
			o.Body = &s
		} else {
			o.BodyBase64 = p.Body
		}
	}
	return o
}

// outbox is the part of a store that reads the notification rows; every
// store.Store has it.
type outbox interface {
	Notifications(ctx context.Context, q store.NotificationQuery) ([]model.Notification, error)
}

// flipOutcomes returns a check's outbox rows by flip: the outcome of each
// action a flip caused. A store without an outbox, or a failing read, gives
// none (the flips are still served).
func (h *Handler) flipOutcomes(q *request, id model.CheckID) map[uuid.UUID][]actionOutput {
	ob, ok := h.st.(outbox)
	if !ok {
		return nil
	}
	rows, err := ob.Notifications(q.r.Context(), store.NotificationQuery{CheckID: id, Limit: 10000})
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

// listFlips: GET /checks/{key}/flips, newest first; the cursor is the time
// of the last flip seen.
func (h *Handler) listFlips(q *request, key string) *apiError {
	limit, cursor, err := page(q.r)
	if err != nil {
		return err
	}
	var before time.Time
	if cursor != "" {
		s, ok := decodeCursor(cursor)
		t, perr := time.Parse(time.RFC3339Nano, s)
		if !ok || perr != nil {
			return badCursor
		}
		before = t
	}
	cs, err := h.resolve(key)
	if err != nil {
		return err
	}
	flips, serr := h.st.Flips(q.r.Context(), cs.Check.ID, store.FlipQuery{Limit: limit + 1, Before: before})
	if serr != nil {
		return h.fromEngine(serr)
	}
	out := struct {
		Flips      []flipOutput `json:"flips"`
		NextCursor string       `json:"next_cursor,omitempty"`
	}{Flips: []flipOutput{}}
	if len(flips) > limit {
		flips = flips[:limit]
		out.NextCursor = encodeCursor(flips[limit-1].Time.UTC().Format(time.RFC3339Nano))
	}
	outcomes := h.flipOutcomes(q, cs.Check.ID)
	for _, f := range flips {
		o := flipOutput{Timestamp: f.Time.UTC(), From: string(f.From), To: string(f.To), Reason: f.Reason,
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

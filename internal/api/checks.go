package api

import (
	"encoding/base64"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

// page reads the opt-in ?limit and ?cursor: limit is 0 without ?limit.
func page(r *http.Request) (limit int, cursor string, err *apiError) {
	v := r.URL.Query()
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

// listChecks: GET /checks/?tag=&slug= (and the opt-in ?limit=&cursor=,
// and Vitals' filters ?name=, ?name_prefix=, ?status=; see listFilters).
// Every matching check, ordered by creation time, then unique_key, read
// from the list index: a page costs its own checks, however deep.
func (h *Handler) listChecks(q *request, _ []string) *apiError {
	limit, cursor, err := page(q.r)
	if err != nil {
		return err
	}
	f, err := listFilters(q)
	if err != nil {
		return err
	}
	idx := h.index()
	start := 0
	if cursor != "" {
		i, ok := idx.after(cursor)
		if !ok {
			return badCursor
		}
		start = i
	}
	out := struct {
		Checks     []checkOutput `json:"checks"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}{Checks: []checkOutput{}}
	if limit > 0 {
		out.Checks = make([]checkOutput, 0, limit)
	}
	vw := h.view(q)
	f.now = vw.now
	last := -1
	idx.scan(start, f, func(i int, r *listRow) bool {
		if limit > 0 && len(out.Checks) == limit {
			out.NextCursor = idx.cursor(last)
			return false
		}
		out.Checks = append(out.Checks, vw.render(h, *r.ref.Load()))
		last = i
		return true
	})
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

// listStatuses are the values of ?status=: the statuses a check's "status"
// field can show (started: v1 only).
var listStatuses = []string{"new", "up", "grace", "started", "down", "paused", "flapping"}

// maxNameFilter bounds ?name= and ?name_prefix=.
const maxNameFilter = 200

// listFilters reads the list's filters: ?tag= (repeatable: every one),
// ?slug=, and Vitals' own ?name= (a case-insensitive substring of the
// name), ?name_prefix= (a case-insensitive prefix) and ?status=
// (repeatable: any one; the status as the version shows it).
func listFilters(q *request) (*listFilter, *apiError) {
	vals := q.r.URL.Query()
	f := &listFilter{tags: vals["tag"], slug: vals.Get("slug"), v: q.v,
		name: strings.ToLower(vals.Get("name")), namePrefix: strings.ToLower(vals.Get("name_prefix"))}
	if len(f.name) > maxNameFilter || len(f.namePrefix) > maxNameFilter {
		return nil, errorf(http.StatusBadRequest, "name: at most "+strconv.Itoa(maxNameFilter)+" bytes")
	}
	for _, st := range vals["status"] {
		if !slices.Contains(listStatuses, st) {
			return nil, errorf(http.StatusBadRequest, "status: must be one of "+strings.Join(listStatuses, ", "))
		}
		f.statuses = append(f.statuses, st)
	}
	return f, nil
}

// countChecks: GET /counts (Vitals' own): how many checks there are, and
// how many in each status, among those the list's filters select (?tag=,
// ?slug=, ?name=, ?name_prefix=; not ?status=).
func (h *Handler) countChecks(q *request, _ []string) *apiError {
	f, err := listFilters(q)
	if err != nil {
		return err
	}
	if f.statuses != nil {
		return errorf(http.StatusBadRequest, "status: not a filter of /counts (it counts every status)")
	}
	f.now = h.opts.Now()
	out := struct {
		Total    int            `json:"total"`
		Statuses map[string]int `json:"statuses"`
	}{Statuses: make(map[string]int, len(listStatuses))}
	// Checks share few Briefs (an up check's differs by its due time):
	// each distinct Brief's status is decided once.
	n := make([]int, len(listStatuses))
	var lastB model.Brief
	lastI := -1
	h.index().scan(0, f, func(_ int, r *listRow) bool {
		if b := r.ref.Brief(); b != lastB || lastI < 0 {
			lastB, lastI = b, slices.Index(listStatuses, displayStatus(b.State(), f.now, f.v))
		}
		if lastI >= 0 {
			n[lastI]++
		}
		out.Total++
		return true
	})
	for i, st := range listStatuses {
		out.Statuses[st] = n[i]
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

func (h *Handler) getCheck(q *request, args []string) *apiError {
	cs, err := h.resolve(args[0])
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, h.output(q, cs))
	return nil
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

// slugTakenLocked reports whether another check has c's ping key and slug.
// h.writeMu must be held.
func (h *Handler) slugTakenLocked(c model.Check) bool {
	if c.Slug == "" || c.PingKey == "" {
		return false
	}
	return slices.ContainsFunc(h.e.LookupSlug(c.PingKey, c.Slug), func(id model.CheckID) bool { return id != c.ID })
}

// slugConflictLocked answers 409 when another check has c's ping key and
// slug. h.writeMu must be held.
func (h *Handler) slugConflictLocked(c model.Check) *apiError {
	if h.slugTakenLocked(c) {
		return errorf(http.StatusConflict, "slug "+strconv.Quote(c.Slug)+" is already used by another check with the same ping key")
	}
	return nil
}

// prepare applies in onto c (a new check, or a copy of the one to change):
// the fields, the channels, and for v1 and v2 the slug derived from the
// name, which is left out when another check has it. h.writeMu must be
// held.
func (h *Handler) prepare(q *request, in *checkInput, c *model.Check) *apiError {
	var errs []string
	auto, hasAuto := in.apply(c, q.v, &errs)
	if in.Channels != nil {
		routes, err := h.channelRoutes(*in.Channels)
		if err != nil {
			return err
		}
		c.Routes = routes
	}
	if hasAuto {
		old := c.Slug
		c.Slug = auto
		if h.slugTakenLocked(*c) {
			c.Slug = old
			if c.Created.IsZero() { // a new check: no slug
				c.Slug = ""
			}
		}
	}
	if err := h.validate(*c, errs); err != nil {
		return err
	}
	return h.slugConflictLocked(*c)
}

// unchanged reports whether applying an update left c as it was.
func unchanged(before, after model.Check) bool {
	before.Updated, after.Updated = time.Time{}, time.Time{}
	return reflect.DeepEqual(before.WithDefaults(), after.WithDefaults())
}

// createCheck: POST /checks/. With "unique", an existing check whose
// listed fields match is updated instead (200); else a new check is
// created (201). "uuid" (a Vitals extension) gives the new check's UUID.
func (h *Handler) createCheck(q *request, _ []string) *apiError {
	in, err := h.decodeCheck(q)
	if err != nil {
		return err
	}
	id := model.NewCheckID()
	if in.UUID != nil {
		u, perr := uuid.Parse(*in.UUID)
		if perr != nil || u == uuid.Nil || len(*in.UUID) != 36 {
			return invalid([]string{"uuid: must be a UUID in its canonical form (8-4-4-4-12 hex digits), not nil"})
		}
		id = model.CheckID(u)
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	if in.UUID != nil {
		if _, ok := h.e.Get(id); ok {
			return errorf(http.StatusConflict, "check already exists", "a check with this uuid exists: update it with POST /checks/{uuid}")
		}
	}
	if names := in.uniqueNames(); names != nil {
		if cs, ok := h.lookupLocked(in, names); ok {
			if in.UUID != nil {
				return errorf(http.StatusConflict, "unique matched an existing check",
					"the check that matches the unique fields has another uuid")
			}
			return h.updateLocked(q, in, cs)
		}
	}
	c := model.Check{ID: id, Kind: model.KindPush, PingKey: h.opts.PingKey, Source: model.SourceAPI}
	if err := h.prepare(q, in, &c); err != nil {
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
	writeJSON(q.w, http.StatusCreated, h.output(q, cs))
	return nil
}

// lookupLocked finds the first check (by creation, then unique_key) whose
// fields named in names match in. h.writeMu must be held.
func (h *Handler) lookupLocked(in *checkInput, names []string) (model.CheckState, bool) {
	var found *model.CheckState
	h.index().scan(0, &listFilter{}, func(_ int, r *listRow) bool {
		if cs := r.ref.Load(); in.matches(cs.Check, names) {
			found = cs
			return false
		}
		return true
	})
	if found == nil {
		return model.CheckState{}, false
	}
	return model.CheckState{Check: found.Check, State: found.State.Clone()}, true
}

// configOwned answers 409 for a definition owned by the config file.
func configOwned(c model.Check, what string) *apiError {
	if c.Source != model.SourceConfig {
		return nil
	}
	return errorf(http.StatusConflict, "check "+strconv.Quote(c.Name)+" is defined in the config file: "+what+" it there and reload")
}

// updateCheck: POST or PATCH /checks/{key}; only the fields given change.
func (h *Handler) updateCheck(q *request, args []string) *apiError {
	in, err := h.decodeCheck(q)
	if err != nil {
		return err
	}
	if in.UUID != nil {
		return invalid([]string{"uuid: can only be given on create"})
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	cs, err := h.resolve(args[0])
	if err != nil {
		return err
	}
	return h.updateLocked(q, in, cs)
}

// updateLocked applies in to the check cs and answers it (200). A config
// check may be "updated" only with what it already is. h.writeMu must be
// held.
func (h *Handler) updateLocked(q *request, in *checkInput, cs model.CheckState) *apiError {
	c := cs.Check
	c.Tags = slices.Clone(c.Tags)
	if err := h.prepare(q, in, &c); err != nil {
		return err
	}
	if unchanged(cs.Check, c) {
		writeJSON(q.w, http.StatusOK, h.output(q, cs))
		return nil
	}
	if err := configOwned(cs.Check, "change"); err != nil {
		return err
	}
	if _, uerr := h.e.Update(q.r.Context(), c); uerr != nil {
		return h.fromEngine(uerr)
	}
	now, err := h.resolve(c.ID.Secret())
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, h.output(q, now))
	return nil
}

// deleteCheck: DELETE /checks/{key}; answers the check as it was.
func (h *Handler) deleteCheck(q *request, args []string) *apiError {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	cs, err := h.resolve(args[0])
	if err != nil {
		return err
	}
	if err := configOwned(cs.Check, "remove"); err != nil {
		return err
	}
	if derr := h.e.Delete(q.r.Context(), cs.Check.ID); derr != nil {
		return h.fromEngine(derr)
	}
	writeJSON(q.w, http.StatusOK, h.output(q, cs))
	return nil
}

// actionInput is the optional body of pause and resume.
type actionInput struct {
	Reason *string `json:"reason"`
	// APIKey is read by the authentication, not here.
	APIKey any `json:"api_key"`
}

func (h *Handler) actionReason(q *request) (string, *apiError) {
	// The engine records "<verb>: <reason>" on the flip.
	by := "through the API"
	if q.keyName != "" {
		by = "by API key " + q.keyName
	}
	if q.body == nil {
		return by, nil
	}
	var in actionInput
	if err := decodeStrict(q.body, &in); err != nil {
		return "", err
	}
	reason := by
	if in.Reason != nil && *in.Reason != "" {
		reason = *in.Reason + " (" + by + ")"
	}
	return model.Truncate(reason, model.MaxReasonLen), nil
}

// pauseCheck: POST /checks/{key}/pause. A paused check is answered as it
// is, without a new flip (as healthchecks.io).
func (h *Handler) pauseCheck(q *request, args []string) *apiError {
	reason, err := h.actionReason(q)
	if err != nil {
		return err
	}
	cs, err := h.resolve(args[0])
	if err != nil {
		return err
	}
	if cs.State.Status != model.StatusPaused {
		st, perr := h.e.Pause(q.r.Context(), cs.Check.ID, reason)
		if perr != nil {
			return h.fromEngine(perr)
		}
		cs.State = st
	}
	writeJSON(q.w, http.StatusOK, h.output(q, cs))
	return nil
}

// resumeCheck: POST /checks/{key}/resume; 409 if the check is not paused.
func (h *Handler) resumeCheck(q *request, args []string) *apiError {
	reason, err := h.actionReason(q)
	if err != nil {
		return err
	}
	cs, err := h.resolve(args[0])
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
	writeJSON(q.w, http.StatusOK, h.output(q, cs))
	return nil
}

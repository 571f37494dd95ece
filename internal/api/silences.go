package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/model"
)

// SilenceBook is where the API keeps silences; *policy.Silences
// implements it (in the store: every replica sees them).
type SilenceBook interface {
	List(ctx context.Context) ([]policy.Silence, error)
	// Add's refusals wrap policy.ErrInvalidSilence; its other errors
	// are the store's.
	Add(ctx context.Context, s policy.Silence) (policy.Silence, error)
	Delete(ctx context.Context, id uuid.UUID) error
}

var _ SilenceBook = (*policy.Silences)(nil)

// silenceInput is the body of POST /silences.
type silenceInput struct {
	Name string `json:"name"`
	// Checks by UUID or unique_key; Tags by name. Both empty: every check.
	Checks []string `json:"checks"`
	Tags   []string `json:"tags"`
	// Start defaults to now; End or Duration (seconds) is required.
	Start    *time.Time `json:"start"`
	End      *time.Time `json:"end"`
	Duration *int64     `json:"duration"`
	Reason   string     `json:"reason"`
	// APIKey is read by the authentication, not here.
	APIKey any `json:"api_key"`
}

// silenceOutput names checks by unique_key only: a silence list is readable
// with a read-only key, which must not learn ping secrets.
type silenceOutput struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Checks    []string  `json:"checks"`
	Tags      []string  `json:"tags"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Active    bool      `json:"active"`
	Reason    string    `json:"reason,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	Created   time.Time `json:"created"`
}

func silenceOut(s policy.Silence, now time.Time) silenceOutput {
	o := silenceOutput{ID: s.ID.String(), Name: s.Name, Checks: []string{}, Tags: s.Tags, Start: s.Start, End: s.End,
		Active: !now.Before(s.Start) && now.Before(s.End), Reason: s.Reason, CreatedBy: s.CreatedBy, Created: s.Created}
	for _, id := range s.Checks {
		o.Checks = append(o.Checks, model.UniqueKey(id))
	}
	if o.Tags == nil {
		o.Tags = []string{}
	}
	return o
}

// listSilences: GET /silences, the silences that have not ended.
func (h *Handler) listSilences(q *request, _ []string) *apiError {
	list, err := h.opts.Silences.List(q.r.Context())
	if err != nil {
		h.log.Error("api: reading the silences", "err", err)
		return errorf(http.StatusServiceUnavailable, "could not read the silences")
	}
	now := time.Now()
	out := []silenceOutput{}
	for _, s := range list {
		out = append(out, silenceOut(s, now))
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"silences": out})
	return nil
}

// createSilence: POST /silences.
func (h *Handler) createSilence(q *request, _ []string) *apiError {
	if q.body == nil {
		return errorf(http.StatusBadRequest, "empty body: expected a JSON object")
	}
	var in silenceInput
	if aerr := decodeStrict(q.body, &in); aerr != nil {
		return aerr
	}
	s := policy.Silence{Name: model.Truncate(in.Name, 200), Tags: in.Tags, Reason: model.Truncate(in.Reason, model.MaxReasonLen),
		CreatedBy: q.keyName}
	var details []string
	for i, key := range in.Checks {
		cs, err := h.resolve(strings.TrimSpace(key))
		if err != nil {
			details = append(details, "checks["+strconv.Itoa(i)+"]: no check "+strconv.Quote(key))
			continue
		}
		s.Checks = append(s.Checks, cs.Check.ID)
	}
	if in.Start != nil {
		s.Start = *in.Start
	}
	switch {
	case in.End != nil && in.Duration != nil:
		details = append(details, "end and duration: set one or the other")
	case in.End != nil:
		s.End = *in.End
	case in.Duration != nil:
		if *in.Duration <= 0 || *in.Duration > 366*24*3600 {
			details = append(details, "duration: must be between 1 second and a year, in seconds")
		} else {
			start := s.Start
			if start.IsZero() {
				start = time.Now()
				s.Start = start
			}
			s.End = start.Add(time.Duration(*in.Duration) * time.Second)
		}
	default:
		details = append(details, "end or duration: required")
	}
	if len(details) > 0 {
		return &apiError{Status: http.StatusBadRequest, Message: "invalid silence", Details: details}
	}
	created, err := h.opts.Silences.Add(q.r.Context(), s)
	if errors.Is(err, policy.ErrInvalidSilence) {
		return &apiError{Status: http.StatusBadRequest, Message: "invalid silence", Details: strings.Split(err.Error(), "\n")}
	}
	if err != nil {
		h.log.Error("api: saving a silence", "err", err)
		return errorf(http.StatusServiceUnavailable, "could not save the silence")
	}
	writeJSON(q.w, http.StatusCreated, silenceOut(created, time.Now()))
	return nil
}

// deleteSilence: DELETE /silences/{id}.
func (h *Handler) deleteSilence(q *request, args []string) *apiError {
	id, err := uuid.Parse(args[0])
	if err != nil {
		return errorf(http.StatusNotFound, "silence not found")
	}
	if err := h.opts.Silences.Delete(q.r.Context(), id); err != nil {
		if errors.Is(err, policy.ErrSilenceNotFound) {
			return errorf(http.StatusNotFound, "silence not found")
		}
		h.log.Error("api: deleting a silence", "err", err)
		return errorf(http.StatusServiceUnavailable, "could not save the silences")
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

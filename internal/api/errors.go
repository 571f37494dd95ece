package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// apiError is an error answer: its status code and its JSON body.
type apiError struct {
	Status  int      `json:"-"`
	Message string   `json:"error"`
	Details []string `json:"details,omitempty"`
	// Allow is the Allow header of a 405.
	Allow string `json:"-"`
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, msg string, details ...string) *apiError {
	return &apiError{Status: status, Message: msg, Details: details}
}

// invalid is a 400 listing every problem.
func invalid(details []string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: "invalid check", Details: details}
}

func (h *Handler) writeError(w http.ResponseWriter, e *apiError) {
	if e.Allow != "" {
		w.Header().Set("Allow", e.Allow)
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vitals"`)
	}
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only values built by this package are encoded
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal error: encoding the answer"}`)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// fromEngine maps an engine error to an answer.
func (h *Handler) fromEngine(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, model.ErrInvalidCheck):
		return invalid(validationDetails(err))
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, "check not found")
	case errors.Is(err, store.ErrExists):
		return errorf(http.StatusConflict, "check already exists")
	case errors.Is(err, model.ErrNotRunning):
		return errorf(http.StatusServiceUnavailable, "watchdog not running")
	default:
		h.log.Error("api: engine or store error", "err", err)
		return errorf(http.StatusServiceUnavailable, "store unavailable: "+err.Error())
	}
}

// modelFields renames the model's field names in validation messages to
// the API's (healthchecks.io's) names.
var modelFields = []struct{ model, api string }{
	{"schedule.period", "timeout"},
	{"schedule.cron", "schedule"},
	{"schedule.grace", "grace"},
	{"schedule.tz", "tz"},
	{"schedule", "timeout"},
}

// validationDetails splits a joined validation error into one message per
// problem, "field: problem", in the API's field names.
func validationDetails(err error) []string {
	errs := model.Flatten(err)
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		var fe *model.FieldError
		if !errors.As(e, &fe) {
			out = append(out, strings.TrimPrefix(e.Error(), model.ErrInvalidCheck.Error()+": "))
			continue
		}
		field := fe.Field
		for _, f := range modelFields {
			if field == f.model {
				field = f.api
				break
			}
		}
		msg := field + ": " + fe.Err.Error()
		if msg == "timeout: period and cron are exclusive" {
			msg = "timeout: timeout and schedule are exclusive"
		}
		out = append(out, msg)
	}
	return out
}

package ping

import (
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/vitals-go/vitals/internal/model"
)

// Parse errors. The handler answers them with healthchecks.io's bodies.
var (
	// ErrNoEndpoint: the path names no ping endpoint (answered 404 "not
	// found").
	ErrNoEndpoint = errors.New("not found")
	// ErrBadExitStatus: an exit status above 255 (answered 400 "invalid
	// url format" once the check is known to exist, as healthchecks.io
	// looks the check up first).
	ErrBadExitStatus = errors.New("invalid url format")
	// ErrBadSlug: a slug URL whose slug has the URL's shape
	// ([-a-zA-Z0-9_]+) but is not a check's slug (capitals, or longer than
	// model.MaxSlugLen): answered 400 "invalid url format" before any
	// lookup, with or without ?create=1, as healthchecks.io answers a slug
	// that is not lowercase. It takes precedence over ErrBadExitStatus.
	ErrBadSlug = errors.New("invalid url format")
)

// Target is what a ping URL names.
type Target struct {
	// ID is set for /ping/<uuid>… URLs.
	ID model.CheckID
	// PingKey and Slug are set for /ping/<ping-key>/<slug>… URLs.
	PingKey, Slug string
	// Kind is the signal; ExitStatus is set (0-255) for PingExitStatus
	// and -1 otherwise.
	Kind       model.PingKind
	ExitStatus int
}

// BySlug reports whether the target is a slug URL.
func (t Target) BySlug() bool { return t.Slug != "" }

// ParsePath parses the part of a ping URL after "/ping/" (no query). On
// ErrBadExitStatus and ErrBadSlug the returned Target still names the
// check.
func ParsePath(rest string) (Target, error) {
	segs := strings.Split(rest, "/")
	if len(segs) == 0 || len(segs) > 3 {
		return Target{}, ErrNoEndpoint
	}
	t := Target{Kind: model.PingSuccess, ExitStatus: -1}
	var action string
	if id, ok := parseUUID(segs[0]); ok {
		t.ID = model.CheckID(id)
		switch len(segs) {
		case 2:
			action = segs[1]
		case 3:
			return Target{}, ErrNoEndpoint
		}
		if action == "" {
			return t, nil // /ping/<uuid> and /ping/<uuid>/
		}
	} else {
		if len(segs) < 2 || !model.SlugShape(segs[0]) || !model.SlugShape(segs[1]) {
			return Target{}, ErrNoEndpoint
		}
		t.PingKey, t.Slug = segs[0], segs[1]
		if len(segs) == 3 {
			if action = segs[2]; action == "" {
				return Target{}, ErrNoEndpoint // no /ping/<key>/<slug>/, as healthchecks.io
			}
		}
	}
	var err error
	switch action {
	case "":
	case "start":
		t.Kind = model.PingStart
	case "fail":
		t.Kind = model.PingFail
	case "log":
		t.Kind = model.PingLog
	default:
		n, ok := parseDigits(action)
		if !ok {
			return Target{}, ErrNoEndpoint
		}
		t.Kind, t.ExitStatus = model.PingExitStatus, n
		if n > 255 {
			t.ExitStatus = -1
			err = ErrBadExitStatus
		}
	}
	if t.BySlug() && !model.ValidSlug(t.Slug) {
		return t, ErrBadSlug
	}
	return t, err
}

// parseDigits parses a non-empty run of ASCII digits; values beyond 255
// are reported as 256 (all that matters is that they are out of range).
func parseDigits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = min(n*10+int(c-'0'), 256)
	}
	return n, true
}

// parseUUID accepts the canonical 8-4-4-4-12 hexadecimal form only (any
// case), like healthchecks.io's uuid converter and rid check; uuid.Parse
// alone would also take urn: and braced forms.
func parseUUID(s string) (uuid.UUID, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(s)
	return id, err == nil
}

package model

import (
	"time"

	"github.com/google/uuid"
)

// PingKind is what a ping signals.
type PingKind string

const (
	// PingSuccess: /ping/<uuid> — the job succeeded / the process is alive.
	PingSuccess PingKind = "success"
	// PingStart: /ping/<uuid>/start — a run started.
	PingStart PingKind = "start"
	// PingFail: /ping/<uuid>/fail — the job failed.
	PingFail PingKind = "fail"
	// PingLog: /ping/<uuid>/log — a message; the status does not change.
	PingLog PingKind = "log"
	// PingExitStatus: /ping/<uuid>/<0-255> — success when ExitStatus is 0,
	// failure otherwise.
	PingExitStatus PingKind = "exitstatus"
	// PingIgnored: a ping recorded but otherwise ignored (a GET or HEAD to
	// a PostOnly check, or a ping to a manually-resumed paused check).
	PingIgnored PingKind = "ign"
)

// DefaultBodyLimit is how many bytes of a ping's body are kept, the default
// of healthchecks.io's PING_BODY_LIMIT (10 000 bytes). Longer bodies are
// truncated, not rejected.
const DefaultBodyLimit = 10_000

// Max lengths of captured request fields.
const (
	MaxUserAgentLen  = 200
	MaxRemoteAddrLen = 64
	MaxReasonLen     = 500
)

// Ping is one received signal, as stored in a check's history.
type Ping struct {
	// CheckID is the check pinged.
	CheckID CheckID `json:"check_id"`
	// N numbers the check's pings from 1, set by the engine
	// (State.NPings); the store keeps the last N of them.
	N int64 `json:"n"`
	// Kind is what it signals. A PingExitStatus whose ExitStatus is not 0
	// is a failure.
	Kind PingKind `json:"kind"`
	// ExitStatus is the exit status of /ping/<uuid>/<n>, -1 when absent.
	ExitStatus int `json:"exit_status"`
	// RID is the run id (?rid=), uuid.Nil when absent.
	RID uuid.UUID `json:"rid,omitzero"`
	// Time is when the ping arrived (UTC).
	Time time.Time `json:"time"`
	// Duration is the run time when this finishes a run (matched by RID,
	// or the last start when both have no RID); 0 otherwise.
	Duration time.Duration `json:"duration,omitempty"`
	// Method, Scheme, RemoteAddr and UserAgent describe the request
	// (capped to MaxUserAgentLen / MaxRemoteAddrLen).
	Method     string `json:"method,omitempty"`
	Scheme     string `json:"scheme,omitempty"`
	RemoteAddr string `json:"remote_addr,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
	// Body is the request body, at most the handler's body limit.
	Body []byte `json:"body,omitempty"`
	// BodyTruncated reports that the body was longer and was cut.
	BodyTruncated bool `json:"body_truncated,omitempty"`
}

// Outcome classifies the ping: success, failure, or neither (start, log,
// ignored).
func (p Ping) Outcome() (ok, decisive bool) {
	switch p.Kind {
	case PingSuccess:
		return true, true
	case PingFail:
		return false, true
	case PingExitStatus:
		return p.ExitStatus == 0, true
	}
	return false, false
}

// Result is the outcome of one probe of a pull check, reported by the pull
// scheduler.
type Result struct {
	// OK is whether the probe met all its conditions.
	OK bool `json:"ok"`
	// Error says why it failed (capped to MaxReasonLen by the engine).
	Error string `json:"error,omitempty"`
	// Time is when the probe started (UTC).
	Time time.Time `json:"time"`
	// Duration is how long the probe took.
	Duration time.Duration `json:"duration"`
	// CertExpiring is set by a probe with min_cert_validity when the
	// server's certificate expires within its notice period: for the
	// certificate notice (actions.System.CertNotice), not stored.
	CertExpiring *CertNotice `json:"-"`
}

// CertNotice says which certificate of a pull check's target expires soon.
type CertNotice struct {
	// Fingerprint is the SHA-256 (hex) of the certificate.
	Fingerprint string
	// Expiry is its NotAfter.
	Expiry time.Time
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

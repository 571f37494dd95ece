package hcimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/vitals-go/vitals/internal/clip"
	"github.com/vitals-go/vitals/internal/model"
)

// Check is one check as healthchecks.io's Management API v3 shows it to a
// read-write key (hc/api/models.py, Check.to_dict): the fields the import
// copies, and Status for the pause state. Fields the import does not copy
// (n_pings, last_ping, the URLs, ...) are not decoded.
type Check struct {
	// UUID is the check's identity and the secret of its ping URL. It
	// prints as its unique key (see model.CheckID), never as the UUID.
	UUID model.CheckID `json:"uuid"`
	// UniqueKey is set instead of UUID in answers to read-only keys.
	UniqueKey string `json:"unique_key,omitempty"`
	Name      string `json:"name"`
	Slug      string `json:"slug"`
	// Tags is space-separated, as healthchecks.io keeps them.
	Tags string `json:"tags"`
	Desc string `json:"desc"`
	// Grace and Timeout are in seconds. Timeout is 0 for cron checks
	// (healthchecks.io shows it only for simple checks).
	Grace   Seconds `json:"grace"`
	Timeout Seconds `json:"timeout,omitempty"`
	// Schedule is the cron (or OnCalendar) expression of a cron check, ""
	// for a simple one; TZ its time zone.
	Schedule string `json:"schedule,omitempty"`
	TZ       string `json:"tz,omitempty"`
	// Status is new, up, grace, down, started or paused.
	Status       string `json:"status"`
	ManualResume bool   `json:"manual_resume"`
	// Methods is "" (HEAD, GET and POST pings) or "POST".
	Methods string `json:"methods"`
	// The keyword filters (Vitals keeps them without effect).
	StartKW           string `json:"start_kw"`
	SuccessKW         string `json:"success_kw"`
	FailureKW         string `json:"failure_kw"`
	FilterSubject     bool   `json:"filter_subject"`
	FilterBody        bool   `json:"filter_body"`
	FilterHTTPBody    bool   `json:"filter_http_body"`
	FilterDefaultFail bool   `json:"filter_default_fail"`
	// Channels is a comma-separated list of channel ids.
	Channels string `json:"channels"`
	// Kind and Source are Vitals' own fields: "push" or "pull", and who
	// owns the definition ("config": the watchdog's config file, which
	// the API may not change). healthchecks.io has neither.
	Kind   string `json:"kind,omitempty"`
	Source string `json:"source,omitempty"`
}

// Paused reports whether the check is paused.
func (c Check) Paused() bool { return c.Status == "paused" }

// Cron reports whether the check runs on a schedule rather than a timeout.
func (c Check) Cron() bool { return c.Schedule != "" }

// Channel is one integration (healthchecks.io) or notifier (Vitals), as
// GET /api/v3/channels/ lists it.
type Channel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// Seconds is a whole number of seconds. It decodes any JSON number that
// fits (healthchecks.io sends integers; a float is rounded).
type Seconds int64

// maxSeconds bounds a decoded duration: ten times healthchecks.io's
// largest (365 days), far inside time.Duration.
const maxSeconds = 10 * 365 * 24 * 3600

// UnmarshalJSON implements json.Unmarshaler.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = 0
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("seconds: not a number")
	}
	if math.IsNaN(f) || f < 0 || f > maxSeconds {
		return fmt.Errorf("seconds: %g is out of range (0 to %d)", f, maxSeconds)
	}
	*s = Seconds(math.Round(f))
	return nil
}

// ErrReadOnlyKey is returned when a list of checks has no UUIDs: the key
// is read-only (healthchecks.io then shows unique_key instead).
var ErrReadOnlyKey = errors.New("the answer has no check UUIDs: the API key is read-only; use a read-write key")

// DecodeChecks decodes the answer of GET /api/v3/checks/ ({"checks": [...]}).
// Every check must carry its UUID (ErrReadOnlyKey when none does).
func DecodeChecks(b []byte) ([]Check, error) {
	var v struct {
		Checks *[]Check `json:"checks"`
	}
	if err := decodeObject(b, &v); err != nil {
		return nil, err
	}
	if v.Checks == nil {
		return nil, errors.New(`no "checks" list in the answer`)
	}
	for i, c := range *v.Checks {
		if c.UUID.IsZero() {
			if c.UniqueKey != "" {
				return nil, ErrReadOnlyKey
			}
			return nil, fmt.Errorf("check #%d (%s) has no uuid", i+1, clipText(c.Name))
		}
	}
	return *v.Checks, nil
}

// DecodeChannels decodes the answer of GET /api/v3/channels/
// ({"channels": [...]}). Every channel must have an id.
func DecodeChannels(b []byte) ([]Channel, error) {
	var v struct {
		Channels *[]Channel `json:"channels"`
	}
	if err := decodeObject(b, &v); err != nil {
		return nil, err
	}
	if v.Channels == nil {
		return nil, errors.New(`no "channels" list in the answer`)
	}
	for i, c := range *v.Channels {
		if strings.TrimSpace(c.ID) == "" {
			return nil, fmt.Errorf("channel #%d (%s) has no id", i+1, clipText(c.Name))
		}
	}
	return *v.Channels, nil
}

// decodeObject decodes one JSON object (unknown fields ignored: both
// APIs add fields over time) and refuses trailing data.
func decodeObject(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("not the expected JSON: %w", err)
	}
	if dec.More() {
		return errors.New("not the expected JSON: data after the object")
	}
	return nil
}

// clipText bounds text from an answer that goes into an error or a line
// of output, quoting it when it is not plain printable text.
func clipText(s string) string {
	s = clip.Text(s, 80)
	for _, r := range s {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' ||
			(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') || r == 0xfffd {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}

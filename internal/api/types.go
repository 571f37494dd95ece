package api

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// checkInput is the body of create and update. Every field is optional in
// an update (absent or null: unchanged). Durations are in seconds, as in
// healthchecks.io.
type checkInput struct {
	Name         *string          `json:"name"`
	Slug         *string          `json:"slug"`
	PingKey      *string          `json:"ping_key"`
	Tags         *tagList         `json:"tags"`
	Desc         *string          `json:"desc"`
	Kind         *string          `json:"kind"`
	Timeout      *float64         `json:"timeout"`
	Schedule     *string          `json:"schedule"`
	TZ           *string          `json:"tz"`
	Grace        *float64         `json:"grace"`
	MinRunTime   *float64         `json:"min_run_time"`
	ManualResume *bool            `json:"manual_resume"`
	Methods      *string          `json:"methods"`
	Thresholds   *thresholdsInput `json:"thresholds"`
	Probe        json.RawMessage  `json:"probe"`
}

type thresholdsInput struct {
	Failures    *int     `json:"failures"`
	Successes   *int     `json:"successes"`
	StartPeriod *float64 `json:"start_period"`
	FlapChanges *int     `json:"flap_changes"`
	FlapWindow  *int     `json:"flap_window"`
}

// tagList accepts tags as a JSON array of strings or, as healthchecks.io
// does, one string of space-separated tags.
type tagList []string

func (t *tagList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = strings.Fields(s)
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[[]string]()}
	}
	*t = l
	return nil
}

// jsonKind names the JSON type of a value, for error messages.
func jsonKind(b []byte) string {
	switch c := firstByte(b); {
	case c == '"':
		return "string"
	case c == '[':
		return "array"
	case c == '{':
		return "object"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	default:
		return "number"
	}
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// maxSeconds bounds durations given in seconds: the model's bound for every
// duration of a check (365 days, as healthchecks.io), far under
// time.Duration's range.
const maxSeconds = int64(model.MaxDuration / time.Second)

// seconds converts a duration in seconds, checking its range: from min
// to maxSeconds.
func seconds(field string, v, min float64, errs *[]string) time.Duration {
	if math.IsNaN(v) || v < min || v > float64(maxSeconds) {
		*errs = append(*errs, fmt.Sprintf("%s: must be from %g to %d seconds", field, min, maxSeconds))
		return 0
	}
	return time.Duration(v * float64(time.Second))
}

func durSeconds(d time.Duration) float64 { return d.Seconds() }

// apply copies the fields present in in onto c, collecting the problems
// the model's Validate cannot see (types, ranges, API-only fields).
func (in *checkInput) apply(c *model.Check, errs *[]string) {
	if in.Name != nil {
		c.Name = *in.Name
	}
	if in.Slug != nil {
		c.Slug = *in.Slug
	}
	if in.PingKey != nil {
		if *in.PingKey != "" && !model.ValidPingKey(*in.PingKey) {
			*errs = append(*errs, "ping_key: "+model.PingKeyRule)
		}
		c.PingKey = *in.PingKey
	}
	if in.Tags != nil {
		c.Tags = []string(*in.Tags)
		if len(c.Tags) == 0 {
			c.Tags = nil
		}
	}
	if in.Desc != nil {
		c.Desc = *in.Desc
	}
	if in.Kind != nil {
		c.Kind = model.Kind(*in.Kind)
	}
	if in.Timeout != nil && in.Schedule != nil && *in.Schedule != "" {
		*errs = append(*errs, "timeout: timeout and schedule are exclusive")
	}
	if in.Timeout != nil {
		c.Schedule.Period = seconds("timeout", *in.Timeout, 1, errs)
		c.Schedule.Cron = ""
	}
	if in.Schedule != nil {
		c.Schedule.Cron = *in.Schedule
		if *in.Schedule != "" {
			c.Schedule.Period = 0
		}
	}
	if in.TZ != nil {
		c.Schedule.TZ = *in.TZ
	}
	if in.Grace != nil {
		if *in.Grace == 0 && c.Kind == model.KindPush {
			// WithDefaults would silently replace 0 with the default.
			*errs = append(*errs, "grace: must be positive for push checks")
		}
		c.Schedule.Grace = seconds("grace", *in.Grace, 0, errs)
	}
	if in.MinRunTime != nil {
		c.MinRunTime = seconds("min_run_time", *in.MinRunTime, 0, errs)
	}
	if in.ManualResume != nil {
		c.ManualResume = *in.ManualResume
	}
	if in.Methods != nil {
		switch *in.Methods {
		case "":
			c.PostOnly = false
		case "POST":
			c.PostOnly = true
		default:
			*errs = append(*errs, `methods: must be "" (HEAD, GET and POST) or "POST"`)
		}
	}
	if t := in.Thresholds; t != nil {
		if t.Failures != nil {
			c.Thresholds.Failures = *t.Failures
		}
		if t.Successes != nil {
			c.Thresholds.Successes = *t.Successes
		}
		if t.StartPeriod != nil {
			c.Thresholds.StartPeriod = seconds("thresholds.start_period", *t.StartPeriod, 0, errs)
		}
		if t.FlapChanges != nil {
			c.Thresholds.FlapChanges = *t.FlapChanges
		}
		if t.FlapWindow != nil {
			c.Thresholds.FlapWindow = *t.FlapWindow
		}
	}
	if in.Probe != nil {
		switch firstByte(in.Probe) {
		case 'n': // null: no probe
			c.Probe = nil
		case '{':
			c.Probe = append([]byte(nil), in.Probe...)
		default:
			*errs = append(*errs, "probe: expected an object, got "+jsonKind(in.Probe))
		}
	}
}

// checkOutput is a check as the API shows it.
type checkOutput struct {
	UUID      string   `json:"uuid,omitempty"`
	UniqueKey string   `json:"unique_key"`
	Name      string   `json:"name"`
	Slug      string   `json:"slug"`
	PingKey   string   `json:"ping_key,omitempty"`
	Tags      []string `json:"tags"`
	Desc      string   `json:"desc"`
	Kind      string   `json:"kind"`
	Source    string   `json:"source"`

	Timeout      *float64         `json:"timeout,omitempty"`
	Schedule     string           `json:"schedule,omitempty"`
	TZ           string           `json:"tz,omitempty"`
	Grace        float64          `json:"grace"`
	MinRunTime   float64          `json:"min_run_time"`
	ManualResume bool             `json:"manual_resume"`
	Methods      string           `json:"methods"`
	Thresholds   thresholdsOutput `json:"thresholds"`
	Probe        json.RawMessage  `json:"probe,omitempty"`

	Status       string     `json:"status"`
	Started      bool       `json:"started"`
	LastPing     *time.Time `json:"last_ping"`
	LastSuccess  *time.Time `json:"last_success"`
	NextPing     *time.Time `json:"next_ping"`
	Deadline     *time.Time `json:"deadline"`
	LastDuration *float64   `json:"last_duration"`
	LastError    string     `json:"last_error,omitempty"`
	NPings       int64      `json:"n_pings"`
	NFlips       int64      `json:"n_flips"`
	StatusSince  time.Time  `json:"status_since"`

	PingURL   string `json:"ping_url,omitempty"`
	UpdateURL string `json:"update_url,omitempty"`
	PauseURL  string `json:"pause_url,omitempty"`
	ResumeURL string `json:"resume_url,omitempty"`

	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

type thresholdsOutput struct {
	Failures    int     `json:"failures"`
	Successes   int     `json:"successes"`
	StartPeriod float64 `json:"start_period"`
	FlapChanges int     `json:"flap_changes"`
	FlapWindow  int     `json:"flap_window"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// pingOutput is a ping as the API shows it (healthchecks.io's field names).
type pingOutput struct {
	Type          string    `json:"type"`
	N             int64     `json:"n"`
	Date          time.Time `json:"date"`
	ExitStatus    *int      `json:"exit_status,omitempty"`
	RID           string    `json:"rid,omitempty"`
	Duration      *float64  `json:"duration,omitempty"`
	Method        string    `json:"method,omitempty"`
	Scheme        string    `json:"scheme,omitempty"`
	RemoteAddr    string    `json:"remote_addr,omitempty"`
	UA            string    `json:"ua,omitempty"`
	Body          *string   `json:"body,omitempty"`
	BodyBase64    []byte    `json:"body_base64,omitempty"`
	BodyTruncated bool      `json:"body_truncated,omitempty"`
}

// flipOutput is a flip as the API shows it: healthchecks.io's timestamp
// and up, plus the statuses and the reason.
type flipOutput struct {
	Timestamp time.Time `json:"timestamp"`
	Up        int       `json:"up"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Reason    string    `json:"reason"`
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

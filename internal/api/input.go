package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// checkInput is the body of create and update: every field of
// healthchecks.io's Spec, plus Vitals' own. Every field is optional
// (absent or null: unchanged). Durations are in seconds.
type checkInput struct {
	// healthchecks.io's fields.
	Name              *string   `json:"name"`
	Slug              *string   `json:"slug"`
	Tags              *tagList  `json:"tags"`
	Desc              *string   `json:"desc"`
	Timeout           *float64  `json:"timeout"`
	Grace             *float64  `json:"grace"`
	Schedule          *string   `json:"schedule"`
	TZ                *string   `json:"tz"`
	ManualResume      *bool     `json:"manual_resume"`
	Methods           *string   `json:"methods"`
	Channels          *string   `json:"channels"`
	Unique            *[]string `json:"unique"`
	Subject           *string   `json:"subject"`
	SubjectFail       *string   `json:"subject_fail"`
	StartKW           *string   `json:"start_kw"`
	SuccessKW         *string   `json:"success_kw"`
	FailureKW         *string   `json:"failure_kw"`
	FilterSubject     *bool     `json:"filter_subject"`
	FilterBody        *bool     `json:"filter_body"`
	FilterHTTPBody    *bool     `json:"filter_http_body"`
	FilterDefaultFail *bool     `json:"filter_default_fail"`
	// APIKey is read by the authentication, not here.
	APIKey json.RawMessage `json:"api_key"`

	// Vitals' own.
	UUID       *string          `json:"uuid"`
	PingKey    *string          `json:"ping_key"`
	Kind       *string          `json:"kind"`
	MinRunTime *float64         `json:"min_run_time"`
	Thresholds *thresholdsInput `json:"thresholds"`
	Probe      json.RawMessage  `json:"probe"`
}

type thresholdsInput struct {
	Failures    *int     `json:"failures"`
	Successes   *int     `json:"successes"`
	StartPeriod *float64 `json:"start_period"`
	FlapChanges *int     `json:"flap_changes"`
	FlapWindow  *int     `json:"flap_window"`
}

// tagList accepts tags as healthchecks.io sends them, one string of
// space-separated tags, or as a JSON array of strings.
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

// uniqueFields are the fields "unique" may name (healthchecks.io's).
var uniqueFields = []string{"name", "slug", "tags", "timeout", "grace"}

// MaxKeywordLen bounds the keyword fields (start_kw, success_kw,
// failure_kw, subject, subject_fail), as healthchecks.io does.
const MaxKeywordLen = 200

// decodeCheck decodes a create or update body (empty: no change, as
// healthchecks.io reads it).
func (h *Handler) decodeCheck(q *request) (*checkInput, *apiError) {
	var in checkInput
	if q.body == nil {
		return &in, nil
	}
	if err := decodeStrict(q.body, &in); err != nil {
		return nil, err
	}
	if in.Unique != nil {
		for _, f := range *in.Unique {
			if !slices.Contains(uniqueFields, f) {
				return nil, errorf(http.StatusBadRequest, "json validation error: an item in 'unique' has unexpected value",
					"unique: each item must be one of "+strings.Join(uniqueFields, ", "))
			}
		}
	}
	return &in, nil
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

// channelRoutes resolves "channels" against the configured channels, with
// healthchecks.io's error texts.
func (h *Handler) channelRoutes(spec string) (model.Routes, *apiError) {
	names, err := model.ParseChannelSpec(spec, h.channels())
	if err == nil {
		return model.RouteAll(names), nil
	}
	msg := strings.TrimPrefix(err.Error(), model.ErrChannelSpec.Error()+": ")
	// healthchecks.io echoes the identifier bare; the model quotes it.
	if head, quoted, ok := strings.Cut(msg, ": "); ok {
		if s, uerr := strconv.Unquote(quoted); uerr == nil {
			msg = head + ": " + s
		}
	}
	return model.Routes{}, errorf(http.StatusBadRequest, msg)
}

// apply copies the fields present in in onto c for API version v,
// collecting the problems the model's Validate cannot see (types, ranges,
// API-only fields). For v1 and v2, a name without a slug also gives
// autoSlug, the slug healthchecks.io would derive (hasAuto).
func (in *checkInput) apply(c *model.Check, v int, errs *[]string) (autoSlug string, hasAuto bool) {
	if in.Name != nil {
		c.Name = *in.Name
		if v < 3 && in.Slug == nil {
			// healthchecks.io v1 and v2 derive the slug from the name.
			autoSlug, hasAuto = slugify(*in.Name), true
		}
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
	// healthchecks.io: a schedule takes precedence over a timeout.
	switch {
	case in.Schedule != nil && *in.Schedule != "":
		c.Schedule.Cron = *in.Schedule
		c.Schedule.Period = 0
	case in.Timeout != nil:
		c.Schedule.Period = seconds("timeout", *in.Timeout, 1, errs)
		c.Schedule.Cron = ""
	case in.Schedule != nil: // "": back to a period
		c.Schedule.Cron = ""
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
	in.applyFilters(&c.Filters, errs)
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
	return autoSlug, hasAuto
}

// applyFilters sets healthchecks.io's keyword filters, with its mapping of
// the deprecated subject and subject_fail (success_kw / failure_kw, with
// filter_subject on when either is set).
func (in *checkInput) applyFilters(f *model.Filters, errs *[]string) {
	for _, kw := range []struct {
		name string
		v    *string
	}{{"subject", in.Subject}, {"subject_fail", in.SubjectFail}, {"start_kw", in.StartKW}, {"success_kw", in.SuccessKW}, {"failure_kw", in.FailureKW}} {
		if kw.v != nil && len(*kw.v) > MaxKeywordLen {
			*errs = append(*errs, fmt.Sprintf("%s: longer than %d bytes", kw.name, MaxKeywordLen))
		}
	}
	if in.Subject != nil {
		f.SuccessKW = *in.Subject
		f.FilterSubject = f.SuccessKW != "" || f.FailureKW != ""
	}
	if in.SubjectFail != nil {
		f.FailureKW = *in.SubjectFail
		f.FilterSubject = f.SuccessKW != "" || f.FailureKW != ""
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setB := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&f.StartKW, in.StartKW)
	set(&f.SuccessKW, in.SuccessKW)
	set(&f.FailureKW, in.FailureKW)
	setB(&f.FilterSubject, in.FilterSubject)
	setB(&f.FilterBody, in.FilterBody)
	setB(&f.FilterHTTPBody, in.FilterHTTPBody)
	setB(&f.FilterDefaultFail, in.FilterDefaultFail)
}

// matches reports whether c has every field in names as in gives it
// (healthchecks.io's _lookup). The caller has checked each is present.
func (in *checkInput) matches(c model.Check, names []string) bool {
	d := c.WithDefaults()
	for _, n := range names {
		switch n {
		case "name":
			if c.Name != *in.Name {
				return false
			}
		case "slug":
			if c.Slug != *in.Slug {
				return false
			}
		case "tags":
			if strings.Join(c.Tags, " ") != strings.Join(*in.Tags, " ") {
				return false
			}
		case "timeout":
			if d.Schedule.Cron != "" || d.Schedule.Period != time.Duration(*in.Timeout*float64(time.Second)) {
				return false
			}
		case "grace":
			if d.Schedule.Grace != time.Duration(*in.Grace*float64(time.Second)) {
				return false
			}
		}
	}
	return true
}

// uniqueNames returns the fields of "unique" when a lookup is due: nil when
// unique is absent or empty, or names a field the body does not give.
func (in *checkInput) uniqueNames() []string {
	if in.Unique == nil || len(*in.Unique) == 0 {
		return nil
	}
	present := map[string]bool{"name": in.Name != nil, "slug": in.Slug != nil, "tags": in.Tags != nil,
		"timeout": in.Timeout != nil, "grace": in.Grace != nil}
	for _, n := range *in.Unique {
		if !present[n] {
			return nil
		}
	}
	return *in.Unique
}

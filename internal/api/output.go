package api

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/pull"
)

// checkOutput is a check as the API shows it: healthchecks.io's
// Check.to_dict(readonly, v) field for field, in its order, then the
// fields of Vitals' own (only names healthchecks.io does not use).
type checkOutput struct {
	Name              string  `json:"name"`
	Slug              string  `json:"slug"`
	Tags              string  `json:"tags"`
	Desc              string  `json:"desc"`
	Grace             int64   `json:"grace"`
	NPings            int64   `json:"n_pings"`
	Status            string  `json:"status"`
	Started           bool    `json:"started"`
	LastPing          *string `json:"last_ping"`
	NextPing          *string `json:"next_ping"`
	ManualResume      bool    `json:"manual_resume"`
	Methods           string  `json:"methods"`
	Subject           string  `json:"subject"`
	SubjectFail       string  `json:"subject_fail"`
	StartKW           string  `json:"start_kw"`
	SuccessKW         string  `json:"success_kw"`
	FailureKW         string  `json:"failure_kw"`
	FilterSubject     bool    `json:"filter_subject"`
	FilterBody        bool    `json:"filter_body"`
	FilterHTTPBody    bool    `json:"filter_http_body"`
	FilterDefaultFail bool    `json:"filter_default_fail"`
	BadgeURL          string  `json:"badge_url,omitempty"`
	LastDuration      *int64  `json:"last_duration,omitempty"`

	// Read-write keys only (UUID is the ping secret).
	UUID      string  `json:"uuid,omitempty"`
	PingURL   string  `json:"ping_url,omitempty"`
	UpdateURL string  `json:"update_url,omitempty"`
	PauseURL  string  `json:"pause_url,omitempty"`
	ResumeURL string  `json:"resume_url,omitempty"`
	Channels  *string `json:"channels,omitempty"`

	// healthchecks.io gives unique_key to read-only keys; Vitals to all.
	UniqueKey string `json:"unique_key"`

	// timeout for period checks; schedule and tz for cron checks.
	Timeout  *int64 `json:"timeout,omitempty"`
	Schedule string `json:"schedule,omitempty"`
	TZ       string `json:"tz,omitempty"`

	// Vitals' own.
	PingKey     string           `json:"ping_key,omitempty"`
	Kind        string           `json:"kind"`
	Source      string           `json:"source"`
	Thresholds  thresholdsOutput `json:"thresholds"`
	MinRunTime  float64          `json:"min_run_time"`
	Probe       json.RawMessage  `json:"probe,omitempty"`
	Deadline    *time.Time       `json:"deadline"`
	LastSuccess *time.Time       `json:"last_success"`
	LastError   string           `json:"last_error,omitempty"`
	NFlips      int64            `json:"n_flips"`
	StatusSince time.Time        `json:"status_since"`
	Created     time.Time        `json:"created"`
	Updated     time.Time        `json:"updated"`
	TZWarning   string           `json:"tz_warning,omitempty"`
	// Warnings say what keeps the check from alerting as meant (no
	// channels, channels not configured, a time-zone mismatch).
	Warnings []string `json:"warnings"`
}

type thresholdsOutput struct {
	Failures    int     `json:"failures"`
	Successes   int     `json:"successes"`
	StartPeriod float64 `json:"start_period"`
	FlapChanges int     `json:"flap_changes"`
	FlapWindow  int     `json:"flap_window"`
}

// isoString formats t as healthchecks.io's isostring does (Python's
// isoformat without microseconds: "2020-03-24T14:02:03+00:00"); nil for
// the zero time.
func isoString(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05+00:00")
	return &s
}

// isoMicro formats t as Python's isoformat: microseconds when there are
// any (healthchecks.io's ping dates).
func isoMicro(t time.Time) string {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05+00:00")
	}
	return t.Format("2006-01-02T15:04:05.000000+00:00")
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func durSeconds(d time.Duration) float64 { return d.Seconds() }

// intSeconds is Python's int(td.total_seconds()): whole seconds, truncated.
func intSeconds(d time.Duration) int64 { return int64(d / time.Second) }

// displayStatus is the status healthchecks.io shows for version v: v1 says
// "started" while a run is open (unless paused), v2 and v3 say it in
// "started" only and show the status underneath.
func displayStatus(s model.State, now time.Time, v int) string {
	if len(s.Runs) > 0 && s.Status != model.StatusPaused && v == 1 {
		return string(model.StatusStarted)
	}
	st := s.Display(now)
	if st == model.StatusStarted {
		s.Runs = nil
		st = s.Display(now)
	}
	return string(st)
}

// channelIDs returns the comma-separated, sorted UUIDs of the channels c
// routes to, as healthchecks.io's channels_str; names that are not
// configured channels are left out.
func channelIDs(c model.Check, all []model.Channel) string {
	var ids []string
	for _, n := range c.Routes.Names() {
		if i := slices.IndexFunc(all, func(ch model.Channel) bool { return ch.Name == n }); i >= 0 {
			ids = append(ids, all[i].ID.String())
		}
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// channels returns the configured channels (none without Options.Channels).
func (h *Handler) channels() []model.Channel {
	if h.opts.Channels == nil {
		return nil
	}
	return h.opts.Channels()
}

// view is what rendering a list of checks for one request needs once.
type view struct {
	v          int
	readOnly   bool
	now        time.Time
	origin     string
	pingBase   string
	apiBase    string
	channels   []model.Channel
	badgeCheck func(model.CheckID) string
}

func (h *Handler) view(q *request) *view {
	origin, pingBase := h.urls(q.r)
	return &view{v: q.v, readOnly: q.readOnly(), now: h.opts.Now(), origin: origin, pingBase: pingBase,
		apiBase: h.apiBase(q), channels: h.channels(), badgeCheck: h.opts.CheckBadgeURL}
}

// output renders a check for q's key (see view.render).
func (h *Handler) output(q *request, cs model.CheckState) checkOutput {
	return h.view(q).render(h, cs)
}

// render renders a check. A read-only key sees the check's Redacted form
// (each value its config took from the environment shown as ${NAME}), its
// probe's secrets masked on top (pull.RedactJSON), and never its UUID,
// ping key, URLs or channels.
func (vw *view) render(h *Handler, cs model.CheckState) checkOutput {
	c, s := cs.Check, cs.State
	if vw.readOnly {
		c = c.Redacted()
	}
	f := c.Filters
	o := checkOutput{
		Name:              c.Name,
		Slug:              c.Slug,
		Tags:              strings.Join(c.Tags, " "),
		Desc:              c.Desc,
		Grace:             intSeconds(c.Schedule.Grace),
		NPings:            s.NPings,
		Status:            displayStatus(s, vw.now, vw.v),
		Started:           len(s.Runs) > 0,
		LastPing:          isoString(s.LastPing),
		ManualResume:      c.ManualResume,
		StartKW:           f.StartKW,
		SuccessKW:         f.SuccessKW,
		FailureKW:         f.FailureKW,
		FilterSubject:     f.FilterSubject,
		FilterBody:        f.FilterBody,
		FilterHTTPBody:    f.FilterHTTPBody,
		FilterDefaultFail: f.FilterDefaultFail,
		UniqueKey:         h.ukeys.key(c.ID),
		Kind:              string(c.Kind),
		Source:            cmp.Or(c.Source, model.SourceAPI),
		Thresholds: thresholdsOutput{
			Failures:    c.Thresholds.FailuresOrDefault(),
			Successes:   c.Thresholds.SuccessesOrDefault(),
			StartPeriod: durSeconds(c.Thresholds.StartPeriod),
			FlapChanges: c.Thresholds.FlapChanges,
			FlapWindow:  c.Thresholds.FlapWindow,
		},
		MinRunTime:  durSeconds(c.MinRunTime),
		Probe:       c.Probe,
		Deadline:    optTime(s.Deadline),
		LastSuccess: optTime(s.LastSuccess),
		LastError:   s.LastError,
		NFlips:      s.NFlips,
		StatusSince: s.Since.UTC(),
		Created:     c.Created.UTC(),
		Updated:     c.Updated.UTC(),
		TZWarning:   s.TZWarning,
		Warnings:    c.RouteWarnings(vw.channels),
	}
	if s.Status == model.StatusUp {
		// healthchecks.io: the next ping is expected only of an up check.
		o.NextPing = isoString(s.Due)
	}
	if f.FilterSubject {
		o.Subject, o.SubjectFail = f.SuccessKW, f.FailureKW
	}
	if s.TZWarning != "" {
		o.Warnings = append(o.Warnings, s.TZWarning)
	}
	if o.Warnings == nil {
		o.Warnings = []string{}
	}
	if c.Schedule.Cron != "" {
		o.Schedule = c.Schedule.Cron
		o.TZ = cmp.Or(c.Schedule.TZ, model.DefaultTZ)
	} else {
		p := intSeconds(c.Schedule.Period)
		o.Timeout = &p
	}
	if c.PostOnly {
		o.Methods = "POST"
	}
	if s.LastDuration > 0 {
		d := intSeconds(s.LastDuration)
		o.LastDuration = &d
	}
	if vw.badgeCheck != nil {
		if p := vw.badgeCheck(c.ID); p != "" {
			o.BadgeURL = vw.origin + p
		}
	}
	if vw.readOnly {
		o.Probe = pull.RedactJSON(c.Probe)
		return o
	}
	id := c.ID.Secret()
	o.UUID = id
	o.PingKey = c.PingKey
	if c.Kind == model.KindPush {
		o.PingURL = vw.pingBase + id
	}
	o.UpdateURL = vw.apiBase + "checks/" + id
	o.PauseURL = o.UpdateURL + "/pause"
	o.ResumeURL = o.UpdateURL + "/resume"
	ch := channelIDs(c, vw.channels)
	o.Channels = &ch
	return o
}

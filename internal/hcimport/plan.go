package hcimport

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// Op is what the import does with one source check.
type Op string

// The ops of a plan.
const (
	// OpCreate creates the check with its UUID (and pauses it if the
	// source's is paused).
	OpCreate Op = "create"
	// OpUpdate sends the fields that differ, and pauses or resumes it.
	OpUpdate Op = "update"
	// OpUnchanged: the destination's check is the source's already.
	OpUnchanged Op = "unchanged"
	// OpSkip: the check is not imported; Reason says why.
	OpSkip Op = "skip"
)

// Action is the plan for one source check.
type Action struct {
	Op Op
	// ID is the check's UUID (it prints as its unique key).
	ID model.CheckID
	// Label names the check in output: its name, with the start of its
	// unique key when the name is empty or shared. Never the UUID.
	Label string
	// Body is the request: for OpCreate every field and "uuid", for
	// OpUpdate only the fields that differ (nil when only the pause state
	// does). Nil for the other ops.
	Body map[string]any
	// Changed lists what an update changes: Body's fields, sorted, then
	// "paused" or "resumed".
	Changed []string
	// Pause and Resume: the pause state to set after the create or update.
	Pause, Resume bool
	// Reason says why a check is skipped.
	Reason string
	// Owned: skipped because the destination's config file owns the check
	// (a skip on purpose, not a problem).
	Owned bool
}

// UnmappedChannel is a source channel that has no counterpart among the
// destination's channels: the checks that use it are imported without it.
type UnmappedChannel struct {
	Channel
	// Checks are the labels of the checks that use it, sorted.
	Checks []string
	// Target is the destination name it was looked up under (its own
	// name, or the one --channel-map gave).
	Target string
}

// Plan is what an import does, check by check, in the source's order.
type Plan struct {
	Actions  []Action
	Unmapped []UnmappedChannel
	// Warnings are problems with the channel map, sorted.
	Warnings []string
	// Untouched counts the destination's checks that the source does not
	// have: the import leaves them alone (it never deletes).
	Untouched int
}

// Count returns how many actions have op.
func (p Plan) Count(op Op) int {
	n := 0
	for _, a := range p.Actions {
		if a.Op == op {
			n++
		}
	}
	return n
}

// Input is what a plan is made from: both sides as their APIs list them,
// and the channel map.
type Input struct {
	Source, Dest                 []Check
	SourceChannels, DestChannels []Channel
	// ChannelMap maps a source channel, by name or id, to a destination
	// channel, by name or id. A source channel it does not name goes to
	// the destination channel of the same name.
	ChannelMap map[string]string
}

// MakePlan compares the source's checks with the destination's and says
// what to do with each: create what the destination lacks (same UUID),
// update what differs (only those fields), leave the rest, skip what
// Vitals cannot take. It never deletes. It is a pure function of in.
func MakePlan(in Input) Plan {
	var p Plan
	chans := newChannelMapper(in)
	p.Warnings = chans.warnings

	dest := make(map[model.CheckID]Check, len(in.Dest))
	for _, d := range in.Dest {
		if _, dup := dest[d.UUID]; !dup {
			dest[d.UUID] = d
		}
	}
	inSource := make(map[model.CheckID]bool, len(in.Source))
	labels := labelsOf(in.Source)
	for i, s := range in.Source {
		a := Action{ID: s.UUID, Label: labels[i]}
		if inSource[s.UUID] {
			a.Op, a.Reason = OpSkip, "the source lists this UUID twice; the first was imported"
			p.Actions = append(p.Actions, a)
			continue
		}
		inSource[s.UUID] = true
		if reason := unsupported(s); reason != "" {
			a.Op, a.Reason = OpSkip, reason
			p.Actions = append(p.Actions, a)
			continue
		}
		want := chans.mapCheck(s, a.Label)
		d, exists := dest[s.UUID]
		if !exists {
			a.Op, a.Body, a.Pause = OpCreate, createBody(s, want), s.Paused()
			p.Actions = append(p.Actions, a)
			continue
		}
		a.Body = updateBody(s, d, want, chans.destSet(d.Channels))
		a.Changed = slices.Sorted(maps.Keys(a.Body))
		if len(a.Body) == 0 {
			a.Body = nil
		}
		switch {
		case s.Paused() && !d.Paused():
			a.Pause, a.Changed = true, append(a.Changed, "paused")
		case !s.Paused() && d.Paused():
			a.Resume, a.Changed = true, append(a.Changed, "resumed")
		}
		a.Op = OpUpdate
		switch {
		case len(a.Changed) == 0:
			a.Op, a.Changed = OpUnchanged, nil
		case d.Source == model.SourceConfig:
			a.Op, a.Owned, a.Body, a.Pause, a.Resume = OpSkip, true, nil, false, false
			a.Reason = "the watchdog's config file owns it; change it there (differs in " + strings.Join(a.Changed, ", ") + ")"
			a.Changed = nil
		}
		p.Actions = append(p.Actions, a)
	}
	for id := range dest {
		if !inSource[id] {
			p.Untouched++
		}
	}
	p.Unmapped = chans.unmapped()
	return p
}

// unsupported says why Vitals cannot take s, or "".
func unsupported(s Check) string {
	if s.Kind != "" && s.Kind != string(model.KindPush) {
		return fmt.Sprintf("a %s check: only push (heartbeat) checks are imported", clipText(s.Kind))
	}
	if s.Cron() && !isCron(s.Schedule) {
		return "an OnCalendar schedule: Vitals takes 5-field cron expressions only; rewrite it as cron in healthchecks.io, or add the check by hand"
	}
	m := model.Check{
		ID:   s.UUID,
		Name: s.Name,
		Slug: s.Slug, Tags: strings.Fields(s.Tags), Desc: s.Desc,
		Kind:     model.KindPush,
		Schedule: model.Schedule{Grace: time.Duration(s.Grace) * time.Second, TZ: "UTC"},
	}
	m.Name = wantName(s)
	if s.Cron() {
		m.Schedule.Cron, m.Schedule.TZ = s.Schedule, cronTZ(s)
	} else {
		m.Schedule.Period = time.Duration(s.Timeout) * time.Second
	}
	if err := m.Validate(); err != nil {
		var msgs []string
		for _, e := range model.Flatten(err) {
			msgs = append(msgs, strings.TrimPrefix(e.Error(), model.ErrInvalidCheck.Error()+": "))
		}
		return "Vitals cannot take it: " + strings.Join(msgs, "; ")
	}
	return ""
}

// unnamed is the name an unnamed check gets (healthchecks.io allows an
// empty name, and shows "unnamed"; Vitals requires one).
const unnamed = "unnamed"

// wantName is the name s gets in the destination.
func wantName(s Check) string {
	if s.Name == "" {
		return unnamed
	}
	return s.Name
}

// isCron is healthchecks.io's guess_kind: one line of 5 fields is cron,
// anything else OnCalendar.
func isCron(schedule string) bool {
	return !strings.Contains(strings.TrimSpace(schedule), "\n") && len(strings.Fields(schedule)) == 5
}

// cronTZ is the time zone of a cron check, UTC when the answer has none.
func cronTZ(c Check) string {
	if c.TZ == "" {
		return model.DefaultTZ
	}
	return c.TZ
}

// normTags is the tags as sent: split on white space, without repeats,
// in their order.
func normTags(tags string) string {
	var out []string
	for _, t := range strings.Fields(tags) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return strings.Join(out, " ")
}

// sameTags compares two tag lists as sets.
func sameTags(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// createBody is the whole definition of s, with its UUID and channels.
func createBody(s Check, channels []string) map[string]any {
	b := map[string]any{
		"uuid": s.UUID.Secret(), "name": wantName(s), "slug": s.Slug, "tags": normTags(s.Tags), "desc": s.Desc,
		"grace": int64(s.Grace), "manual_resume": s.ManualResume, "methods": s.Methods,
		"start_kw": s.StartKW, "success_kw": s.SuccessKW, "failure_kw": s.FailureKW,
		"filter_subject": s.FilterSubject, "filter_body": s.FilterBody,
		"filter_http_body": s.FilterHTTPBody, "filter_default_fail": s.FilterDefaultFail,
		"channels": strings.Join(channels, ","),
	}
	if s.Cron() {
		b["schedule"], b["tz"] = s.Schedule, cronTZ(s)
	} else {
		b["timeout"] = int64(s.Timeout)
	}
	return b
}

// updateBody is the fields of s that differ from d. have is d's channels
// as destination channel ids.
func updateBody(s, d Check, want, have []string) map[string]any {
	b := map[string]any{}
	set := func(field string, differs bool, v any) {
		if differs {
			b[field] = v
		}
	}
	set("name", wantName(s) != d.Name, wantName(s))
	set("slug", s.Slug != d.Slug, s.Slug)
	set("tags", !sameTags(s.Tags, d.Tags), normTags(s.Tags))
	set("desc", s.Desc != d.Desc, s.Desc)
	set("grace", s.Grace != d.Grace, int64(s.Grace))
	if s.Cron() {
		// A check turning from simple to cron gets both, as on create.
		set("schedule", s.Schedule != d.Schedule, s.Schedule)
		set("tz", cronTZ(s) != cronTZ(d) || !d.Cron(), cronTZ(s))
	} else {
		set("timeout", d.Cron() || s.Timeout != d.Timeout, int64(s.Timeout))
	}
	set("manual_resume", s.ManualResume != d.ManualResume, s.ManualResume)
	set("methods", s.Methods != d.Methods, s.Methods)
	set("start_kw", s.StartKW != d.StartKW, s.StartKW)
	set("success_kw", s.SuccessKW != d.SuccessKW, s.SuccessKW)
	set("failure_kw", s.FailureKW != d.FailureKW, s.FailureKW)
	set("filter_subject", s.FilterSubject != d.FilterSubject, s.FilterSubject)
	set("filter_body", s.FilterBody != d.FilterBody, s.FilterBody)
	set("filter_http_body", s.FilterHTTPBody != d.FilterHTTPBody, s.FilterHTTPBody)
	set("filter_default_fail", s.FilterDefaultFail != d.FilterDefaultFail, s.FilterDefaultFail)
	set("channels", !slices.Equal(want, have), strings.Join(want, ","))
	return b
}

// labelsOf names each check for output: its name, with the start of its
// unique key when the name is empty or shared by another check.
func labelsOf(checks []Check) []string {
	count := map[string]int{}
	for _, c := range checks {
		count[c.Name]++
	}
	out := make([]string, len(checks))
	for i, c := range checks {
		key := c.UUID.UniqueKey()[:8]
		switch {
		case c.Name == "":
			out[i] = "(unnamed, key " + key + ")"
		case count[c.Name] > 1:
			out[i] = clipText(c.Name) + " (key " + key + ")"
		default:
			out[i] = clipText(c.Name)
		}
	}
	return out
}

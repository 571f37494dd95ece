package hcimport

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PrintPlan writes the plan, one line per check: what will be done, and
// the fields an update changes or why a check is skipped.
func PrintPlan(w io.Writer, p Plan) {
	for _, a := range p.Actions {
		fmt.Fprintln(w, actionLine(string(a.Op), a, ""))
	}
}

// actionLine is "op  label: details".
func actionLine(word string, a Action, note string) string {
	s := fmt.Sprintf("%-10s %s", word, a.Label)
	switch {
	case note != "":
		s += ": " + note
	case a.Op == OpSkip:
		s += ": " + a.Reason
	case a.Op == OpUpdate && len(a.Changed) > 0:
		s += ": " + strings.Join(a.Changed, ", ")
	case a.Op == OpCreate && a.Pause:
		s += " (paused)"
	}
	return s
}

// PrintSummary writes what a plan would do (r nil: a dry run) or what it
// did, then the channel map's warnings and the channels that have no
// counterpart, with what to add to the config.
func PrintSummary(w io.Writer, p Plan, r *Report) {
	if r == nil {
		fmt.Fprintf(w, "dry run: would create %d, update %d, leave %d unchanged, skip %d; nothing was written\n",
			p.Count(OpCreate), p.Count(OpUpdate), p.Count(OpUnchanged), p.Count(OpSkip))
	} else {
		fmt.Fprintf(w, "summary: %d created, %d updated, %d unchanged, %d skipped, %d failed\n",
			r.Created, r.Updated, r.Unchanged, len(r.Skipped), len(r.Failed))
		printOutcomes(w, "skipped", r.Skipped)
		printOutcomes(w, "failed", r.Failed)
	}
	if p.Untouched > 0 {
		fmt.Fprintf(w, "%d checks of the destination are not in the source: left as they are\n", p.Untouched)
	}
	for _, warn := range p.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	if len(p.Unmapped) == 0 {
		return
	}
	fmt.Fprintf(w, "%d channels have no counterpart in the destination; the checks that use them were imported without them:\n", len(p.Unmapped))
	for _, u := range p.Unmapped {
		kind := u.Kind
		if kind == "" {
			kind = "unknown kind"
		}
		fmt.Fprintf(w, "  %s (%s), used by: %s\n", clipText(channelName(u.Channel)), clipText(kind), strings.Join(u.Checks, ", "))
		name := u.Target
		if name == "" {
			name = u.Kind
			if name == "" {
				name = "alerts"
			}
		}
		hint, native := notifierHint(u.Kind)
		fmt.Fprintf(w, "    add to the config: notifiers: {%s: %s}\n", strconv.Quote(name), hint)
		if !native {
			fmt.Fprintf(w, "      (Vitals has no %s notifier: a webhook to a bridge, or a webhook, slack or email notifier instead)\n", clipText(kind))
		}
		fmt.Fprintf(w, "    or map it onto a channel the destination has: --channel-map '%s=NAME'\n", mapKey(u.Channel))
	}
}

func printOutcomes(w io.Writer, title string, os []Outcome) {
	if len(os) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	for _, o := range os {
		fmt.Fprintf(w, "  %s: %s\n", o.Label, o.Reason)
	}
}

// mapKey is how --channel-map names a source channel: its name, or its
// id when the name is empty or holds a quote or '='.
func mapKey(c Channel) string {
	if c.Name == "" || strings.ContainsAny(c.Name, "'=") || clipText(c.Name) != c.Name {
		return c.ID
	}
	return c.Name
}

// notifierHint is a notifier of the config (docs/config.md, notifiers)
// for a healthchecks.io integration kind, and whether Vitals has that
// kind (else the hint is a webhook).
func notifierHint(kind string) (string, bool) {
	switch kind {
	case "email":
		return `{email: {addr: "smtp.example.com:587", from: "vitals@example.com", to: [you@example.com]}}`, true
	case "slack", "mattermost":
		return `{slack: {url: "${SLACK_WEBHOOK_URL}"}}`, true
	case "webhook":
		return `{webhook: {url: "https://hooks.example.com/vitals"}}`, true
	}
	return `{webhook: {url: "https://..."}}`, false
}

// Progress shows Apply's steps: on a terminal, a bar redrawn in place
// (with skipped and failed checks printed above it); elsewhere, one line
// per check. Not safe for concurrent use.
type Progress struct {
	w    io.Writer
	tty  bool
	seen map[string]int
}

// NewProgress returns a Progress writing to w; tty draws the bar.
func NewProgress(w io.Writer, tty bool) *Progress {
	return &Progress{w: w, tty: tty, seen: map[string]int{}}
}

// Step shows one step; pass it as Apply's progress func.
func (p *Progress) Step(st Step) {
	p.seen[st.Result]++
	if !p.tty {
		fmt.Fprintln(p.w, actionLine(st.Result, st.Action, st.Note))
		return
	}
	if st.Result == "skipped" || st.Result == "failed" {
		fmt.Fprint(p.w, "\r\x1b[K")
		fmt.Fprintln(p.w, actionLine(st.Result, st.Action, st.Note))
	}
	const width = 30
	done := width
	if st.Total > 0 {
		done = width * st.N / st.Total
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%s%s] %d/%d  %d created, %d updated, %d unchanged, %d skipped, %d failed",
		strings.Repeat("=", done), strings.Repeat(" ", width-done), st.N, st.Total,
		p.seen["created"], p.seen["updated"], p.seen["unchanged"], p.seen["skipped"], p.seen["failed"])
	if st.N == st.Total {
		fmt.Fprintln(p.w)
	}
}

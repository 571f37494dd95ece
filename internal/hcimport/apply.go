package hcimport

import (
	"context"
	"net/http"

	"github.com/vitals-go/vitals/internal/model"
)

// Writer is what Apply needs of the destination; *Client implements it.
type Writer interface {
	Create(ctx context.Context, body map[string]any) error
	Update(ctx context.Context, id model.CheckID, body map[string]any) error
	Pause(ctx context.Context, id model.CheckID) error
	Resume(ctx context.Context, id model.CheckID) error
}

var _ Writer = (*Client)(nil)

// Outcome is one check that was not simply created, updated or left.
type Outcome struct {
	Label  string
	Reason string
	// Problem: the check is not in the destination as in the source
	// (a skip for a reason other than the destination owning it).
	Problem bool
}

// Report is what an import did.
type Report struct {
	Created, Updated, Unchanged int
	Skipped                     []Outcome
	Failed                      []Outcome
}

// OK reports whether every check is in the destination as in the source,
// or left there on purpose: nothing failed, nothing was skipped because
// Vitals cannot take it.
func (r Report) OK() bool {
	if len(r.Failed) > 0 {
		return false
	}
	for _, s := range r.Skipped {
		if s.Problem {
			return false
		}
	}
	return true
}

// Step is reported to Apply's progress func after each action: the
// action and what became of it.
type Step struct {
	N, Total int
	Action   Action
	// Result is "created", "updated", "unchanged", "skipped" or "failed".
	Result string
	// Note is why a check was skipped or failed.
	Note string
}

// Apply carries out p on w, one action at a time in order, and reports
// each step to progress (if not nil). A failure does not stop the others;
// a cancelled ctx stops at the next action, the rest counted as failed.
// An update the destination answers 409 (a check its config file owns) is
// skipped with the destination's reason.
func Apply(ctx context.Context, w Writer, p Plan, progress func(Step)) Report {
	var r Report
	for i, a := range p.Actions {
		st := Step{N: i + 1, Total: len(p.Actions), Action: a}
		if err := ctx.Err(); err != nil {
			st.Result, st.Note = "failed", "not done: "+err.Error()
		} else {
			st.Result, st.Note = applyOne(ctx, w, a)
		}
		switch st.Result {
		case "created":
			r.Created++
		case "updated":
			r.Updated++
		case "unchanged":
			r.Unchanged++
		case "skipped":
			// Only a destination that owns the check is a skip on purpose.
			r.Skipped = append(r.Skipped, Outcome{Label: a.Label, Reason: st.Note, Problem: a.Op != OpUpdate && !a.Owned})
		default:
			r.Failed = append(r.Failed, Outcome{Label: a.Label, Reason: st.Note, Problem: true})
		}
		if progress != nil {
			progress(st)
		}
	}
	return r
}

// applyOne carries out one action: its result, and why when it is
// "skipped" or "failed".
func applyOne(ctx context.Context, w Writer, a Action) (result, note string) {
	switch a.Op {
	case OpUnchanged:
		return "unchanged", ""
	case OpSkip:
		return "skipped", a.Reason
	case OpCreate:
		if err := w.Create(ctx, a.Body); err != nil {
			if IsStatus(err, http.StatusConflict) {
				return "skipped", "the destination has a check with this UUID that it did not list (" + err.Error() + ")"
			}
			return "failed", err.Error()
		}
		if a.Pause {
			if err := w.Pause(ctx, a.ID); err != nil {
				return "failed", "created, but not paused: " + err.Error()
			}
		}
		return "created", ""
	case OpUpdate:
		if a.Body != nil {
			if err := w.Update(ctx, a.ID, a.Body); err != nil {
				if IsStatus(err, http.StatusConflict) {
					return "skipped", "the destination refuses to change it, e.g. its config file owns it (" + err.Error() + ")"
				}
				return "failed", err.Error()
			}
		}
		var err error
		switch {
		case a.Pause:
			err = w.Pause(ctx, a.ID)
		case a.Resume:
			err = w.Resume(ctx, a.ID)
		}
		if err != nil {
			return "failed", err.Error()
		}
		return "updated", ""
	}
	return "failed", "unknown op " + string(a.Op)
}

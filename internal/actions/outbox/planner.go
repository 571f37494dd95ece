package outbox

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Rules are the channels a check's flips go to, by the flip's new status.
// A flip to up is announced only when it ends a down or flapping period (a
// new check coming up, or a resume, is not news).
type Rules struct {
	Down     []string `yaml:"down" json:"down,omitempty"`
	Up       []string `yaml:"up" json:"up,omitempty"`
	Flapping []string `yaml:"flapping" json:"flapping,omitempty"`
}

// For returns the channels for a flip from → to.
func (r Rules) For(from, to model.Status) []string {
	switch to {
	case model.StatusDown:
		return r.Down
	case model.StatusFlapping:
		return r.Flapping
	case model.StatusUp:
		if from == model.StatusDown || from == model.StatusFlapping {
			return r.Up
		}
	}
	return nil
}

// Verdict is a Policy's answer for one notification.
type Verdict struct {
	// Drop suppresses it; Reason says why (logged, and on a dropped
	// held row).
	Drop   bool
	Reason string
	// HoldUntil, when after now, holds the row back until then (a
	// maintenance window's end); the Policy is asked again then.
	HoldUntil time.Time
	// Also names other checks this alert stands for (children of a down
	// parent whose own alerts are suppressed).
	Also []string
	// Memory (Decide only), when not nil, is what the policy must remember
	// of this flip: the Planner writes it in the flip's transaction
	// (store.Update.Policy) and hands it to Remember once it is durable.
	Memory *store.PolicyState
}

// Policy decides whether a flip's notifications go out now, later or
// never: dependencies, maintenance windows, silences. Decide is consulted
// by the Planner before the rows are written (under the check's lock: fast,
// no I/O, and no change to the policy's memory, which it returns in
// Verdict.Memory); Remember is told that memory once the flip is durable
// (under the same lock, never if the write failed); Recheck by the
// Dispatcher when a held row comes due (it may write to the store).
// Implementations are safe for concurrent use.
type Policy interface {
	Decide(t model.Transition, now time.Time) Verdict
	Remember(m store.PolicyState)
	Recheck(n notify.Notification, now time.Time) Verdict
}

// PlannerOptions configure a Planner. The zero value is usable.
type PlannerOptions struct {
	// Policy is consulted before rows are planned. Default nil: every
	// flip is announced at once.
	Policy Policy
	// Now: default time.Now.
	Now func() time.Time
	// Logger: default slog.Default().
	Logger *slog.Logger
}

// Planner is the model.Planner that turns a flip into outbox rows, one
// per channel its check's Rules name for the flip. Register it with the
// engine as a planner (before the engine starts) and the Dispatcher as a
// listener. It
// is a store.UpdatePlanner: the Policy's memory of the flip is written
// with its rows. SetRules replaces the rules atomically (config reload).
// Safe for concurrent use.
type Planner struct {
	rules atomic.Pointer[map[model.CheckID]Rules]
	opts  PlannerOptions
	log   *slog.Logger
}

var _ store.UpdatePlanner = (*Planner)(nil)

// NewPlanner returns a Planner with rules by check id.
func NewPlanner(rules map[model.CheckID]Rules, opts PlannerOptions) *Planner {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Planner{opts: opts, log: opts.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.SetRules(rules)
	return p
}

// SetRules replaces every check's rules.
func (p *Planner) SetRules(rules map[model.CheckID]Rules) { p.rules.Store(&rules) }

// Plan implements model.Planner for engines that do not know
// UpdatePlanner: the Policy's memory is applied at once and not written.
func (p *Planner) Plan(t model.Transition) []model.Notification {
	var u store.Update
	if done := p.PlanUpdate(t, &u); done != nil {
		done()
	}
	return u.Notifications
}

// PlanUpdate implements store.UpdatePlanner: it appends the flip's rows
// to u and sets u.Policy to what the Policy remembers of the flip; the
// function returned hands that to the Policy once the flip is durable.
func (p *Planner) PlanUpdate(t model.Transition, u *store.Update) func() {
	rows, mem := p.plan(t)
	u.Notifications = append(u.Notifications, rows...)
	if mem == nil {
		return nil
	}
	u.Policy = mem
	pol, m := p.opts.Policy, *mem
	return func() { pol.Remember(m) }
}

func (p *Planner) plan(t model.Transition) ([]model.Notification, *store.PolicyState) {
	chans := (*p.rules.Load())[t.Check.ID].For(t.Flip.From, t.Flip.To)
	if len(chans) == 0 {
		return nil, nil
	}
	now := p.opts.Now()
	n := notify.FromTransition(t.Check, t.Flip)
	due := now
	var mem *store.PolicyState
	if p.opts.Policy != nil {
		v := p.opts.Policy.Decide(t, now)
		mem = v.Memory
		if v.Drop {
			p.log.Info("alert suppressed", "check", t.Check.Name, "unique_key", model.UniqueKey(t.Check.ID), "to", t.Flip.To, "reason", v.Reason)
			return nil, mem
		}
		if v.HoldUntil.After(now) {
			due, n.HeldUntil = v.HoldUntil, v.HoldUntil
			p.log.Info("alert held", "check", t.Check.Name, "unique_key", model.UniqueKey(t.Check.ID), "to", t.Flip.To, "until", v.HoldUntil, "reason", v.Reason)
		}
		n.Suppressed = v.Also
	}
	rows := make([]model.Notification, 0, len(chans))
	for _, c := range chans {
		n.Channel = c
		r, err := Row(n, now, due)
		if err != nil {
			p.log.Error("outbox: plan", "check", t.Check.Name, "unique_key", model.UniqueKey(t.Check.ID), "channel", c, "err", err)
			continue
		}
		rows = append(rows, r)
	}
	return rows, mem
}

// ErrUnknownChannel is wrapped when rules name a channel that is not configured.
var ErrUnknownChannel = errors.New("unknown notifier")

// CheckRules reports every channel that r names but known does not have
// (known reports whether a channel name is configured), as
// "actions.down[1]: unknown notifier "x"".
func CheckRules(r Rules, known func(name string) bool) error {
	var errs []error
	for _, l := range []struct {
		field string
		names []string
	}{{"down", r.Down}, {"up", r.Up}, {"flapping", r.Flapping}} {
		for i, n := range l.names {
			if !known(n) {
				errs = append(errs, fmt.Errorf("actions.%s[%d]: %w %q", l.field, i, ErrUnknownChannel, n))
			}
		}
	}
	return errors.Join(errs...)
}

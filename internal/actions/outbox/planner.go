package outbox

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

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
// per channel the flip's check names for it (t.Check.Routes.For(from,
// to)): every check carries its channels in its definition, whether it
// came from the config file, the API or a ?create=1 ping, and the engine
// hands the planner the definition in force when the check flips, so a
// change of a check's channels applies from its next flip. A channel that
// is not configured still gets its row: the Dispatcher fails it with
// ErrUnknownChannel, so the flip's actions show the alert that could not
// be sent rather than nothing. Register it with the engine as a planner
// (before the engine starts) and the Dispatcher as a listener. It is a
// store.UpdatePlanner: the Policy's memory of the flip is written with its
// rows. Safe for concurrent use.
type Planner struct {
	opts PlannerOptions
	log  *slog.Logger
}

var _ store.UpdatePlanner = (*Planner)(nil)

// NewPlanner returns a Planner.
func NewPlanner(opts PlannerOptions) *Planner {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Planner{opts: opts, log: opts.Logger}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p
}

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
	chans := t.Check.Routes.For(t.Flip.From, t.Flip.To)
	if len(chans) == 0 {
		return nil, nil
	}
	now := p.opts.Now()
	n := notify.FromTransition(t.Check, t.Flip)
	n.PreviousSince = t.FromSince
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

// ErrUnknownChannel is wrapped when routes name a channel that is not
// configured: by CheckRoutes, and by the Dispatcher's failure of a row for
// such a channel.
var ErrUnknownChannel = errors.New("unknown notifier")

// CheckRoutes reports every channel that r names but known does not have
// (known reports whether a channel name is configured), as
// "actions.down[1]: unknown notifier "x"".
func CheckRoutes(r model.Routes, known func(name string) bool) error {
	var errs []error
	for _, l := range []struct {
		field string
		names []string
	}{{"down", r.Down}, {"up", r.Up}, {"flapping", r.Flapping}, {"late", r.Late}, {"cert", r.Cert}} {
		for i, n := range l.names {
			if !known(n) {
				errs = append(errs, fmt.Errorf("actions.%s[%d]: %w %q", l.field, i, ErrUnknownChannel, n))
			}
		}
	}
	return errors.Join(errs...)
}

package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/actions"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/model"
)

// Maintenance is a maintenance window: while it is open, the
// notifications of the checks it covers are held back (monitoring goes
// on); what is still down when it closes is announced then. One-off
// (start, end) or recurring (cron, duration, tz).
type Maintenance struct {
	// Name is for logs. Optional.
	Name string `yaml:"name"`
	// Checks (by name) and Tags select the checks covered; both empty:
	// every check.
	Checks []string `yaml:"checks"`
	Tags   []string `yaml:"tags"`
	// Start and End bound a one-off window (RFC 3339 times).
	Start time.Time `yaml:"start"`
	End   time.Time `yaml:"end"`
	// Cron (5 fields) starts a recurring window of Duration, in TZ
	// (default UTC).
	Cron     string   `yaml:"cron"`
	Duration Duration `yaml:"duration"`
	TZ       string   `yaml:"tz"`
}

// StatusPage configures the HTML status page at /status/.
type StatusPage struct {
	// Public shows a read-only view (no secrets: no ping URLs, no error
	// texts) to anonymous visitors. Default false: an API key is needed.
	Public bool `yaml:"public"`
	// PublicTag limits the public view to checks with this tag. Default
	// "": every check.
	PublicTag string `yaml:"public_tag"`
	// Title heads the page. Default "Status".
	Title string `yaml:"title"`
}

// Notifiers is the notifier registry the loader decodes the notifiers
// section with: the kinds it knows, and for each a spec to decode into and
// validate. *notify.Registry implements it; the daemon passes the one it
// builds its channels with, so a kind registered there is known here.
type Notifiers interface {
	// Kinds returns the registered kind names, sorted.
	Kinds() []string
	// Has reports whether kind is registered.
	Has(kind string) bool
	// Decode returns a fresh spec of kind, filled by decode and validated.
	Decode(kind string, decode func(v any) error) (notify.Spec, error)
}

var _ Notifiers = (*notify.Registry)(nil)

// LoadOptions configure Load and Parse. The zero value is usable.
type LoadOptions struct {
	// Notifiers knows the notifier kinds. Default notify.NewRegistry():
	// the built-in kinds.
	Notifiers Notifiers
}

func (o LoadOptions) notifiers() Notifiers {
	if o.Notifiers == nil {
		return notify.NewRegistry()
	}
	return o.Notifiers
}

// notifiers decodes the notifiers section: a mapping of channel name to a
// mapping with one key, the kind, whose value is decoded strictly into the
// kind's spec (the loader's Notifiers) and validated.
func (l *loader) notifiers(c *Config) map[string]notify.Spec {
	n := &c.Notifiers
	if n.IsZero() || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		l.errorf("notifiers", "expected a mapping of channel name to {kind: {...}}")
		return nil
	}
	reg := l.kinds
	specs := map[string]notify.Spec{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, v := n.Content[i].Value, n.Content[i+1]
		path := "notifiers." + name
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if v.Kind != yaml.MappingNode || len(v.Content) != 2 {
			l.errorf(path, "expected one kind: %s: {...}", strings.Join(reg.Kinds(), ", "))
			continue
		}
		kind, body := v.Content[0].Value, v.Content[1]
		if !reg.Has(kind) {
			l.errs = append(l.errs, &Error{File: l.file, Line: v.Content[0].Line, Path: path + "." + kind, Msg: "unknown notifier kind (known: " + strings.Join(reg.Kinds(), ", ") + ")"})
			continue
		}
		path += "." + kind
		nerr := len(l.errs)
		spec, err := reg.Decode(kind, func(dst any) error {
			l.walk(body, reflect.TypeOf(dst), path)
			return body.Decode(dst)
		})
		if len(l.errs) > nerr {
			continue
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			l.yamlError(err)
			continue
		}
		if err == nil {
			err = spec.Validate()
		}
		if err != nil {
			l.subErrors(path, err)
			continue
		}
		specs[name] = spec
	}
	return specs
}

// subErrors records errors of the form "field: message" under path.
func (l *loader) subErrors(path string, err error) {
	for _, e := range model.Flatten(err) {
		field, msg, ok := strings.Cut(e.Error(), ": ")
		if ok && !strings.ContainsAny(field, " \"") {
			sep := "."
			if strings.HasPrefix(field, "[") {
				sep = ""
			}
			l.errorf(path+sep+field, "%s", msg)
		} else {
			l.errorf(path, "%s", e.Error())
		}
	}
}

// buildActions resolves the actions part of the config, once the checks
// are built (rules and parents name checks).
func (l *loader) buildActions(c *Config) {
	nerr := len(l.errs)
	specs := l.notifiers(c)
	ids := map[string]model.CheckID{}
	for _, cc := range c.Checks {
		if _, dup := ids[cc.Name]; cc.Name != "" && !dup {
			ids[cc.Name] = idOf(cc)
		}
	}
	a := actions.Config{Notifiers: specs, Processes: c.Processes, Rules: map[model.CheckID]outbox.Rules{}, Parents: map[model.CheckID][]model.CheckID{}, DependencyDelay: c.DependencyDelay.D()}
	procs := map[string]int{}
	for i, p := range c.Processes {
		path := fmt.Sprintf("processes[%d]", i)
		if err := p.Validate(); err != nil {
			l.subErrors(path, err)
		}
		if prev, dup := procs[p.Name]; dup && p.Name != "" {
			l.errorf(path+".name", "%q is also the name of processes[%d]", p.Name, prev)
		}
		procs[p.Name] = i
	}
	known := func(name string) bool { _, ok := specs[name]; return ok }
	for i, cc := range c.Checks {
		path := fmt.Sprintf("checks[%d]", i)
		id, ok := ids[cc.Name]
		if !ok {
			continue
		}
		if cc.Actions != nil {
			if err := outbox.CheckRules(*cc.Actions, known); err != nil {
				l.subErrors(path, err)
			}
			a.Rules[id] = *cc.Actions
		}
		for j, p := range cc.Parents {
			pid, ok := ids[p]
			switch {
			case !ok:
				l.errorf(fmt.Sprintf("%s.parents[%d]", path, j), "no check named %q", p)
			case p == cc.Name:
				l.errorf(fmt.Sprintf("%s.parents[%d]", path, j), "a check cannot be its own parent")
			default:
				a.Parents[id] = append(a.Parents[id], pid)
			}
		}
	}
	for i, m := range c.Maintenance {
		path := fmt.Sprintf("maintenance[%d]", i)
		w := policy.Window{Name: m.Name, Tags: m.Tags, Start: m.Start, End: m.End, Cron: m.Cron, Duration: m.Duration.D(), TZ: m.TZ}
		for j, name := range m.Checks {
			id, ok := ids[name]
			if !ok {
				l.errorf(fmt.Sprintf("%s.checks[%d]", path, j), "no check named %q", name)
				continue
			}
			w.Checks = append(w.Checks, id)
		}
		if err := w.Validate(); err != nil {
			l.subErrors(path, err)
		}
		a.Windows = append(a.Windows, w)
	}
	for name, sp := range specs {
		if p, ok := sp.(*notify.ProcessConfig); ok {
			if _, ok := procs[p.Name]; !ok {
				l.errorf("notifiers."+name+".process.name", "no process named %q in processes", p.Name)
			}
		}
	}
	if len(l.errs) == nerr {
		// What the checks above do not cover, without a line.
		if err := actions.Validate(a); err != nil {
			for _, e := range model.Flatten(err) {
				l.errorf("", "%v", e)
			}
		}
	}
	c.actions = a
}

// idOf returns the id a config check gets (its id, or the provisional
// LegacyCheckID of its name, see IDs).
func idOf(cc Check) model.CheckID {
	if cc.ID != "" {
		if id, err := model.ParseCheckID(cc.ID); err == nil {
			return id
		}
	}
	return LegacyCheckID(cc.Name)
}

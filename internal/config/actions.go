package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/actions"
	"github.com/vitals-go/vitals/internal/actions/notify"
	"github.com/vitals-go/vitals/internal/actions/outbox"
	"github.com/vitals-go/vitals/internal/actions/policy"
	"github.com/vitals-go/vitals/internal/clip"
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

// NotifierOptions are the keys a notifier takes beside its one kind key
// (`ops: {id: ..., webhook: {...}}`), decoded strictly like the rest of
// the file. A key added here is known to the loader at once: the kind is
// whichever key is not one of these.
type NotifierOptions struct {
	// ID pins the channel's id (a UUID), as healthchecks.io's API shows
	// it and its clients store it: set it to keep the id a channel had
	// elsewhere (an import) or across a rename. Unique across notifiers.
	// Default: DeriveChannelID of the installation's secret and the
	// notifier's name.
	ID string `yaml:"id"`
	// Template is the text/template the notifier's messages are rendered
	// with (kinds that send text: slack, email, url), checked at load
	// with a sample rendering of every event; docs/actions.md lists its
	// data. Default "": the default text of each event.
	Template string `yaml:"template"`
	// Storm sets the channel's alert-storm protection: beyond Threshold
	// notifications within Window, the rest are sent as digests (see
	// notify.Storm). Default: notify.StormFor the kind (ten a minute for
	// the kinds that tell people, none for webhook and for the actions
	// docker, exec and process, which refuse it). `threshold: 0` turns it
	// off.
	Storm *StormOptions `yaml:"storm"`
}

// StormOptions are a notifier's `storm:` key.
type StormOptions struct {
	// Threshold: notifications sent one by one within Window; 0 off.
	// Default notify.DefaultStorm's.
	Threshold *int `yaml:"threshold"`
	// Window: default notify.DefaultStorm's (1m).
	Window Duration `yaml:"window"`
}

var notifierOptionsType = reflect.TypeOf(NotifierOptions{})

// notifiers decodes the notifiers section: a mapping of channel name to a
// mapping of one kind key, whose value is decoded strictly into the kind's
// spec (the loader's Notifiers) and validated, and the NotifierOptions
// keys beside it.
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
	ids := map[uuid.UUID]string{} // pinned id → the notifier that pins it
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, v := n.Content[i].Value, n.Content[i+1]
		path := "notifiers." + name
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if v.Kind != yaml.MappingNode {
			l.errorf(path, "expected one kind: %s: {...}", strings.Join(reg.Kinds(), ", "))
			continue
		}
		kind, body, opts, ok := l.notifierKeys(v, path)
		if !ok {
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
		if opts != nil && !l.notifierOptions(c, name, kind, spec, opts, ids) {
			continue
		}
		specs[name] = spec
		if _, set := c.actions.Storms[name]; !set {
			if s := notify.StormFor(kind, spec); s.Enabled() {
				if c.actions.Storms == nil {
					c.actions.Storms = map[string]notify.Storm{}
				}
				c.actions.Storms[name] = s
			}
		}
		if c.notifierKinds == nil {
			c.notifierKinds = map[string]string{}
		}
		c.notifierKinds[name] = kind
	}
	return specs
}

// notifierKeys splits the notifier mapping v into its kind (the one key
// that is not a NotifierOptions field) with the kind's body, and a
// mapping of the option keys (nil when there are none). ok is false when
// it recorded an error.
func (l *loader) notifierKeys(v *yaml.Node, path string) (kind string, body, opts *yaml.Node, ok bool) {
	reg := l.kinds
	var kinds []*yaml.Node // key, value pairs that are not options
	for j := 0; j+1 < len(v.Content); j += 2 {
		k := v.Content[j]
		if _, isOpt := fieldByTag(notifierOptionsType, k.Value); isOpt {
			if opts == nil {
				opts = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column}
			}
			opts.Content = append(opts.Content, k, v.Content[j+1])
			continue
		}
		kinds = append(kinds, k, v.Content[j+1])
	}
	known := strings.Join(reg.Kinds(), ", ")
	switch {
	case len(kinds) == 0:
		l.errorf(path, "expected one kind: %s: {...}", known)
		return "", nil, nil, false
	case len(kinds) > 2:
		// Name the keys that are no kind; several kinds is its own error.
		var nkinds int
		for j := 0; j < len(kinds); j += 2 {
			if reg.Has(kinds[j].Value) {
				nkinds++
				continue
			}
			l.errs = append(l.errs, &Error{File: l.file, Line: kinds[j].Line, Path: path + "." + kinds[j].Value,
				Msg: "unknown field (a notifier has one kind: " + known + "; and may set " + strings.Join(optionKeys(), ", ") + ")"})
		}
		if nkinds > 1 {
			l.errorf(path, "has several kinds: a notifier has exactly one")
		}
		return "", nil, nil, false
	}
	if !reg.Has(kinds[0].Value) {
		l.errs = append(l.errs, &Error{File: l.file, Line: kinds[0].Line, Path: path + "." + kinds[0].Value, Msg: "unknown notifier kind (known: " + known + ")"})
		return "", nil, nil, false
	}
	return kinds[0].Value, kinds[1], opts, true
}

// optionKeys returns the keys of NotifierOptions.
func optionKeys() []string {
	var out []string
	for i := range notifierOptionsType.NumField() {
		tag, _, _ := strings.Cut(notifierOptionsType.Field(i).Tag.Get("yaml"), ",")
		out = append(out, tag)
	}
	return out
}

// notifierOptions decodes and checks the option keys of the notifier
// name (opts, a mapping) and records them on c, or on spec (of kind).
// ids holds the ids pinned so far, by notifier. It reports whether they
// were valid.
func (l *loader) notifierOptions(c *Config, name, kind string, spec notify.Spec, opts *yaml.Node, ids map[uuid.UUID]string) bool {
	path := "notifiers." + name
	nerr := len(l.errs)
	var o NotifierOptions
	l.walk(opts, notifierOptionsType, path)
	if err := opts.Decode(&o); err != nil {
		l.yamlError(err)
	}
	if len(l.errs) > nerr {
		return false
	}
	if o.ID != "" {
		id, err := uuid.Parse(o.ID)
		switch {
		case err != nil || len(o.ID) != 36:
			l.errorf(path+".id", "%q is not a UUID (8-4-4-4-12 hex digits)", clip.Text(o.ID, 60))
		case id == uuid.Nil:
			l.errorf(path+".id", "must be a non-nil UUID")
		case ids[id] != "":
			l.errorf(path+".id", "%s is also the id of notifiers.%s", id, ids[id])
		default:
			ids[id] = name
			if c.notifierIDs == nil {
				c.notifierIDs = map[string]uuid.UUID{}
			}
			c.notifierIDs[name] = id
		}
	}
	if o.Template != "" {
		t, ok := spec.(notify.Templater)
		if !ok {
			l.errorf(path+".template", "the %s kind sends no text for people: it takes no template", kind)
		} else if _, err := notify.ParseTemplate(o.Template); err != nil {
			l.errorf(path+".template", "%v", err)
		} else {
			t.SetTemplate(o.Template)
		}
	}
	if o.Storm != nil {
		l.stormOption(c, name, kind, *o.Storm)
	}
	return len(l.errs) == nerr
}

// stormOption checks the notifier name's `storm:` and records it on c.
func (l *loader) stormOption(c *Config, name, kind string, o StormOptions) {
	path := "notifiers." + name + ".storm"
	s := notify.DefaultStorm
	if o.Threshold != nil {
		s.Threshold = *o.Threshold
	}
	if o.Window != 0 {
		s.Window = o.Window.D()
	}
	if slices.Contains(model.ActionKinds, kind) {
		l.errorf(path, "not for %s: an action (%s) acts on every check it is asked to, one by one; a digest would skip the restarts", kind, strings.Join(model.ActionKinds, ", "))
		return
	}
	if err := s.Validate(); err != nil {
		l.subErrors(path, err)
		return
	}
	if c.actions.Storms == nil {
		c.actions.Storms = map[string]notify.Storm{}
	}
	c.actions.Storms[name] = s // a zero threshold: off, and no default either
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
// are built (parents name checks), and checks that every check's actions
// name configured notifiers.
func (l *loader) buildActions(c *Config) {
	nerr := len(l.errs)
	specs := l.notifiers(c)
	ids := map[string]model.CheckID{}
	for _, cc := range c.Checks {
		if _, dup := ids[cc.Name]; cc.Name != "" && !dup {
			ids[cc.Name] = idOf(cc)
		}
	}
	a := actions.Config{Notifiers: specs, Storms: c.actions.Storms, Processes: c.Processes, Parents: map[model.CheckID][]model.CheckID{}, DependencyDelay: c.DependencyDelay.D()}
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
	l.checkChannelSet("pings.channels", *c.Pings.Channels, known)
	for i, cc := range c.Checks {
		path := fmt.Sprintf("checks[%d]", i)
		id, ok := ids[cc.Name]
		if !ok {
			continue
		}
		if cc.Actions != nil {
			if err := outbox.CheckRoutes(*cc.Actions, known); err != nil {
				l.subErrors(path, err)
			}
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

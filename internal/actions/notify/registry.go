package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"

	"github.com/vitals-go/vitals/internal/model"
)

// Spec is the configuration of one channel of some kind: a pointer to a
// struct with yaml (and json) tags that the config loader decodes into
// (strictly), then validates, then builds.
type Spec interface {
	// Validate reports every problem, joined, each naming its field
	// relative to the channel ("url: required").
	Validate() error
	// Build returns the configured Notifier. It may fail for reasons
	// Validate cannot see (a supervised process that is not registered).
	Build(d Deps) (Notifier, error)
}

// Deps are what building a channel may need from the daemon. The zero value
// is usable: nil fields get defaults.
type Deps struct {
	// HTTPClient is used by HTTP notifiers. Default: a client that does
	// not follow redirects (deadlines come from each attempt's context).
	HTTPClient *http.Client
	// Processes resolves the "process" kind's process names (the daemon's
	// supervised processes). Default none: a "process" channel then fails
	// to build.
	Processes func(name string) (Restarter, bool)
	// Raise sends a notification that no flip caused (a restart action's
	// "gave up") to the named channels; the daemon sets it to
	// Dispatcher.Raise. Default none: giving up is only recorded on the row.
	Raise func(n Notification, channels []string)
	// CheckURL returns the absolute URL of a check's page on the status
	// page, for links in messages (never containing the check's UUID, the
	// secret of its ping URL). Default none: messages carry no link.
	CheckURL func(id model.CheckID) string
	// StatusURL returns the absolute URL of the status page's overview,
	// which digests link to (every check of an alert storm is listed
	// there). Default none: digests carry no link.
	StatusURL func() string
	// Firing lists the checks whose alert on the channel being built is
	// firing: down or flapping, routed to the channel for that status,
	// and not dropped or held by the alert policy. actions.System sets it
	// for each channel (from SystemOptions.Checks). The alertmanager kind
	// re-sends them (after a restart too). Default none: a notifier knows
	// only what it sent since it was built.
	Firing func() []model.CheckState
	// Logger: default slog.Default().
	Logger *slog.Logger
}

// Link returns d.CheckURL(id), or "" when it is not set.
func (d Deps) Link(id model.CheckID) string {
	if d.CheckURL == nil {
		return ""
	}
	return d.CheckURL(id)
}

// Registry knows every channel kind: the single place where kinds are
// registered, and what config validation asks. Safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]func() Spec
}

// ErrUnknownKind is wrapped when no kind is registered under a name.
var ErrUnknownKind = errors.New("unknown notifier kind")

// NewRegistry returns a registry with the built-in kinds: "webhook",
// "slack", "email", "pagerduty", "opsgenie", "alertmanager", "docker",
// "exec" and "process".
func NewRegistry() *Registry {
	r := &Registry{kinds: map[string]func() Spec{}}
	r.Register("webhook", func() Spec { return new(WebhookConfig) })
	r.Register("slack", func() Spec { return new(SlackConfig) })
	r.Register("email", func() Spec { return new(EmailConfig) })
	r.Register("pagerduty", func() Spec { return new(PagerDutyConfig) })
	r.Register("opsgenie", func() Spec { return new(OpsgenieConfig) })
	r.Register("docker", func() Spec { return new(DockerConfig) })
	r.Register("exec", func() Spec { return new(ExecConfig) })
	r.Register("process", func() Spec { return new(ProcessConfig) })
	r.Register("alertmanager", func() Spec { return new(AlertmanagerConfig) })
	return r
}

// Register adds a kind: newSpec returns a fresh, zero Spec to decode into.
// It panics when the name is taken or empty: registration happens at
// program start, and a duplicate is a programming error.
func (r *Registry) Register(kind string, newSpec func() Spec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if kind == "" || r.kinds[kind] != nil {
		panic(fmt.Sprintf("actions: kind %q registered twice or empty", kind))
	}
	r.kinds[kind] = newSpec
}

// Kinds returns the registered kind names, sorted.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ks := make([]string, 0, len(r.kinds))
	for k := range r.kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Has reports whether kind is registered.
func (r *Registry) Has(kind string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.kinds[kind] != nil
}

// New returns a fresh Spec of kind to decode a channel's config into, or
// an error wrapping ErrUnknownKind that lists the known kinds.
func (r *Registry) New(kind string) (Spec, error) {
	r.mu.RLock()
	f := r.kinds[kind]
	r.mu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownKind, kind, r.Kinds())
	}
	return f(), nil
}

// Decode builds a Spec of kind with decode (for example a strict YAML
// decoder's Decode bound to the channel's node) and validates it.
func (r *Registry) Decode(kind string, decode func(v any) error) (Spec, error) {
	s, err := r.New(kind)
	if err != nil {
		return nil, err
	}
	if err := decode(s); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// Channels are the configured channels by name, each a built Notifier.
type Channels map[string]Notifier

// Names returns the channel names, sorted.
func (c Channels) Names() []string {
	ns := make([]string, 0, len(c))
	for n := range c {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// Build builds every channel of specs (by name) with d; errors name the
// channel and are joined. Specs of kind "process" need d.Processes.
func Build(specs map[string]Spec, d Deps) (Channels, error) {
	ch := Channels{}
	var errs []error
	names := make([]string, 0, len(specs))
	for name := range specs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n, err := specs[name].Build(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("notifiers.%s: %w", name, err))
			continue
		}
		ch[name] = n
	}
	return ch, errors.Join(errs...)
}

package model

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Channel is one notification channel: a notifier of the config file,
// seen as healthchecks.io's API shows an integration. Its ID is stable
// across reloads and restarts (the config's id, or one derived from the
// name with the installation's secret), so API clients may store it.
type Channel struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	// Kind is the notifier's kind ("webhook", "slack", "docker", ...).
	Kind string `json:"kind"`
}

// Routes are the channels a check's flips go to, by name, by the flip's
// new status. A flip to up is announced only when it ends a down or
// flapping period (a new check coming up, or a resume, is not news). Every
// check carries its Routes in its definition, however it was made: the
// config file's actions, the API's channels, or the ping key's defaults
// for an auto-created check.
type Routes struct {
	Down     []string `yaml:"down" json:"down,omitempty"`
	Up       []string `yaml:"up" json:"up,omitempty"`
	Flapping []string `yaml:"flapping" json:"flapping,omitempty"`
	// Late are told when the check becomes late: past its due time,
	// within its grace time, not down yet (an opt-in notice, not a flip;
	// see actions.LateNotices). Default none.
	Late []string `yaml:"late" json:"late,omitempty"`
	// Cert are told, once per certificate, when a pull check's TLS
	// certificate enters its notice period (cert_notice, with
	// min_cert_validity; see actions.System.CertNotice). Default none.
	Cert []string `yaml:"cert" json:"cert,omitempty"`
}

// RouteAll returns Routes that send every announced flip (down, up,
// flapping) to each of names, as healthchecks.io's channels do.
func RouteAll(names []string) Routes {
	if len(names) == 0 {
		return Routes{}
	}
	n := slices.Clone(names)
	return Routes{Down: n, Up: slices.Clone(n), Flapping: slices.Clone(n)}
}

// For returns the channels for a flip from → to.
func (r Routes) For(from, to Status) []string {
	switch to {
	case StatusDown:
		return r.Down
	case StatusFlapping:
		return r.Flapping
	case StatusUp:
		if from == StatusDown || from == StatusFlapping {
			return r.Up
		}
	}
	return nil
}

// Names returns every channel named by r, sorted, without repeats.
func (r Routes) Names() []string {
	all := slices.Concat(r.Down, r.Up, r.Flapping, r.Late, r.Cert)
	slices.Sort(all)
	return slices.Compact(all)
}

// IsZero reports whether r names no channel.
func (r Routes) IsZero() bool {
	return len(r.Down)+len(r.Up)+len(r.Flapping)+len(r.Late)+len(r.Cert) == 0
}

// Equal reports whether r and o name the same channels for each event.
func (r Routes) Equal(o Routes) bool {
	return slices.Equal(r.Down, o.Down) && slices.Equal(r.Up, o.Up) && slices.Equal(r.Flapping, o.Flapping) && slices.Equal(r.Late, o.Late) && slices.Equal(r.Cert, o.Cert)
}

// Filters are healthchecks.io's keyword filters of a check (e-mail subject
// and body, HTTP body). Vitals accepts and keeps them, so that a check
// moved over keeps its definition, but they have no effect: a ping's kind
// comes from its URL only (docs/api.md, "Compatibility").
type Filters struct {
	StartKW           string `json:"start_kw,omitempty"`
	SuccessKW         string `json:"success_kw,omitempty"`
	FailureKW         string `json:"failure_kw,omitempty"`
	FilterSubject     bool   `json:"filter_subject,omitempty"`
	FilterBody        bool   `json:"filter_body,omitempty"`
	FilterHTTPBody    bool   `json:"filter_http_body,omitempty"`
	FilterDefaultFail bool   `json:"filter_default_fail,omitempty"`
}

// ActionKinds are the notifier kinds that act on systems (restart a
// container or a process, run a command) rather than tell people. "*"
// (every channel) leaves them out: an action must be named.
var ActionKinds = []string{"docker", "exec", "process"}

// IsAction reports whether c acts on a system (its Kind is one of
// ActionKinds) rather than telling people.
func (c Channel) IsAction() bool { return slices.Contains(ActionKinds, c.Kind) }

// ErrChannelSpec is wrapped by every error of ParseChannelSpec.
var ErrChannelSpec = errors.New("invalid channels")

// ParseChannelSpec resolves healthchecks.io's "channels" value against the
// configured channels: "*" is every channel that is not an action (see
// ActionKinds), "" is none, anything else a comma-separated list of channel
// ids or names, each matching exactly one channel. It returns the channel
// names, sorted, without repeats. Its errors are healthchecks.io's
// ("empty channel identifier", "invalid channel identifier: x",
// "non-unique channel identifier: x"), each wrapping ErrChannelSpec.
func ParseChannelSpec(spec string, all []Channel) ([]string, error) {
	var names []string
	switch spec {
	case "":
		return nil, nil
	case "*":
		for _, c := range all {
			if !c.IsAction() {
				names = append(names, c.Name)
			}
		}
	default:
		for s := range strings.SplitSeq(spec, ",") {
			if s == "" {
				return nil, fmt.Errorf("%w: empty channel identifier", ErrChannelSpec)
			}
			var match []string
			for _, c := range all {
				if c.Name == s || c.ID.String() == strings.ToLower(s) {
					match = append(match, c.Name)
				}
			}
			switch len(match) {
			case 0:
				return nil, fmt.Errorf("%w: invalid channel identifier: %s", ErrChannelSpec, clipIdent(s))
			case 1:
				names = append(names, match[0])
			default:
				return nil, fmt.Errorf("%w: non-unique channel identifier: %s", ErrChannelSpec, clipIdent(s))
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// clipIdent bounds an identifier echoed in an error.
func clipIdent(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return strconv.Quote(s)
}

// RouteWarnings says what is wrong with the channels of c, given the
// configured channels: none at all (the check never alerts), or names that
// are not configured (their alerts fail). Empty when nothing is.
func (c Check) RouteWarnings(all []Channel) []string {
	names := c.Routes.Names()
	if len(names) == 0 {
		return []string{"no channels: this check never alerts"}
	}
	var out []string
	for _, n := range names {
		if !slices.ContainsFunc(all, func(ch Channel) bool { return ch.Name == n }) {
			out = append(out, fmt.Sprintf("channel %q is not configured: its alerts fail", n))
		}
	}
	return out
}

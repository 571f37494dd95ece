package config

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/model"
)

// ChannelSet names channels the way pings.channels does: "*" (every
// channel that is not an action, see model.ActionKinds), "" (none), or a
// list of notifier names. The zero value is "".
type ChannelSet struct {
	// Spec is "*" or "" when the set was written as a string.
	Spec string
	// Names are the notifiers of a set written as a list; List says it was.
	Names []string
	List  bool
}

// AllChannels is pings.channels' default: every channel but the actions,
// as healthchecks.io gives every integration to the checks it
// auto-provisions.
var AllChannels = ChannelSet{Spec: "*"}

// UnmarshalYAML implements yaml.Unmarshaler: a string, or a list of
// strings.
func (s *ChannelSet) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = ChannelSet{Spec: n.Value}
		if n.ShortTag() == "!!null" {
			s.Spec = ""
		}
		return nil
	case yaml.SequenceNode:
		var names []string
		if err := n.Decode(&names); err != nil {
			return err
		}
		*s = ChannelSet{Names: names, List: true}
		return nil
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d col %d: expected \"*\", \"\" or a list of notifier names", n.Line, n.Column)}}
}

// MarshalYAML implements yaml.Marshaler.
func (s ChannelSet) MarshalYAML() (any, error) {
	if s.List {
		return s.Names, nil
	}
	return s.Spec, nil
}

// Resolve returns the names of the channels of all that s names, sorted,
// without repeats: "*" and "" as model.ParseChannelSpec expands them, a
// list by exact names (the loader checked they are notifiers of the
// config; a name all lacks is an error wrapping model.ErrChannelSpec).
func (s ChannelSet) Resolve(all []model.Channel) ([]string, error) {
	if !s.List {
		return model.ParseChannelSpec(s.Spec, all)
	}
	names := make([]string, 0, len(s.Names))
	for _, n := range s.Names {
		if !slices.ContainsFunc(all, func(c model.Channel) bool { return c.Name == n }) {
			return nil, fmt.Errorf("%w: no notifier named %q", model.ErrChannelSpec, n)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// checkChannelSet records the problems of s, at path, given the
// configured notifiers (known).
func (l *loader) checkChannelSet(path string, s ChannelSet, known func(string) bool) {
	if !s.List {
		if s.Spec != "*" && s.Spec != "" {
			l.errorf(path, "%q must be \"*\" (every notifier but the actions), \"\" (none) or a list of notifier names", s.Spec)
		}
		return
	}
	for i, n := range s.Names {
		if !known(n) {
			l.errorf(fmt.Sprintf("%s[%d]", path, i), "unknown notifier %q", n)
		}
	}
}

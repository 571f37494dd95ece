package config

import (
	"cmp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vitals-go/vitals/internal/model"
)

// Values from the environment (${NAME}) are secrets: API keys, passwords
// in probe headers and URLs, tokens in command environments. The loader
// remembers which scalar took which value, so that
//
//   - each model check carries the values of its own definition in
//     model.Check.Secrets (kept in memory; the store writes
//     model.Check.Redacted, where each value is its ${NAME} again), and
//   - no error message echoes one: every value is replaced by its ${NAME}
//     in every Error.
//
// A ${NAME:-default} that took its default takes nothing from the
// environment: the default is written in the file.

// secret records that the scalar n took value from the variable name.
func (l *loader) secret(n *yaml.Node, name, value string) {
	if value == "" {
		return
	}
	if l.secrets == nil {
		l.secrets = map[*yaml.Node][]model.Secret{}
	}
	l.secrets[n] = append(l.secrets[n], model.Secret{Name: name, Value: value})
}

// minClipped is the shortest prefix of a secret the scrubber recognises
// in a quoted value cut short ("prefix...").
const minClipped = 4

// scrubber replaces every value taken from the environment by its
// ${NAME}, longest first.
func (l *loader) scrubber() *strings.Replacer {
	var all []model.Secret
	for _, ss := range l.secrets {
		all = append(all, ss...)
	}
	slices.SortFunc(all, func(a, b model.Secret) int {
		return cmp.Or(cmp.Compare(len(b.Value), len(a.Value)), strings.Compare(a.Value, b.Value))
	})
	pairs := make([]string, 0, 2*len(all))
	for _, s := range all {
		pairs = append(pairs, s.Value, s.Placeholder())
	}
	// A message may quote a value cut short (clip.Text: a prefix and
	// "..."): each cut form is replaced too, longest first, after the
	// whole values.
	var cut []model.Secret
	for _, s := range all {
		for n := len(s.Value) - 1; n >= minClipped; n-- {
			cut = append(cut, model.Secret{Name: s.Name, Value: s.Value[:n] + "..."})
		}
	}
	slices.SortStableFunc(cut, func(a, b model.Secret) int { return cmp.Compare(len(b.Value), len(a.Value)) })
	for _, s := range cut {
		pairs = append(pairs, s.Value, s.Placeholder())
	}
	return strings.NewReplacer(pairs...)
}

// checkSecrets returns the values from the environment in the definition
// of checks[i] (following aliases and merge keys), and in pings.ping_key
// when the check uses it.
func (l *loader) checkSecrets(i int, globalPingKey bool) []model.Secret {
	if len(l.secrets) == 0 {
		return nil
	}
	var out []model.Secret
	seen := map[*yaml.Node]bool{}
	if list := deref(mappingValue(l.root, "checks")); list != nil && list.Kind == yaml.SequenceNode && i < len(list.Content) {
		l.collectSecrets(list.Content[i], seen, &out)
	}
	if globalPingKey {
		l.collectSecrets(mappingValue(deref(mappingValue(l.root, "pings")), "ping_key"), seen, &out)
	}
	slices.SortFunc(out, func(a, b model.Secret) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Value, b.Value))
	})
	return slices.Compact(out)
}

func (l *loader) collectSecrets(n *yaml.Node, seen map[*yaml.Node]bool, out *[]model.Secret) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	*out = append(*out, l.secrets[n]...)
	if n.Kind == yaml.AliasNode {
		l.collectSecrets(n.Alias, seen, out)
	}
	for _, c := range n.Content {
		l.collectSecrets(c, seen, out)
	}
}

// mappingValue returns the value of key in the mapping m (nil if absent).
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

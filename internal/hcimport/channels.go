package hcimport

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// channelMapper maps the source's channels onto the destination's, by
// name or through the channel map, and remembers which checks used the
// channels that have no counterpart.
type channelMapper struct {
	dest     map[string]string // lower-case destination id -> its id as listed
	destName map[string][]string
	src      map[string]Channel // lower-case source id -> channel
	target   map[string]string  // lower-case source id -> destination name or id looked up
	resolved map[string]string  // lower-case source id -> destination id; absent: unmapped
	used     map[string][]string
	warnings []string
}

func newChannelMapper(in Input) *channelMapper {
	m := &channelMapper{
		dest: map[string]string{}, destName: map[string][]string{}, src: map[string]Channel{},
		target: map[string]string{}, resolved: map[string]string{}, used: map[string][]string{},
	}
	for _, c := range in.DestChannels {
		m.dest[strings.ToLower(strings.TrimSpace(c.ID))] = strings.TrimSpace(c.ID)
		m.destName[c.Name] = append(m.destName[c.Name], strings.TrimSpace(c.ID))
	}
	matched := map[string]bool{}
	for _, c := range in.SourceChannels {
		id := strings.ToLower(strings.TrimSpace(c.ID))
		if _, dup := m.src[id]; dup {
			continue
		}
		m.src[id] = c
		target := c.Name
		if k, ok := mapEntry(in.ChannelMap, c); ok {
			target, matched[k] = in.ChannelMap[k], true
		}
		m.target[id] = target
		if d, ok := m.lookup(target); ok {
			m.resolved[id] = d
		} else if target != c.Name {
			m.warnings = append(m.warnings, fmt.Sprintf("--channel-map %s=%s: the destination has no channel of that name or id (or more than one)",
				clipText(channelName(c)), clipText(target)))
		}
	}
	for k := range in.ChannelMap {
		if !matched[k] {
			m.warnings = append(m.warnings, fmt.Sprintf("--channel-map %s: the source has no channel of that name or id", clipText(k)))
		}
	}
	slices.Sort(m.warnings)
	return m
}

// mapEntry finds the channel map's key for c: its id (in any case), else
// its name.
func mapEntry(cmap map[string]string, c Channel) (string, bool) {
	for k := range cmap {
		if strings.EqualFold(strings.TrimSpace(k), strings.TrimSpace(c.ID)) {
			return k, true
		}
	}
	if _, ok := cmap[c.Name]; ok && c.Name != "" {
		return c.Name, true
	}
	return "", false
}

// lookup finds a destination channel by id, else by its unique name.
func (m *channelMapper) lookup(target string) (string, bool) {
	if target == "" {
		return "", false
	}
	if id, ok := m.dest[strings.ToLower(strings.TrimSpace(target))]; ok {
		return strings.ToLower(id), true
	}
	if ids := m.destName[target]; len(ids) == 1 {
		return strings.ToLower(ids[0]), true
	}
	return "", false
}

// mapCheck returns the destination channel ids for the channels of s,
// sorted, and notes s (by label) under each channel it cannot map.
func (m *channelMapper) mapCheck(s Check, label string) []string {
	var out []string
	for _, raw := range strings.Split(s.Channels, ",") {
		id := strings.ToLower(strings.TrimSpace(raw))
		if id == "" {
			continue
		}
		if _, known := m.src[id]; !known {
			// Not in the source's list (a race with its edits): unmapped.
			m.src[id] = Channel{ID: strings.TrimSpace(raw)}
		}
		if d, ok := m.resolved[id]; ok {
			out = append(out, d)
		} else if !slices.Contains(m.used[id], label) {
			m.used[id] = append(m.used[id], label)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// destSet returns a destination check's channels (ids, or names as a
// destination may also take them) as destination ids, sorted; an entry
// that names no destination channel is kept as it is, so it differs.
func (m *channelMapper) destSet(channels string) []string {
	var out []string
	for _, raw := range strings.Split(channels, ",") {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		if d, ok := m.lookup(e); ok {
			e = d
		}
		out = append(out, e)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// unmapped lists the source channels some check uses that have no
// counterpart, by name then id.
func (m *channelMapper) unmapped() []UnmappedChannel {
	var out []UnmappedChannel
	for _, id := range slices.Sorted(maps.Keys(m.used)) {
		checks := slices.Clone(m.used[id])
		slices.Sort(checks)
		target, ok := m.target[id]
		if !ok {
			target = m.src[id].Name
		}
		out = append(out, UnmappedChannel{Channel: m.src[id], Checks: checks, Target: target})
	}
	slices.SortStableFunc(out, func(a, b UnmappedChannel) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// channelName names a channel for output: its name, or its kind and id
// when it has none (healthchecks.io allows unnamed integrations).
func channelName(c Channel) string {
	if c.Name != "" {
		return c.Name
	}
	if c.Kind != "" {
		return "unnamed " + c.Kind + " channel " + c.ID
	}
	return "channel " + c.ID
}

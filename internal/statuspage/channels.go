package statuspage

import (
	"slices"
	"strings"

	"github.com/vitals-go/vitals/internal/model"
)

// Channels on the page. A check's channels say where its alerts go: the
// names of notifiers, which may name people or internal systems
// ("pager-alice", "restart-db"), and a check without any is one nobody
// hears about. Both are for the operators: only the authorised view shows
// them (the detail page lists the channels, the overview marks the rows
// of checks whose channels are wrong and counts them, status.json carries
// both); the public view shows neither.

// channelSet is the configured channels of one render, by name.
type channelSet struct {
	all   []model.Channel
	known map[string]bool
}

// channels returns the configured channels (Options.Channels), nil when
// the page was given no Channels func: it then shows no channels.
func (p *Page) channels() *channelSet {
	if p.opts.Channels == nil {
		return nil
	}
	all := p.opts.Channels()
	cs := &channelSet{all: all, known: make(map[string]bool, len(all))}
	for _, c := range all {
		cs.known[c.Name] = true
	}
	return cs
}

// signature identifies the set of channel names (for caches that depend
// on it); "" for nil.
func (cs *channelSet) signature() string {
	if cs == nil {
		return ""
	}
	names := make([]string, 0, len(cs.all))
	for _, c := range cs.all {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return "\x00" + strings.Join(names, "\x00")
}

// noChannels is model.Check.RouteWarnings' warning for a check without
// channels.
const noChannels = "no channels: this check never alerts"

// warning returns what is wrong with c's channels (model.Check's
// RouteWarnings, joined with "; "), "" when nothing is or cs is nil. The
// common cases (no channels; every channel known) cost no allocation.
func (cs *channelSet) warning(c *model.Check) string {
	if cs == nil {
		return ""
	}
	r := &c.Routes
	if r.IsZero() {
		return noChannels
	}
	for _, l := range [...][]string{r.Down, r.Up, r.Flapping, r.Late, r.Cert} {
		for _, n := range l {
			if !cs.known[n] {
				return strings.Join(c.RouteWarnings(cs.all), "; ")
			}
		}
	}
	return ""
}

// channelCounts counts, for the authorised overview, the checks shown
// whose channels are wrong.
type channelCounts struct {
	None, Unknown int
}

func (n *channelCounts) add(warn string) {
	switch {
	case warn == "":
	case warn == noChannels:
		n.None++
	default:
		n.Unknown++
	}
}

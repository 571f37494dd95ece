package statuspage

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vitals-go/vitals/internal/model"
)

// The overview's bounds: what one answer may carry, whatever the number
// of checks.
const (
	// PageSize is how many rows of the list the overview renders (the
	// first page, or the page ?page= asks for).
	PageSize = 50
	// MaxLimit bounds checks.json's limit.
	MaxLimit = 500
	// attentionMax is how many checks needing attention the overview
	// lists at the top (the rest are a link away).
	attentionMax = 20
	// maxGroups bounds the tag groups the authorised overview shows (the
	// largest ones; every tag can still be filtered on).
	maxGroups = 50
	// groupOpenMax is the largest group shown open, with its checks;
	// larger groups are collapsed (a summary and a link).
	groupOpenMax = 10
	// maxQuery bounds q and tag, in bytes.
	maxQuery = 200
	// maxPage bounds ?page= and checks.json's offset/PageSize.
	maxPage = 1 << 20
)

// attentionStatuses is the status filter of "needs attention".
const attentionStatuses = "down,flapping,late,failing"

// statusTokens maps the status filter's words (the labels the page shows,
// and "failing": below its threshold) to display statuses.
var statusTokens = map[string]model.Status{
	"up": model.StatusUp, "down": model.StatusDown, "late": model.StatusGrace, "running": model.StatusStarted,
	"paused": model.StatusPaused, "new": model.StatusNew, "flapping": model.StatusFlapping, "failing": "",
}

// filter is what the overview and checks.json show: the URL's query.
type filter struct {
	Q        string // case-insensitive substring of the name
	Tag      string // exact tag (authorised view only)
	Status   string // comma-separated status words, as given (normalised)
	statuses []model.Status
	failing  bool
	Page     int // 1-based, the overview only
	lq       string
}

// active reports whether the filter narrows the list.
func (f *filter) Active() bool { return f.Q != "" || f.Tag != "" || f.Status != "" }

// parseFilter reads q, tag, status and page from u; tag is ignored for the
// public view (tags are not shown to it, so it may not probe them).
func parseFilter(u url.Values, v view) (filter, error) {
	var f filter
	f.Q = strings.TrimSpace(u.Get("q"))
	f.Tag = strings.TrimSpace(u.Get("tag"))
	if len(f.Q) > maxQuery || len(f.Tag) > maxQuery || !utf8.ValidString(f.Q) || !utf8.ValidString(f.Tag) {
		return f, errors.New("q and tag must be valid UTF-8 of at most 200 bytes")
	}
	if !v.auth {
		f.Tag = ""
	}
	f.lq = strings.ToLower(f.Q)
	if s := u.Get("status"); s != "" {
		var words []string
		for w := range strings.SplitSeq(s, ",") {
			w = strings.ToLower(strings.TrimSpace(w))
			if w == "" || slices.Contains(words, w) {
				continue
			}
			st, ok := statusTokens[w]
			if !ok {
				return f, errors.New("status must be a comma-separated list of up, down, late, running, paused, new, flapping, failing; got " + strconv.Quote(model.Truncate(w, 20)))
			}
			words = append(words, w)
			if w == "failing" {
				f.failing = true
			} else {
				f.statuses = append(f.statuses, st)
			}
		}
		f.Status = strings.Join(words, ",")
	}
	f.Page = 1
	if s := u.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			return f, errors.New("page must be a number from 1 to 1048576")
		}
		f.Page = n
	}
	return f, nil
}

// match reports whether r passes f (visibility is checked apart).
func (f *filter) match(r *row) bool {
	if f.lq != "" && !strings.Contains(r.lname, f.lq) {
		return false
	}
	if f.Tag != "" && !slices.Contains(r.cs.Check.Tags, f.Tag) {
		return false
	}
	if f.Status != "" && !slices.Contains(f.statuses, r.status) && !(f.failing && r.failing) {
		return false
	}
	return true
}

// query returns the URL query of f with page (0: none), for links.
func (f *filter) query(page int) string {
	u := url.Values{}
	if f.Q != "" {
		u.Set("q", f.Q)
	}
	if f.Tag != "" {
		u.Set("tag", f.Tag)
	}
	if f.Status != "" {
		u.Set("status", f.Status)
	}
	if page > 1 {
		u.Set("page", strconv.Itoa(page))
	}
	if len(u) == 0 {
		return "./"
	}
	return "?" + u.Encode()
}

// selectLocked returns how many of rows v may see pass f, and those of
// them at positions [off, off+limit).
func (p *Page) selectLocked(rows []*row, v view, f *filter, off, limit int) (int, []*row) {
	if !f.Active() {
		// Every row v may see: no scan.
		if !v.auth && p.opts.PublicTag != "" {
			if !p.pubOK || p.pubVer != p.ver {
				p.pubRows = p.pubRows[:0]
				for _, r := range rows {
					if p.visible(v, &r.cs.Check) {
						p.pubRows = append(p.pubRows, r)
					}
				}
				p.pubVer, p.pubOK = p.ver, true
			}
			rows = p.pubRows
		}
		lo, hi := min(off, len(rows)), min(off+limit, len(rows))
		return len(rows), rows[lo:hi]
	}
	var out []*row
	n := 0
	for _, r := range rows {
		if !p.visible(v, &r.cs.Check) || !f.match(r) {
			continue
		}
		if n >= off && n < off+limit {
			out = append(out, r)
		}
		n++
	}
	return n, out
}

// overview is the part of the overview computed in one pass over every
// row v may see: the counts, the checks needing attention, the groups.
type overview struct {
	Sum       summary
	Chans     channelCounts
	Attention []*row // the first attentionMax, worst first
	NAttn     int
	Groups    []group
	NGroups   int // every tag, of which Groups are the largest maxGroups
}

// group is a tag's checks.
type group struct {
	Tag          string
	N, Down, Bad int    // Bad: late, flapping or failing
	Rows         []*row // when N ≤ groupOpenMax, by name
	Link         string
}

// Hid, Name and Status are what a group's list shows of a row.
func (r *row) Hid() string          { return r.hid }
func (r *row) Name() string         { return r.cs.Check.Name }
func (r *row) Status() model.Status { return r.status }

// Open reports whether the group is shown expanded.
func (g *group) Open() bool { return g.N <= groupOpenMax }

// attentionRank orders the checks needing attention: down, flapping,
// late, failing below the threshold; -1 for the others.
func attentionRank(r *row) int {
	switch {
	case r.status == model.StatusDown:
		return 0
	case r.status == model.StatusFlapping:
		return 1
	case r.status == model.StatusGrace:
		return 2
	case r.failing:
		return 3
	}
	return -1
}

// overviewLocked returns the overview of rows (in display order) for v,
// with groups for the authorised view only (the public view shows no
// tags). It is cached until a row's status or the checks change (ver).
func (p *Page) overviewLocked(rows []*row, v view) overview {
	c := &p.ovCache[btoi(v.auth)]
	if !c.ok || c.ver != p.ver {
		c.o, c.ver, c.ok = p.makeOverviewLocked(rows, v, v.auth), p.ver, true
	}
	return c.o
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (p *Page) makeOverviewLocked(rows []*row, v view, groups bool) overview {
	var o overview
	var byRank [4][]*row
	type acc struct {
		g    group
		rows []*row
	}
	tags := map[string]*acc{}
	for _, r := range rows {
		if !p.visible(v, &r.cs.Check) {
			continue
		}
		o.Sum.add(r.status, r.failing)
		if v.auth {
			o.Chans.add(r.warn)
		}
		if k := attentionRank(r); k >= 0 {
			o.NAttn++
			if len(byRank[k]) < attentionMax {
				byRank[k] = append(byRank[k], r)
			}
		}
		if groups {
			for _, t := range r.cs.Check.Tags {
				a := tags[t]
				if a == nil {
					a = &acc{g: group{Tag: t}}
					tags[t] = a
				}
				a.g.N++
				if r.status == model.StatusDown {
					a.g.Down++
				} else if attentionRank(r) > 0 {
					a.g.Bad++
				}
				if a.g.N <= groupOpenMax {
					a.rows = append(a.rows, r)
				}
			}
		}
	}
	for _, l := range byRank {
		for _, r := range l {
			if len(o.Attention) < attentionMax {
				o.Attention = append(o.Attention, r)
			}
		}
	}
	o.NGroups = len(tags)
	for _, a := range tags {
		g := a.g
		if g.Open() {
			g.Rows = a.rows
		}
		f := filter{Tag: g.Tag}
		g.Link = f.query(0)
		o.Groups = append(o.Groups, g)
	}
	// The largest groups, then by name.
	slices.SortFunc(o.Groups, func(a, b group) int {
		if a.N != b.N {
			return b.N - a.N
		}
		return strings.Compare(a.Tag, b.Tag)
	})
	if len(o.Groups) > maxGroups {
		o.Groups = o.Groups[:maxGroups]
	}
	slices.SortFunc(o.Groups, func(a, b group) int { return strings.Compare(strings.ToLower(a.Tag), strings.ToLower(b.Tag)) })
	return o
}

// jsonRow is one check in checks.json and in live updates: short keys,
// empty fields left out. The page's script draws the row from it (the
// same markup as the server's row template).
type jsonRow struct {
	ID     string       `json:"id"`
	Name   string       `json:"n"`
	Status model.Status `json:"s"`
	// Failing: failing below its threshold.
	Failing bool `json:"f,omitempty"`
	// Pct is the uptime over the Days days, "" when nothing was counted.
	Pct string `json:"p,omitempty"`
	// Days is one letter per day, oldest first: a 100 %, b ≥ 99 %,
	// c ≥ 95 %, d below, n no data.
	Days string `json:"d"`
	// Spark is the sparkline's SVG path data (58×20 box).
	Spark string `json:"k,omitempty"`
	// LastMS is the last run time, as the page prints it.
	LastMS string `json:"m,omitempty"`
	// Warn is what is wrong with its channels (authorised view only).
	Warn string `json:"w,omitempty"`
}

// jsonRowLocked returns r as v sees it at now (its rollups loaded). The
// first time, it asks for r's sparkline to be seeded from the store
// (seedSparkLocked).
func (p *Page) jsonRowLocked(r *row, v view, now time.Time, chs *channelSet) jsonRow {
	p.seedSparkLocked(r)
	k := p.keyLocked(r, now, chs)
	spark := p.sparkValues(r.id, make([]float32, 0, sparkLen))
	jr := jsonRow{ID: r.hid, Name: k.name, Status: k.status, Failing: k.failing, Pct: k.bars.pct,
		Days: string(k.bars.class[:]), Spark: sparkPath(spark)}
	if n := len(spark); n > 0 && spark[n-1] > 0 {
		jr.LastMS = formatMS(spark[n-1])
	}
	if v.auth {
		jr.Warn = k.warn
	}
	return jr
}

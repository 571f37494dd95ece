package statuspage

import (
	"bytes"
	"container/heap"
	"context"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// row is one check in the page's index: the engine's snapshot of its
// check and state as last synced (shared with the engine: never modified), its displayed status at the last sync, and its
// cached fragment of the overview (an <li>), rendered only when it is shown
// and something it shows changed (its key). Guarded by Page.rmu.
type row struct {
	id      model.CheckID
	hid     string
	cs      *model.CheckState
	lname   string       // lower-case name, for search
	status  model.Status // displayed status at the last sync
	failing bool         // failing below its threshold at the last sync
	warn    string       // what is wrong with its channels at the last sync
	key     rowKey
	html    []byte
	// authHTML is the fragment of the authorised view when it differs
	// from html (the check's channels are wrong: key.warn); else nil.
	authHTML []byte
	gen      uint64 // last rebuild that saw the check
	// seedAsked: its sparkline was asked for from its stored pings
	// (seedSparkLocked), once per check.
	seedAsked bool
}

// fragment returns the row's fragment as v sees it.
func (r *row) fragment(v view) []byte {
	if v.auth && r.authHTML != nil {
		return r.authHTML
	}
	return r.html
}

// rowKey is everything a row's fragment shows.
type rowKey struct {
	name    string
	status  model.Status
	failing bool // failing below its threshold, see failingBelowThreshold
	last    time.Time
	since   time.Time
	bars    bars
	spark   uint64
	warn    string // what is wrong with its channels (authorised view only)
}

// rowData is what the row template is executed with.
type rowData struct {
	HID, Name   string
	Status      model.Status
	Failing     bool
	Pct         string
	Bars, Spark template.HTML
	LastMS      string
	Warn        string // authorised view only
}

// syncLocked brings the index up to date at now and returns the rows in
// display order (by name). The rows hold the engine's snapshots
// (model.CheckRef.Load), which are shared and never copied. The first sync
// takes a ref of every check (Engine.Refs); after that a sync looks up
// only the checks that changed: those the listeners marked since the last
// sync, and those the engine created, deleted or redefined since the
// generation the index was built at (Engine.Changes), each moved to its
// place in the order by a binary search. Only when the engine can no
// longer say what changed (more than Changes remembers) does it take
// every ref again. A change of the channels recomputes every row's
// warning from the rows it holds, reading no check. A check turns late
// with no event: the rows whose displayed status changes at a time wait
// in a heap (Page.due) and are looked at again when it comes. So a sync
// costs in proportion to the changes, not to the checks, and never copies
// every check. It renders nothing and reads no store.
func (p *Page) syncLocked(now time.Time) []*row {
	p.lmu.Lock()
	changed := p.changed
	if len(changed) > 0 {
		p.changed = make(map[model.CheckID]struct{})
	} else {
		changed = nil
	}
	p.lmu.Unlock()
	chs := p.channels()
	sig := chs.signature()
	rebuilt := false
	switch {
	case p.order == nil:
		p.rebuildLocked(now, chs)
		rebuilt = true
	case p.opts.Engine.Generation() != p.engGen:
		ids, to, ok := p.opts.Engine.Changes(p.engGen)
		if !ok {
			p.rebuildLocked(now, chs)
			rebuilt = true
			break
		}
		p.engGen = to
		if changed == nil && len(ids) > 0 {
			changed = make(map[model.CheckID]struct{}, len(ids))
		}
		for _, id := range ids {
			changed[id] = struct{}{}
		}
	}
	if sig != p.chanSig {
		p.chanSig = sig
		if !rebuilt {
			// Every row's warning may change: recompute them from the
			// rows (their snapshots), and requeue their due times.
			p.ver++
			p.due = p.due[:0]
			for _, r := range p.rows {
				p.restatusLocked(r, now, chs)
			}
		}
	}
	if !rebuilt {
		var gone []model.CheckID
		for id := range changed {
			ref, ok := p.opts.Engine.Ref(id)
			if !ok {
				if r := p.rows[id]; r != nil {
					p.dropRowLocked(r)
					gone = append(gone, id)
				}
				continue
			}
			p.putRowLocked(ref.Load(), now, chs, true)
		}
		p.lmu.Lock()
		for _, id := range gone {
			delete(p.spark, id) // a seed that raced with the delete
		}
		if len(p.created) > 0 {
			for id := range changed {
				if r := p.rows[id]; r != nil {
					delete(p.created, r.hid)
				}
			}
		}
		p.lmu.Unlock()
	}
	var turned []model.CheckID
	for len(p.due) > 0 && !p.due[0].at.After(now) {
		e := heap.Pop(&p.due).(dueEntry)
		if r := p.rows[e.r.id]; r == e.r && r.cs.State.Due.Equal(e.at) && p.restatusLocked(r, now, chs) {
			turned = append(turned, r.id)
		}
	}
	if len(turned) > 0 {
		// No event announces these: tell the live streams.
		p.lmu.Lock()
		for _, id := range turned {
			p.markLocked(id)
		}
		p.lmu.Unlock()
		p.poke()
	}
	return p.order
}

// rebuildLocked builds the index again from a ref of every check: the
// first sync, or when the engine cannot say what changed since the last.
// It copies no check (the rows keep the refs' snapshots).
func (p *Page) rebuildLocked(now time.Time, chs *channelSet) {
	refs, gen := p.opts.Engine.Refs()
	p.engGen = gen
	p.gen++
	p.ver++
	p.due = p.due[:0]
	for _, ref := range refs {
		p.putRowLocked(ref.Load(), now, chs, false)
	}
	p.order = make([]*row, 0, len(p.rows))
	var gone []model.CheckID
	for id, r := range p.rows {
		if r.gen != p.gen {
			delete(p.rows, id)
			delete(p.hids, r.hid)
			gone = append(gone, id)
			continue
		}
		p.order = append(p.order, r)
	}
	slices.SortFunc(p.order, rowCmp)
	p.lmu.Lock()
	for _, id := range gone {
		delete(p.spark, id)
	}
	for h := range p.created {
		if _, ok := p.hids[h]; ok {
			delete(p.created, h)
		}
	}
	p.lmu.Unlock()
}

// rowCmp is the display order: by lower-case name, then by page id.
func rowCmp(a, b *row) int {
	if c := strings.Compare(a.lname, b.lname); c != 0 {
		return c
	}
	return strings.Compare(a.hid, b.hid)
}

// orderLocked inserts r at its place in Page.order.
func (p *Page) orderLocked(r *row) {
	i, _ := slices.BinarySearchFunc(p.order, r, rowCmp)
	p.order = slices.Insert(p.order, i, r)
	p.ver++
}

// unorderLocked removes r from Page.order (found by its current lname).
func (p *Page) unorderLocked(r *row) {
	if i, ok := slices.BinarySearchFunc(p.order, r, rowCmp); ok && p.order[i] == r {
		p.order = slices.Delete(p.order, i, i+1)
		p.ver++
	}
}

// dropRowLocked removes a deleted check's row.
func (p *Page) dropRowLocked(r *row) {
	p.unorderLocked(r)
	delete(p.rows, r.id)
	delete(p.hids, r.hid)
	p.ver++
}

// restatusLocked computes r's displayed status, failing and channel
// warning at now (bumping Page.ver and reporting true when one changed),
// and queues r in Page.due when its status will change at its due time.
func (p *Page) restatusLocked(r *row, now time.Time, chs *channelSet) bool {
	st := r.cs.State.Display(now)
	failing := failingBelowThreshold(&r.cs.State, st)
	warn := chs.warning(&r.cs.Check)
	changed := st != r.status || failing != r.failing || warn != r.warn
	if changed {
		r.status, r.failing, r.warn = st, failing, warn
		p.ver++
	}
	s := &r.cs.State
	if s.Status == model.StatusUp && len(s.Runs) == 0 && !s.Due.IsZero() && now.Before(s.Due) {
		if len(p.due) > 4*len(p.rows)+1024 {
			p.rebuildDueLocked(now)
		}
		heap.Push(&p.due, dueEntry{at: s.Due, r: r})
	}
	return changed
}

// rebuildDueLocked drops the heap's stale entries (rows whose due time
// moved on before it came): one entry per row that has one.
func (p *Page) rebuildDueLocked(now time.Time) {
	p.due = p.due[:0]
	for _, r := range p.rows {
		s := &r.cs.State
		if s.Status == model.StatusUp && len(s.Runs) == 0 && !s.Due.IsZero() && now.Before(s.Due) {
			p.due = append(p.due, dueEntry{at: s.Due, r: r})
		}
	}
	heap.Init(&p.due)
}

// dueEntry is a row whose displayed status changes at at (up → late).
type dueEntry struct {
	at time.Time
	r  *row
}

// dueHeap is a min-heap of dueEntry by at (container/heap).
type dueHeap []dueEntry

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// putRowLocked makes cs (an engine snapshot, kept, never modified) its
// check's row (creating it) and computes its status at now. When inOrder,
// a new or renamed row is moved to its place in Page.order; otherwise (a
// rebuild) the caller sorts the order.
func (p *Page) putRowLocked(cs *model.CheckState, now time.Time, chs *channelSet, inOrder bool) {
	c := &cs.Check
	r := p.rows[c.ID]
	place := false
	if r == nil {
		r = &row{id: c.ID, hid: hid(c.ID), lname: strings.ToLower(c.Name)}
		p.rows[c.ID] = r
		p.hids[r.hid] = c.ID
		place = true
		p.ver++
	} else {
		if r.cs.Check.Name != c.Name {
			if inOrder {
				p.unorderLocked(r)
			}
			r.lname = strings.ToLower(c.Name)
			place = true
		}
		if !slices.Equal(r.cs.Check.Tags, c.Tags) {
			p.ver++
		}
	}
	r.cs, r.gen = cs, p.gen
	if place && inOrder {
		p.orderLocked(r)
	}
	p.restatusLocked(r, now, chs)
}

// prepareLocked loads the rollups of rows not cached yet (one store query
// each, or one scan when most are missing): call it before keyLocked or
// fragmentLocked on them.
func (p *Page) prepareLocked(ctx context.Context, rows []*row, now time.Time) {
	ids := make([]model.CheckID, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	p.loadUptimeLocked(ctx, ids, len(p.rows), now)
}

// keyLocked returns what r's fragment shows at now.
func (p *Page) keyLocked(r *row, now time.Time, chs *channelSet) rowKey {
	k := p.rowKey(&r.cs.Check, &r.cs.State, now, chs)
	p.lmu.Lock()
	if rg := p.spark[r.id]; rg != nil {
		k.spark = rg.ver
	}
	p.lmu.Unlock()
	return k
}

// fragmentLocked returns r's fragment as v sees it at now, rendering it
// again when what it shows changed. The first time, it asks for r's
// sparkline to be seeded from the store (seedSparkLocked).
func (p *Page) fragmentLocked(r *row, v view, now time.Time, chs *channelSet) []byte {
	p.seedSparkLocked(r)
	k := p.keyLocked(r, now, chs)
	if r.html == nil || r.key != k {
		r.key = k
		p.renderRow(r, k, p.sparkValues(r.id, nil))
	}
	return r.fragment(v)
}

// sparkValues appends the samples of id's sparkline to dst.
func (p *Page) sparkValues(id model.CheckID, dst []float32) []float32 {
	p.lmu.Lock()
	defer p.lmu.Unlock()
	if rg := p.spark[id]; rg != nil {
		return rg.values(dst)
	}
	return dst
}

// rowKey returns what the row of c in state s shows at now; chs are the
// channels of this render (nil: none shown).
func (p *Page) rowKey(c *model.Check, s *model.State, now time.Time, chs *channelSet) rowKey {
	k := rowKey{name: c.Name, status: s.Display(now), last: s.LastPing, since: s.Since,
		bars: computeBars(p.uptime[c.ID], s, now), warn: chs.warning(c)}
	k.failing = failingBelowThreshold(s, k.status)
	return k
}

// renderRow renders r's fragments for k: html, and authHTML when the
// authorised view shows more (a warning about the check's channels).
func (p *Page) renderRow(r *row, k rowKey, spark []float32) {
	d := rowData{HID: r.hid, Name: k.name, Status: k.status, Failing: k.failing, Pct: k.bars.pct,
		Bars: barsSVG(&k.bars), Spark: sparkSVG(spark)}
	if n := len(spark); n > 0 && spark[n-1] > 0 {
		d.LastMS = formatMS(spark[n-1])
	}
	r.html, r.authHTML = p.execRow(d), nil
	if k.warn != "" {
		d.Warn = k.warn
		r.authHTML = p.execRow(d)
	}
}

func (p *Page) execRow(d rowData) []byte {
	var b bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&b, "row", d); err != nil {
		// The templates are fixed and tested: an error here is a bug.
		p.opts.Logger.Error("status page: row template", "err", err)
	}
	return b.Bytes()
}

func formatMS(ms float32) string {
	switch {
	case ms < 10:
		return strconv.FormatFloat(float64(ms), 'f', 1, 32) + " ms"
	case ms < 10000:
		return strconv.Itoa(int(ms+0.5)) + " ms"
	default:
		return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 32) + " s"
	}
}

// barsSVG draws the bars as one <path> per colour: each run of days of one
// colour is one horizontal segment, and the stylesheet's mask cuts the
// segments into daily bars. An all-green check costs about 90 bytes.
func barsSVG(b *bars) template.HTML {
	var sb strings.Builder
	sb.WriteString(`<svg class=u viewBox="0 0 90 1" preserveAspectRatio=none>`)
	for _, cls := range [...]byte{barNone, barFull, barHigh, barMid, barLow} {
		started := false
		for i := 0; i < Days; {
			if b.class[i] != cls {
				i++
				continue
			}
			j := i
			for j < Days && b.class[j] == cls {
				j++
			}
			if !started {
				sb.WriteString(`<path class=`)
				sb.WriteByte(cls)
				sb.WriteString(` d="`)
				started = true
			}
			sb.WriteByte('M')
			sb.WriteString(strconv.Itoa(i))
			sb.WriteString(` .5h`)
			sb.WriteString(strconv.Itoa(j - i))
			i = j
		}
		if started {
			sb.WriteString(`"/>`)
		}
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// sparkSVG draws durations as a line 2 units apart in a 58×20 box, scaled
// to their maximum, with relative moves ("l2-3") to keep it short. Nothing
// when there are fewer than two samples or all are zero.
func sparkSVG(ms []float32) template.HTML {
	d := sparkPath(ms)
	if d == "" {
		return `<svg class=s viewBox="0 0 58 20"></svg>`
	}
	return template.HTML(`<svg class=s viewBox="0 0 58 20" preserveAspectRatio=none><path d="` + d + `"/></svg>`)
}

// sparkPath is the path data of sparkSVG's line, "" when it draws none.
func sparkPath(ms []float32) string {
	var hi float32
	for _, v := range ms {
		hi = max(hi, v)
	}
	if len(ms) < 2 || hi <= 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteByte('M')
	y0 := 0
	for i, v := range ms {
		y := 19 - int(v/hi*18+0.5)
		switch i {
		case 0:
			sb.WriteString(strconv.Itoa((sparkLen - len(ms)) * 2))
			sb.WriteByte(' ')
			sb.WriteString(strconv.Itoa(y))
			sb.WriteByte('l')
		default:
			if i > 1 {
				sb.WriteByte(' ')
			}
			sb.WriteByte('2')
			if y >= y0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(strconv.Itoa(y - y0))
		}
		y0 = y
	}
	return sb.String()
}

// failingBelowThreshold reports whether a check shown as st has failed its
// latest results without being down yet: its failure threshold (or start
// period) holds it up or new. Such a check is not "up" in the banner's sense.
func failingBelowThreshold(s *model.State, st model.Status) bool {
	switch st {
	case model.StatusUp, model.StatusStarted, model.StatusGrace, model.StatusNew:
		return s.ConsecFailures > 0
	}
	return false
}

// summary counts the rows shown by status. Failing counts the rows failing
// below their threshold (also counted by their status); failingUp and
// failingNew are those of them shown up (or running) and new.
type summary struct {
	Total, Up, Down, Grace, Started, Paused, New, Flapping int
	Failing                                                int
	failingUp, failingNew                                  int
}

func (s *summary) add(st model.Status, failing bool) {
	s.Total++
	switch st {
	case model.StatusUp:
		s.Up++
	case model.StatusDown:
		s.Down++
	case model.StatusGrace:
		s.Grace++
	case model.StatusStarted:
		s.Started++
	case model.StatusPaused:
		s.Paused++
	case model.StatusNew:
		s.New++
	case model.StatusFlapping:
		s.Flapping++
	}
	if failing {
		s.Failing++
		switch st {
		case model.StatusUp, model.StatusStarted:
			s.failingUp++
		case model.StatusNew:
			s.failingNew++
		}
	}
}

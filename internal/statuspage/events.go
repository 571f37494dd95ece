package statuspage

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// clientBuffer is how many messages a live stream may lag behind; a client
// further behind is disconnected (its script reconnects and reloads).
const clientBuffer = 64

// heartbeat is how often an idle live stream gets a comment, so proxies
// keep it open.
const heartbeat = 25 * time.Second

// client is one open live stream.
type client struct {
	v    view
	ch   chan []byte   // messages, already in event-stream framing
	kick chan struct{} // closed when the client is dropped
}

// serveEvents streams live updates as Server-Sent Events:
//
//	event: rows     data: {"rows": [jsonRow…]}   rows changed (at most maxLiveRows)
//	event: stale    data: {}                     more rows changed: fetch the shown ones again
//	event: remove   data: {"id": "<hid>"}        a check is gone
//	event: summary  data: {"banner", "counts", "attention", "nattn"}  after changes
//	event: flips    data: {"html": "<li …>…"}    new flips
//	event: reload   data: {}                     checks were added or renamed
//
// The handler returns when the client goes away or the page is closed.
func (p *Page) serveEvents(w http.ResponseWriter, r *http.Request, v view) {
	rc := http.NewResponseController(w)
	c := &client{v: v, ch: make(chan []byte, clientBuffer), kick: make(chan struct{})}
	p.lmu.Lock()
	switch {
	case p.closed:
		p.lmu.Unlock()
		http.Error(w, errClosed.Error(), http.StatusServiceUnavailable)
		return
	case len(p.clients) >= p.opts.MaxClients:
		p.lmu.Unlock()
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many live streams", http.StatusServiceUnavailable)
		return
	}
	p.clients[c] = struct{}{}
	p.wg.Add(1) // Close waits for the stream to end; added under lmu, before closed is set
	p.lmu.Unlock()
	defer p.wg.Done()
	defer p.drop(c)
	p.poke() // the hub starts scanning for this client

	h := w.Header()
	setHeaders(w, v, "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 3000\n: hello\n\n")); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	hb := time.NewTicker(heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-p.ctx.Done():
			return
		case <-c.kick:
			return
		case <-hb.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
		case msg := <-c.ch:
			if _, err := w.Write(msg); err != nil {
				return
			}
			for more := true; more; {
				select {
				case msg := <-c.ch:
					if _, err := w.Write(msg); err != nil {
						return
					}
				default:
					more = false
				}
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// drop removes c from the clients; it is idempotent.
func (p *Page) drop(c *client) {
	p.lmu.Lock()
	if _, ok := p.clients[c]; ok {
		delete(p.clients, c)
		close(c.kick)
	}
	p.lmu.Unlock()
}

// hub is the page's goroutine: it turns the listeners' marks into live
// updates, at most once per FlushInterval, while streams are open scans
// for display changes no event announces (a check entering its grace
// time), and seeds the sparklines renders asked for (seedQueued).
func (p *Page) hub() {
	defer p.wg.Done()
	scan := time.NewTicker(p.opts.ScanInterval)
	defer scan.Stop()
	throttle := time.NewTimer(0)
	defer throttle.Stop()
	warmed := false
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.wake:
		case <-scan.C:
			p.scan()
		}
		if !warmed {
			warmed = p.warmed.Load() || p.warm()
		}
		p.seedQueued()
		// Coalesce: wait out the rest of the interval, then flush.
		select {
		case <-p.ctx.Done():
			return
		case <-throttle.C:
		}
		p.flush()
		throttle.Reset(p.opts.FlushInterval)
	}
}

// warm fills the rollup cache so that the first visitor does not wait for
// the store. The rollups are read in one scan without holding the render
// lock, so requests are served meanwhile (their rows' rollups read one by
// one). It reads no pings: sparklines are seeded when their rows are
// first shown (seedSparkLocked). It reports false while the engine lists
// no check (not started yet): the hub tries again at its next wake-up.
func (p *Page) warm() bool {
	p.rmu.Lock()
	now := p.opts.Now().UTC()
	rows := p.syncLocked(now)
	if len(rows) == 0 {
		p.rmu.Unlock()
		return false
	}
	var missing []model.CheckID
	for _, r := range rows {
		if _, ok := p.uptime[r.id]; !ok {
			missing = append(missing, r.id)
		}
	}
	p.warmDirty = make(map[model.CheckID]struct{})
	p.rmu.Unlock()
	from, to := window(now)
	byID, err := p.scanUptime(p.ctx, missing, from, to)
	if err != nil && p.ctx.Err() == nil {
		p.opts.Logger.Warn("status page: bulk uptime query", "err", err)
	}
	p.rmu.Lock()
	for id, u := range byID {
		// Not if read meanwhile, or flipped since (the scan may predate it).
		if _, ok := p.uptime[id]; !ok {
			if _, flipped := p.warmDirty[id]; !flipped {
				p.uptime[id] = u
			}
		}
	}
	p.warmDirty = nil
	p.rmu.Unlock()
	p.warmed.Store(true)
	return true
}

// Warmed reports whether the page has read every check's rollups since it
// started (in the background, a few seconds after the engine lists
// checks): until then a request reads the rollups of the rows it shows.
func (p *Page) Warmed() bool { return p.warmed.Load() }

// scan syncs the index while streams are open: the checks whose due time
// came turn late with no event, and the sync marks them for the streams
// (syncLocked). It costs what changed, not a pass over every check.
func (p *Page) scan() {
	p.lmu.Lock()
	n := len(p.clients)
	p.lmu.Unlock()
	if n == 0 {
		return
	}
	p.rmu.Lock()
	p.syncLocked(p.opts.Now().UTC())
	p.rmu.Unlock()
}

// flush renders the pending changes and sends them to every stream.
func (p *Page) flush() {
	p.lmu.Lock()
	if len(p.clients) == 0 {
		clear(p.pending)
		p.structural = false
		p.lmu.Unlock()
		return
	}
	pending := p.pending
	p.pending = make(map[model.CheckID]struct{})
	structural := p.structural
	p.structural = false
	flipsDirty := p.flipsDirty
	p.lmu.Unlock()

	var msgs []message
	if structural {
		msgs = append(msgs, message{data: event("reload", struct{}{})})
	} else if len(pending) > 0 {
		msgs = p.rowMessages(pending, flipsDirty)
	}
	if len(msgs) == 0 {
		return
	}
	p.lmu.Lock()
	for c := range p.clients {
		for _, m := range msgs {
			if m.only != nil && *m.only != c.v {
				continue
			}
			if m.public != nil && !c.v.auth && !*m.public {
				continue
			}
			select {
			case c.ch <- m.data:
			default:
				// Too far behind: drop it; its script reconnects and reloads.
				delete(p.clients, c)
				close(c.kick)
			}
			if _, ok := p.clients[c]; !ok {
				break
			}
		}
	}
	p.lmu.Unlock()
}

// message is one event for the streams that may see it.
type message struct {
	data   []byte
	public *bool // nil: for every stream; else shown to anonymous streams only if true
	only   *view // nil: every view; else only streams of that view
}

// maxLiveRows bounds the rows one batch of live updates carries; past it,
// streams get "stale" and fetch the rows they show again.
const maxLiveRows = 200

// rowMessages makes the live updates of the pending checks: their rows
// (each view its own), the removed checks, the new summary and flips.
func (p *Page) rowMessages(pending map[model.CheckID]struct{}, flipsDirty bool) []message {
	now := p.opts.Now().UTC()
	var msgs []message
	p.rmu.Lock()
	defer p.rmu.Unlock()
	rows := p.syncLocked(now)
	chs := p.channels()
	var changed []*row
	for id := range pending {
		r := p.rows[id]
		if r == nil {
			msgs = append(msgs, message{data: event("remove", map[string]string{"id": hid(id)})})
			continue
		}
		changed = append(changed, r)
	}
	if len(changed) > maxLiveRows {
		msgs = append(msgs, message{data: event("stale", struct{}{})})
	} else if len(changed) > 0 {
		p.prepareLocked(p.ctx, changed, now)
		var auth, pub []jsonRow
		for _, r := range changed {
			if r.html != nil && r.key == p.keyLocked(r, now, chs) {
				continue // nothing shown changed
			}
			auth = append(auth, p.jsonRowLocked(r, authView, now, chs))
			if p.visible(publicView, &r.cs.Check) {
				pub = append(pub, p.jsonRowLocked(r, publicView, now, chs))
			}
		}
		if len(auth) > 0 {
			msgs = append(msgs, message{data: event("rows", map[string][]jsonRow{"rows": auth}), only: &authView})
		}
		if len(pub) > 0 {
			msgs = append(msgs, message{data: event("rows", map[string][]jsonRow{"rows": pub}), only: &publicView})
		}
	}
	for _, v := range [...]view{publicView, authView} {
		o := p.overviewLocked(rows, v)
		p.prepareLocked(p.ctx, o.Attention, now)
		sum := liveSummary{NAttn: o.NAttn, Counts: countsText(o.Sum), Attention: []jsonRow{}}
		sum.Banner.Class, sum.Banner.Text = banner(o.Sum)
		for _, r := range o.Attention {
			sum.Attention = append(sum.Attention, p.jsonRowLocked(r, v, now, chs))
		}
		msgs = append(msgs, message{data: event("summary", sum), only: &v})
	}
	if flipsDirty {
		for _, v := range [...]view{{auth: false}, {auth: true}} {
			d := pageData{Base: "", Flips: p.recentFlipsLocked(p.ctx, v)}
			var b bytes.Buffer
			if err := p.tmpl.ExecuteTemplate(&b, "flips", d); err == nil {
				msgs = append(msgs, message{data: event("flips", map[string]string{"html": b.String()}), only: &v})
			}
		}
	}
	return msgs
}

// liveSummary is the "summary" event: the banner, the counts line and the
// checks needing attention (the first attentionMax of NAttn).
type liveSummary struct {
	Banner struct {
		Class string `json:"class"`
		Text  string `json:"text"`
	} `json:"banner"`
	Counts    string    `json:"counts"`
	Attention []jsonRow `json:"attention"`
	NAttn     int       `json:"nattn"`
}

// countsText is the counts line as text (the template's, without markup).
func countsText(s summary) string {
	var b strings.Builder
	b.WriteString(itoa(s.Total) + " checks: " + itoa(s.Up) + " up")
	for _, c := range [...]struct {
		n    int
		what string
	}{{s.Down, "down"}, {s.Grace, "late"}, {s.Started, "running"}, {s.Flapping, "flapping"}, {s.Paused, "paused"}, {s.New, "new"}} {
		if c.n > 0 {
			b.WriteString(", " + itoa(c.n) + " " + c.what)
		}
	}
	return b.String()
}

// event frames one Server-Sent Event with a JSON payload (JSON has no raw
// newlines, so the payload is one data line).
func event(name string, payload any) []byte {
	b, _ := json.Marshal(payload)
	out := make([]byte, 0, len(b)+len(name)+16)
	out = append(out, "event: "...)
	out = append(out, name...)
	out = append(out, "\ndata: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}

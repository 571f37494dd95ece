package statuspage

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
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
//	event: check   data: {"id": "<hid>", "html": "<li …>"}   a row changed
//	event: remove  data: {"id": "<hid>"}                      a check is gone
//	event: flips   data: {"html": "<li …>…"}                  new flips
//	event: reload  data: {}                                   checks were added or renamed
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
// updates, at most once per FlushInterval, and while streams are open scans
// for display changes no event announces (a check entering its grace time).
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
			warmed = p.warm()
		}
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

// warm fills the caches (rollups, rows, sparklines of push checks from
// their stored pings) so that the first visitor does not wait for the
// store. It reports false while the engine lists no check (not started
// yet): the hub tries again at its next wake-up.
func (p *Page) warm() bool {
	cs := p.opts.Engine.List()
	if len(cs) == 0 {
		return false
	}
	p.rmu.Lock()
	p.refreshLocked(p.ctx, cs, p.opts.Now().UTC())
	p.rmu.Unlock()
	p.seedSparklines(cs)
	return true
}

// seedSparklines gives each push check whose sparkline is empty the run
// times of its stored pings (pull checks' results are not stored: their
// sparklines fill as probes report). One query per check, one at a time,
// in the background; Close interrupts it.
func (p *Page) seedSparklines(cs []model.CheckState) {
	for i := range cs {
		c := &cs[i].Check
		if c.Kind != model.KindPush || p.ctx.Err() != nil {
			continue
		}
		p.lmu.Lock()
		r := p.spark[c.ID]
		empty := r == nil || r.n == 0
		p.lmu.Unlock()
		if !empty {
			continue
		}
		pings, err := p.opts.Store.Pings(p.ctx, c.ID, store.PingQuery{Limit: 2 * sparkLen})
		if err != nil {
			continue // deleted meanwhile, or the store is closing
		}
		p.lmu.Lock()
		if r := p.spark[c.ID]; r == nil || r.n == 0 {
			r = &ring{}
			for j := len(pings) - 1; j >= 0; j-- { // oldest first
				if d := pings[j].Duration; d > 0 {
					r.add(float32(d.Seconds() * 1000))
					r.last, r.lastDur = pings[j].Time, d
				}
			}
			if r.n > 0 {
				p.spark[c.ID] = r
			}
		}
		p.lmu.Unlock()
	}
}

// scan marks every check whose displayed status differs from the one last
// rendered (only while streams are open: it lists every check).
func (p *Page) scan() {
	p.lmu.Lock()
	n := len(p.clients)
	p.lmu.Unlock()
	if n == 0 {
		return
	}
	now := p.opts.Now()
	cs := p.opts.Engine.List()
	var changed []model.CheckID
	p.rmu.Lock()
	for i := range cs {
		if r := p.rows[cs[i].Check.ID]; r == nil || r.status != cs[i].State.Display(now) {
			changed = append(changed, cs[i].Check.ID)
		}
	}
	p.rmu.Unlock()
	if len(changed) == 0 {
		return
	}
	p.lmu.Lock()
	for _, id := range changed {
		p.pending[id] = struct{}{}
	}
	p.lmu.Unlock()
	p.poke()
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

func (p *Page) rowMessages(pending map[model.CheckID]struct{}, flipsDirty bool) []message {
	now := p.opts.Now().UTC()
	cs := make([]model.CheckState, 0, len(pending))
	var gone []model.CheckID
	for id := range pending {
		if c, ok := p.opts.Engine.Get(id); ok {
			cs = append(cs, c)
		} else {
			gone = append(gone, id)
		}
	}
	var msgs []message
	p.rmu.Lock()
	defer p.rmu.Unlock()
	p.loadUptimeLocked(p.ctx, cs, now)
	var buf []float32
	for i := range cs {
		c, s := &cs[i].Check, &cs[i].State
		r := p.rows[c.ID]
		if r == nil {
			// Not rendered yet: the page that has it will reload.
			continue
		}
		k := rowKey{name: c.Name, status: s.Display(now), last: s.LastPing, since: s.Since,
			bars: computeBars(p.uptime[c.ID], s, now)}
		p.lmu.Lock()
		buf = buf[:0]
		if rg := p.spark[c.ID]; rg != nil {
			k.spark = rg.ver
			buf = rg.values(buf)
		}
		p.lmu.Unlock()
		if r.html != nil && r.key == k {
			continue
		}
		r.check, r.key, r.status = *c, k, k.status
		r.html = p.renderRow(r, s, k, buf)
		pub := p.visible(view{}, c)
		msgs = append(msgs, message{data: event("check", map[string]string{"id": r.hid, "html": string(r.html)}), public: &pub})
	}
	for _, id := range gone {
		if r := p.rows[id]; r != nil {
			msgs = append(msgs, message{data: event("remove", map[string]string{"id": r.hid})})
		}
	}
	if flipsDirty {
		for _, v := range [...]view{{auth: false}, {auth: true}} {
			d := pageData{Base: "", Flips: p.recentFlipsLocked(p.ctx, v)}
			var b bytes.Buffer
			if err := p.tmpl.ExecuteTemplate(&b, "flips", d); err == nil {
				v := v
				msgs = append(msgs, message{data: event("flips", map[string]string{"html": b.String()}), only: &v})
			}
		}
	}
	return msgs
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

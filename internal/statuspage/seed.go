package statuspage

import (
	"context"
	"errors"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// seedTimeout bounds one store query for a sparkline's stored pings.
const seedTimeout = time.Second

// The sparklines of push checks after a start. A push check's run times
// (start → success) are stored with its pings, so after a restart its
// sparkline can be filled from the store; pull checks' results are not
// stored, their sparklines fill as probes report. The page does not read
// every check's pings at start (one query per check: 100,000 at 100,000
// checks, competing with the engine's writes while it loads): it reads a
// check's pings the first time the check's row is shown, at most once per
// check, and only while its sparkline has no sample.
//
// A row of the overview, of checks.json or of a live update is served at
// once without the stored part of its sparkline; the page's goroutine
// reads the pings just after (one query per row, each bounded by
// seedTimeout) and the row, its sparkline drawn, goes to the open live
// streams and into every later answer. A page of rows thus costs at most
// its rows' worth of queries, once. The check's own page reads its pings
// before it answers (one query, bounded by seedTimeout), as it reads its
// flips. A query that fails (other than for a deleted check) is asked for
// again the next time the row is shown.

// seedSparkLocked asks the page's goroutine to seed r's sparkline from its
// stored pings, unless it was asked before, r is not a push check or its
// sparkline has samples already. Call it with rmu held, for a row about to
// be shown.
func (p *Page) seedSparkLocked(r *row) {
	if r.seedAsked || r.cs.Check.Kind != model.KindPush {
		return
	}
	r.seedAsked = true
	p.lmu.Lock()
	rg := p.spark[r.id]
	want := rg == nil || rg.n == 0
	if want {
		p.seedQ = append(p.seedQ, r.id)
	}
	p.lmu.Unlock()
	if want {
		p.poke()
	}
}

// seedQueued seeds the sparklines seedSparkLocked asked for, one query
// each, in the page's goroutine; Close interrupts it.
func (p *Page) seedQueued() {
	p.seedMu.Lock()
	defer p.seedMu.Unlock()
	p.lmu.Lock()
	ids := p.seedQ
	p.seedQ = nil
	p.lmu.Unlock()
	var failed []model.CheckID
	for _, id := range ids {
		if p.ctx.Err() != nil {
			return
		}
		if !p.seedOne(p.ctx, id) {
			failed = append(failed, id)
		}
	}
	if len(failed) > 0 {
		p.rmu.Lock()
		for _, id := range failed {
			if r := p.rows[id]; r != nil {
				r.seedAsked = false // asked again the next time it is shown
			}
		}
		p.rmu.Unlock()
	}
}

// seedSparkNow seeds check id's sparkline before its own page is served,
// if it was never asked for (see seedSparkLocked).
func (p *Page) seedSparkNow(ctx context.Context, id model.CheckID) {
	p.rmu.Lock()
	r := p.rows[id]
	ask := r != nil && !r.seedAsked && r.cs.Check.Kind == model.KindPush
	if ask {
		r.seedAsked = true
	}
	p.rmu.Unlock()
	if ask && !p.seedOne(ctx, id) {
		p.rmu.Lock()
		if r := p.rows[id]; r != nil {
			r.seedAsked = false
		}
		p.rmu.Unlock()
	}
}

// seedOne fills id's sparkline, if it still has no sample, with the run
// times of its newest stored pings, and marks the check changed (live
// streams get its row). It reports false when the query failed for
// another reason than the check being gone.
func (p *Page) seedOne(ctx context.Context, id model.CheckID) bool {
	p.lmu.Lock()
	rg := p.spark[id]
	empty := rg == nil || rg.n == 0
	p.lmu.Unlock()
	if !empty {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, seedTimeout)
	pings, err := p.opts.Store.Pings(ctx, id, store.PingQuery{Limit: 2 * sparkLen})
	cancel()
	if err != nil {
		return errors.Is(err, store.ErrNotFound)
	}
	if _, ok := p.opts.Engine.Ref(id); !ok {
		return true // deleted meanwhile
	}
	p.lmu.Lock()
	defer p.lmu.Unlock()
	old := p.spark[id]
	if old != nil && old.n > 0 {
		return true // a result came meanwhile
	}
	r := &ring{}
	for j := len(pings) - 1; j >= 0; j-- { // oldest first
		if d := pings[j].Duration; d > 0 {
			r.add(float32(d.Seconds() * 1000))
			r.last, r.lastDur = pings[j].Time, d
		}
	}
	if r.n == 0 {
		return true
	}
	if old != nil {
		r.ver += old.ver
		if old.last.After(r.last) {
			r.last = old.last
		}
	}
	p.spark[id] = r
	p.markLocked(id)
	return true
}

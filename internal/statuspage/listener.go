package statuspage

import (
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// maxCreated bounds the checks created between two renders whose detail
// pages are found before the next render.
const maxCreated = 10_000

// sparkLen is how many recent durations a sparkline shows.
const sparkLen = 30

// ring holds a check's last sparkLen durations (milliseconds), oldest
// first once unrolled. Guarded by Page.lmu.
type ring struct {
	ms      [sparkLen]float32
	n       int           // samples held, at most sparkLen
	next    int           // where the next sample goes
	last    time.Time     // LastPing of the newest sample
	lastDur time.Duration // LastDuration of the newest sample
	ver     uint64        // bumped on every sample
}

func (r *ring) add(ms float32) {
	r.ms[r.next] = ms
	r.next = (r.next + 1) % sparkLen
	if r.n < sparkLen {
		r.n++
	}
	r.ver++
}

// values appends the samples, oldest first, to dst.
func (r *ring) values(dst []float32) []float32 {
	start := (r.next - r.n + sparkLen) % sparkLen
	for i := range r.n {
		dst = append(dst, r.ms[(start+i)%sparkLen])
	}
	return dst
}

// OnFlip implements model.Listener: the check's rollups and the recent
// flips changed. It returns at once; the work happens in the page's
// goroutine or at the next render.
func (p *Page) OnFlip(t model.Transition) {
	p.lmu.Lock()
	p.upDirty[t.Check.ID] = struct{}{}
	p.flipsDirty = true
	p.markLocked(t.Check.ID)
	p.lmu.Unlock()
	p.poke()
}

// OnState implements model.StateListener: a new result adds a sample to
// the check's sparkline and the check is pushed to live streams.
func (p *Page) OnState(c model.Check, s model.State) {
	p.lmu.Lock()
	p.sampleLocked(c.Kind, c.ID, s)
	p.markLocked(c.ID)
	p.lmu.Unlock()
	p.poke()
}

// OnCheck implements model.CheckListener: live streams reload the list.
func (p *Page) OnCheck(c model.Check, deleted bool) {
	p.lmu.Lock()
	if deleted {
		delete(p.spark, c.ID)
		delete(p.created, hid(c.ID))
	} else if len(p.created) < maxCreated {
		p.created[hid(c.ID)] = c.ID
	}
	p.upDirty[c.ID] = struct{}{}
	p.structural = true
	p.lmu.Unlock()
	p.poke()
}

// sampleLocked records s's last duration when s carries a result the ring
// has not seen. Every probe result of a pull check is a sample; a push
// check's LastDuration is a run time (start → finish) that plain pings
// leave as it was, so it is a new sample only when it changed.
func (p *Page) sampleLocked(kind model.Kind, id model.CheckID, s model.State) {
	if s.LastPing.IsZero() {
		return
	}
	r := p.spark[id]
	if r == nil {
		r = &ring{}
		p.spark[id] = r
	}
	if !s.LastPing.After(r.last) {
		return
	}
	r.last = s.LastPing
	if kind == model.KindPush && (s.LastDuration <= 0 || s.LastDuration == r.lastDur) {
		return
	}
	r.lastDur = s.LastDuration
	r.add(float32(s.LastDuration.Seconds() * 1000))
}

func (p *Page) markLocked(id model.CheckID) {
	p.changed[id] = struct{}{}
	if len(p.clients) > 0 {
		p.pending[id] = struct{}{}
	}
}

// poke wakes the hub without blocking.
func (p *Page) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

package statuspage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// Days is how many days of uptime the bars show, today included.
const Days = 90

// day is one stored rollup, compactly (12 bytes, 90 per check): day number
// since the epoch (UTC), up and counted seconds (rounded down; a second
// is far below what a bar or a percentage with two decimals shows).
type day struct {
	n, up, total int32
}

func newDay(d model.UptimeDay) day {
	return day{dayNum(d.Day), int32(d.Up / time.Second), int32(d.Total / time.Second)}
}

// uptime is the cached stored rollups of one check (the interval still open
// is added at render time). Guarded by Page.rmu.
type uptime struct {
	days []day // ascending
}

func dayNum(t time.Time) int32 { return int32(t.UTC().Unix() / 86400) }

// window returns [from, to) of the days shown at now.
func window(now time.Time) (from, to time.Time) {
	today := time.Unix(int64(dayNum(now))*86400, 0).UTC()
	return today.AddDate(0, 0, -(Days - 1)), today.AddDate(0, 0, 1)
}

// loadUptimeLocked fills the uptime cache for every check of ids that has
// no entry yet or whose rollups changed: one scan (UptimeAll) when more
// than an eighth of the total checks (and 64) are missing, otherwise one
// query per check (four at a time). Stored rollups change only when a flip closes an
// interval, so after the first render only flipped checks are read again.
func (p *Page) loadUptimeLocked(ctx context.Context, ids []model.CheckID, total int, now time.Time) {
	p.lmu.Lock()
	dirty := p.upDirty
	p.upDirty = make(map[model.CheckID]struct{})
	p.lmu.Unlock()
	for id := range dirty {
		delete(p.uptime, id)
		if p.warmDirty != nil {
			p.warmDirty[id] = struct{}{}
		}
	}
	var missing []model.CheckID
	for _, id := range ids {
		if _, ok := p.uptime[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return
	}
	from, to := window(now)
	// A scan reads every check's rows: worth it when many are missing (at
	// the first render), not for the few that flipped since the last one.
	if len(missing) > 64 && len(missing)*8 > total {
		byID, err := p.scanUptime(ctx, missing, from, to)
		if err == nil {
			maps.Copy(p.uptime, byID)
			return
		}
		p.opts.Logger.Warn("status page: bulk uptime query", "err", err)
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next = make(chan model.CheckID)
	)
	for range min(4, len(missing)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				u, err := p.readUptime(ctx, id, from, to)
				if errors.Is(err, store.ErrNotFound) {
					u, err = &uptime{}, nil // deleted meanwhile: nothing to show
				}
				if err != nil {
					// Shown as "no data"; asked again at the next render.
					p.opts.Logger.Warn("status page: uptime query", "check", id, "err", err)
					continue
				}
				mu.Lock()
				p.uptime[id] = u
				mu.Unlock()
			}
		}()
	}
	for _, id := range missing {
		next <- id
	}
	close(next)
	wg.Wait()
}

// scanUptime reads the rollups of ids in [from, to) in one scan of every
// check's (UptimeAll). It touches no cache: the caller holds no lock.
func (p *Page) scanUptime(ctx context.Context, ids []model.CheckID, from, to time.Time) (map[model.CheckID]*uptime, error) {
	byID := make(map[model.CheckID]*uptime, len(ids))
	for _, id := range ids {
		byID[id] = &uptime{}
	}
	var last *uptime
	var lastID model.CheckID
	err := p.opts.Store.UptimeAll(ctx, from, to, func(d model.UptimeDay) {
		if last == nil || d.CheckID != lastID {
			last, lastID = byID[d.CheckID], d.CheckID
		}
		if last == nil {
			return // not missing, or not listed
		}
		if last.days == nil {
			last.days = make([]day, 0, Days)
		}
		last.days = append(last.days, newDay(d))
	})
	if err != nil {
		return nil, err
	}
	for _, u := range byID {
		slices.SortFunc(u.days, func(a, b day) int { return int(a.n - b.n) })
	}
	return byID, nil
}

func (p *Page) readUptime(ctx context.Context, id model.CheckID, from, to time.Time) (*uptime, error) {
	rows, err := p.opts.Store.Uptime(ctx, id, from, to)
	if err != nil {
		return nil, fmt.Errorf("uptime of %s: %w", id, err)
	}
	u := &uptime{days: make([]day, 0, len(rows))}
	for _, d := range rows {
		u.days = append(u.days, newDay(d))
	}
	return u, nil
}

// bars is a check's Days days of uptime: a colour class per day, oldest
// first, and the ratio over the whole window.
type bars struct {
	class [Days]byte
	pct   string // "99.95%", or "" when nothing was counted
}

// Colour classes of a day's bar.
const (
	barNone = 'n' // nothing counted (new, paused, not yet created)
	barFull = 'a' // 100 %
	barHigh = 'b' // ≥ 99 %
	barMid  = 'c' // ≥ 95 %
	barLow  = 'd' // < 95 %
)

// computeBars merges the stored rollups u with the interval still open
// (state s since s.Since) at now.
func computeBars(u *uptime, s *model.State, now time.Time) bars {
	var up, total [Days]int64
	first := dayNum(now) - (Days - 1)
	if u != nil {
		for _, d := range u.days {
			if i := d.n - first; i >= 0 && i < Days {
				up[i] += int64(d.up) * int64(time.Second)
				total[i] += int64(d.total) * int64(time.Second)
			}
		}
	}
	if isUp, counted := model.CountsAsUp(s.Status); counted && now.After(s.Since) {
		from := s.Since
		if start := time.Unix(int64(first)*86400, 0); from.Before(start) {
			from = start
		}
		for from.Before(now) {
			i := dayNum(from) - first
			end := time.Unix(int64(dayNum(from)+1)*86400, 0)
			if end.After(now) {
				end = now
			}
			d := int64(end.Sub(from))
			total[i] += d
			if isUp {
				up[i] += d
			}
			from = end
		}
	}
	var b bars
	var sumUp, sumTotal int64
	for i := range Days {
		sumUp += up[i]
		sumTotal += total[i]
		switch {
		case total[i] <= 0:
			b.class[i] = barNone
		case up[i] >= total[i]:
			b.class[i] = barFull
		case up[i]*100 >= total[i]*99:
			b.class[i] = barHigh
		case up[i]*100 >= total[i]*95:
			b.class[i] = barMid
		default:
			b.class[i] = barLow
		}
	}
	if sumTotal > 0 {
		b.pct = formatPct(float64(sumUp) / float64(sumTotal))
	}
	return b
}

// formatPct prints a ratio as a percentage with two decimals, never
// rounding a ratio below 1 up to "100.00%".
func formatPct(r float64) string {
	v := int64(r * 10000) // truncated: 0.99999 is 99.99%, not 100.00%
	return fmt.Sprintf("%d.%02d%%", v/100, v%100)
}

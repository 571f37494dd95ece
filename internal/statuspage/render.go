package statuspage

import (
	"bytes"
	"context"
	"html/template"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
)

// row is one check's cached fragment of the overview: an <li>, re-rendered
// only when something it shows changed (its key). Guarded by Page.rmu.
type row struct {
	id     model.CheckID
	hid    string
	check  model.Check
	status model.Status // displayed status
	key    rowKey
	html   []byte
	gen    uint64 // last render that saw the check
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
}

// rowData is what the row template is executed with.
type rowData struct {
	HID, Name   string
	Status      model.Status
	Failing     bool
	Pct         string
	Bars, Spark template.HTML
	LastMS      string
}

// refreshLocked brings the row cache up to date with the snapshot cs at now
// and returns the rows in display order (by name). It reads the store only
// for rollups not cached yet.
func (p *Page) refreshLocked(ctx context.Context, cs []model.CheckState, now time.Time) []*row {
	p.loadUptimeLocked(ctx, cs, now)
	p.gen++
	type job struct {
		r *row
		s *model.State
		k rowKey
	}
	var jobs []job
	renamed := false
	for i := range cs {
		c, s := &cs[i].Check, &cs[i].State
		r := p.rows[c.ID]
		if r == nil {
			r = &row{id: c.ID, hid: hid(c.ID)}
			p.rows[c.ID] = r
			p.hids[r.hid] = c.ID
			renamed = true
		}
		if r.check.Name != c.Name {
			renamed = true
		}
		r.check = *c
		r.gen = p.gen
		k := rowKey{name: c.Name, status: s.Display(now), last: s.LastPing, since: s.Since,
			bars: computeBars(p.uptime[c.ID], s, now)}
		k.failing = failingBelowThreshold(s, k.status)
		p.lmu.Lock()
		if rg := p.spark[c.ID]; rg != nil {
			k.spark = rg.ver
		}
		p.lmu.Unlock()
		if r.html != nil && r.key == k {
			continue
		}
		r.key, r.status = k, k.status
		jobs = append(jobs, job{r, s, k})
	}
	// Rendering is the cost of a cold cache: spread it over the CPUs.
	workers := 1
	if len(jobs) >= 512 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []float32
			for j := w; j < len(jobs); j += workers {
				jb := &jobs[j]
				p.lmu.Lock()
				buf = buf[:0]
				if rg := p.spark[jb.r.id]; rg != nil {
					buf = rg.values(buf)
				}
				p.lmu.Unlock()
				jb.r.html = p.renderRow(jb.r, jb.s, jb.k, buf)
			}
		}()
	}
	wg.Wait()
	p.lmu.Lock()
	for h := range p.created {
		if _, ok := p.hids[h]; ok {
			delete(p.created, h)
		}
	}
	p.lmu.Unlock()
	for id, r := range p.rows {
		if r.gen != p.gen {
			delete(p.rows, id)
			delete(p.hids, r.hid)
			renamed = true
		}
	}
	if renamed || p.order == nil {
		p.order = p.order[:0]
		for _, r := range p.rows {
			p.order = append(p.order, r)
		}
		slices.SortFunc(p.order, func(a, b *row) int {
			if c := strings.Compare(strings.ToLower(a.check.Name), strings.ToLower(b.check.Name)); c != 0 {
				return c
			}
			return strings.Compare(a.hid, b.hid)
		})
	}
	return p.order
}

func (p *Page) renderRow(r *row, s *model.State, k rowKey, spark []float32) []byte {
	d := rowData{HID: r.hid, Name: k.name, Status: k.status, Failing: k.failing, Pct: k.bars.pct,
		Bars: barsSVG(&k.bars), Spark: sparkSVG(spark)}
	if n := len(spark); n > 0 && spark[n-1] > 0 {
		d.LastMS = formatMS(spark[n-1])
	}
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
	var hi float32
	for _, v := range ms {
		hi = max(hi, v)
	}
	if len(ms) < 2 || hi <= 0 {
		return `<svg class=s viewBox="0 0 58 20"></svg>`
	}
	var sb strings.Builder
	sb.WriteString(`<svg class=s viewBox="0 0 58 20" preserveAspectRatio=none><path d="M`)
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
	sb.WriteString(`"/></svg>`)
	return template.HTML(sb.String())
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

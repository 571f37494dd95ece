package statuspage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitals-go/vitals/internal/model"
	"github.com/vitals-go/vitals/internal/store"
)

// recentFlips is how many flips the overview lists.
const recentFlips = 20

// pageData is what the page templates are executed with.
type pageData struct {
	Title, Heading string
	Base           string // relative path to the page's root: "" or "../"
	CSS, JS        string
	CheckHID       string
	Auth           bool
	Now            time.Time
	Days           int
	Sum            summary
	// Chans counts the checks shown whose channels are wrong (the
	// authorised view only).
	Chans  channelCounts
	Banner struct{ Class, Text string }
	// The overview: the checks needing attention (their fragments, of
	// NAttn in all), the tag groups, the list.
	Attention []template.HTML
	NAttn     int
	AttnLink  string
	Groups    []group
	NGroups   int
	List      *listData
	Flips     []flipView
	Check     *checkView
}

type flipView struct {
	Time     time.Time
	HID      string
	Name     string
	From, To model.Status
	Reason   string // authorised view only
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (p *Page) newPageData(v view, base string, now time.Time) pageData {
	return pageData{Title: p.opts.Title, Base: base, CSS: version("app.css"), JS: version("app.js"),
		Auth: v.auth, Now: now, Days: Days}
}

// setHeaders sets the headers every HTML and JSON answer carries.
func setHeaders(w http.ResponseWriter, v view, ctype string) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	if v.auth {
		h.Set("Cache-Control", "private, no-store")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
}

// Render writes the overview's first screen (no filter, first page) as v
// sees it (the authorised view when auth) to buf; it is what GET / serves,
// exported for the benchmarks.
func (p *Page) Render(ctx context.Context, buf *bytes.Buffer, auth bool) error {
	return p.renderOverview(ctx, buf, view{auth: auth}, &filter{Page: 1})
}

// listData is the overview's list: the page of rows f asks for.
type listData struct {
	Filter          *filter
	Total, From, To int // To: one past the last row shown, 1-based From
	Pages           int
	Prev, Next      string
	Size            int
	Tags            []string // tags to suggest in the filter (authorised)
	StatusOptions   []statusOption
}

type statusOption struct {
	Value, Label string
	Selected     bool
}

func (p *Page) renderOverview(ctx context.Context, buf *bytes.Buffer, v view, f *filter) error {
	now := p.opts.Now().UTC()
	d := p.newPageData(v, "", now)
	chs := p.channels()

	p.rmu.Lock()
	defer p.rmu.Unlock()
	rows := p.syncLocked(now)
	o := p.overviewLocked(rows, v)
	d.Sum, d.Chans = o.Sum, o.Chans
	d.Banner.Class, d.Banner.Text = banner(d.Sum)
	off := (f.Page - 1) * PageSize
	total, page := p.selectLocked(rows, v, f, off, PageSize)
	l := &listData{Filter: f, Total: total, From: off + 1, To: off + len(page), Size: PageSize,
		Pages: (total + PageSize - 1) / PageSize}
	if f.Page > 1 {
		l.Prev = f.query(f.Page - 1)
	}
	if off+len(page) < total {
		l.Next = f.query(f.Page + 1)
	}
	for _, w := range [...]string{"", attentionStatuses, "up", "down", "late", "running", "flapping", "failing", "paused", "new"} {
		label := w
		switch w {
		case "":
			label = "any status"
		case attentionStatuses:
			label = "needs attention"
		case "failing":
			label = "failing below threshold"
		}
		l.StatusOptions = append(l.StatusOptions, statusOption{Value: w, Label: label, Selected: w == f.Status})
	}
	for _, g := range o.Groups {
		l.Tags = append(l.Tags, g.Tag)
	}
	show := append(append([]*row(nil), o.Attention...), page...)
	for _, g := range o.Groups {
		show = append(show, g.Rows...)
	}
	p.prepareLocked(ctx, show, now)
	frag := func(r *row) template.HTML { return template.HTML(p.fragmentLocked(r, v, now, chs)) }
	d.Attention = make([]template.HTML, len(o.Attention))
	for i, r := range o.Attention {
		d.Attention[i] = frag(r)
	}
	d.NAttn = o.NAttn
	d.AttnLink = (&filter{Status: attentionStatuses}).query(0)
	if !f.Active() && f.Page == 1 {
		d.Groups, d.NGroups = o.Groups, o.NGroups
	}
	d.List = l
	d.Flips = p.recentFlipsLocked(ctx, v)
	if err := p.tmpl.ExecuteTemplate(buf, "top", d); err != nil {
		return err
	}
	for _, r := range page {
		buf.Write(p.fragmentLocked(r, v, now, chs))
	}
	return p.tmpl.ExecuteTemplate(buf, "bottom", d)
}

// banner is the overview's headline. "All checks are up." only when every
// check shown is up (or running) with no failure since its last success;
// any down check makes the headline the outage; otherwise the headline
// counts the checks by what they are, so that a new check (never reported)
// or one failing below its threshold is not hidden in "all up". Live
// updates carry it too (the "summary" event): the page's script does not
// count, it cannot see every check.
func banner(s summary) (class, text string) {
	switch {
	case s.Total == 0:
		return "none", "No checks yet."
	case s.Down == 1:
		return "bad", "1 check is down."
	case s.Down > 1:
		return "bad", strconv.Itoa(s.Down) + " checks are down."
	case s.Failing == 0 && s.Up+s.Started == s.Total:
		return "ok", "All checks are up."
	}
	var parts []string
	part := func(n int, what string) {
		if n > 0 {
			parts = append(parts, strconv.Itoa(n)+" "+what)
		}
	}
	part(s.Up+s.Started-s.failingUp, "up")
	part(s.Grace, "late")
	part(s.Flapping, "flapping")
	if s.Failing == 1 {
		part(1, "failing below its threshold")
	} else {
		part(s.Failing, "failing below their threshold")
	}
	part(s.Paused, "paused")
	part(s.New-s.failingNew, "new")
	class = "none"
	if s.Grace+s.Flapping+s.Failing > 0 {
		class = "warn"
	}
	return class, strings.Join(parts, ", ") + "."
}

func (p *Page) serveOverview(w http.ResponseWriter, r *http.Request, v view) {
	f, err := parseFilter(r.URL.Query(), v)
	if err != nil {
		badRequest(w, err)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := p.renderOverview(r.Context(), buf, v, &f); err != nil {
		p.opts.Logger.Error("status page: render", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setHeaders(w, v, "text/html; charset=utf-8")
	writeBody(w, r, buf.Bytes(), nil)
}

func badRequest(w http.ResponseWriter, err error) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// serveRows serves checks.json: the rows of the list that f (the URL's q,
// tag and status) selects, from offset (default 0) at most limit (default
// PageSize, at most MaxLimit), and how many there are in all.
func (p *Page) serveRows(w http.ResponseWriter, r *http.Request, v view) {
	u := r.URL.Query()
	f, err := parseFilter(u, v)
	if err != nil {
		badRequest(w, err)
		return
	}
	off, limit := 0, PageSize
	if s := u.Get("offset"); s != "" {
		if off, err = strconv.Atoi(s); err != nil || off < 0 || off > maxPage*PageSize {
			badRequest(w, errors.New("offset must be a number from 0 to 52428800"))
			return
		}
	}
	if s := u.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > MaxLimit {
			badRequest(w, errors.New("limit must be a number from 1 to 500"))
			return
		}
	}
	now := p.opts.Now().UTC()
	chs := p.channels()
	out := struct {
		Total  int       `json:"total"`
		Offset int       `json:"offset"`
		Rows   []jsonRow `json:"rows"`
	}{Offset: off, Rows: []jsonRow{}}
	p.rmu.Lock()
	rows := p.syncLocked(now)
	total, sel := p.selectLocked(rows, v, &f, off, limit)
	p.prepareLocked(r.Context(), sel, now)
	out.Total = total
	for _, rw := range sel {
		out.Rows = append(out.Rows, p.jsonRowLocked(rw, v, now, chs))
	}
	p.rmu.Unlock()
	body, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setHeaders(w, v, "application/json")
	writeBody(w, r, body, nil)
}

// recentFlipsLocked returns the newest flips of the checks v may see, read
// from the store again only after a flip.
func (p *Page) recentFlipsLocked(ctx context.Context, v view) []flipView {
	p.lmu.Lock()
	dirty := p.flipsDirty
	p.flipsDirty = false
	p.lmu.Unlock()
	if dirty || !p.flipsOK {
		// Enough to fill the list even when most flips are of checks the
		// public view hides.
		fl, err := p.opts.Store.Flips(ctx, model.CheckID{}, store.FlipQuery{Limit: 5 * recentFlips})
		if err != nil {
			p.opts.Logger.Warn("status page: flips query", "err", err)
			p.lmu.Lock()
			p.flipsDirty = true
			p.lmu.Unlock()
		} else {
			p.flips, p.flipsOK = fl, true
		}
	}
	return p.flipViewsLocked(v, p.flips, recentFlips)
}

func (p *Page) flipViewsLocked(v view, fl []model.Flip, limit int) []flipView {
	var out []flipView
	for _, f := range fl {
		r := p.rows[f.CheckID]
		if r == nil || !p.visible(v, &r.cs.Check) {
			continue
		}
		fv := flipView{Time: f.Time, HID: r.hid, Name: r.cs.Check.Name, From: f.From, To: f.To}
		if v.auth {
			fv.Reason = f.Reason
		}
		out = append(out, fv)
		if len(out) == limit {
			break
		}
	}
	return out
}

// jsonCheck is one check in status.json.
type jsonCheck struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Status model.Status `json:"status"`
	Since  time.Time    `json:"since"`
	Last   time.Time    `json:"last,omitzero"`
	Uptime string       `json:"uptime_90d,omitempty"`
	// Days is one letter per day, oldest first: a 100 %, b ≥ 99 %,
	// c ≥ 95 %, d below, n no data.
	Days string `json:"days"`
	// Channels are the names of the check's channels, and Warnings what
	// is wrong with them (model.Check.RouteWarnings): the authorised
	// view only, when the page knows the channels (Options.Channels).
	Channels []string `json:"channels,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

func (p *Page) serveJSON(w http.ResponseWriter, r *http.Request, v view) {
	now := p.opts.Now().UTC()
	out := struct {
		Title  string      `json:"title"`
		Time   time.Time   `json:"time"`
		Checks []jsonCheck `json:"checks"`
	}{Title: p.opts.Title, Time: now}
	var chs *channelSet
	if v.auth {
		chs = p.channels()
	}
	p.rmu.Lock()
	rows := p.syncLocked(now)
	p.prepareLocked(r.Context(), rows, now)
	out.Checks = make([]jsonCheck, 0, len(rows))
	for _, rw := range rows {
		if !p.visible(v, &rw.cs.Check) {
			continue
		}
		k := p.keyLocked(rw, now, nil)
		jc := jsonCheck{ID: rw.hid, Name: rw.cs.Check.Name, Status: rw.status,
			Since: k.since, Last: k.last, Uptime: k.bars.pct, Days: string(k.bars.class[:])}
		if chs != nil {
			jc.Channels = rw.cs.Check.Routes.Names()
			jc.Warnings = rw.cs.Check.RouteWarnings(chs.all)
		}
		out.Checks = append(out.Checks, jc)
	}
	p.rmu.Unlock()
	body, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setHeaders(w, v, "application/json")
	writeBody(w, r, body, nil)
}

// checkView is the detail page's check.
type checkView struct {
	Name        string
	Status      model.Status
	Since, Last time.Time
	LastMS      string
	Pct         string
	Bars, Spark template.HTML
	HasSpark    bool
	Private     *privateView
}

// privateView is what only the authorised view shows.
type privateView struct {
	ID        model.CheckID
	Kind      model.Kind
	Schedule  string
	Tags      []string
	Desc      string
	LastError string
	TZWarning string
	NPings    int64
	Pings     []pingView
	// Channels say where the check's alerts go; ChannelWarnings what is
	// wrong with them. ShowChannels is false when the page does not know
	// the channels (Options.Channels nil).
	ShowChannels    bool
	Channels        []channelView
	ChannelWarnings []string
}

// channelView is one channel of a check, with the flips it hears of.
type channelView struct {
	Name, On string
}

// channelViews lists the channels of r by name, each with the flips that
// go to it ("down, up, flapping").
func channelViews(r model.Routes) []channelView {
	var out []channelView
	for _, n := range r.Names() {
		var on []string
		for _, l := range []struct {
			what  string
			names []string
		}{{"down", r.Down}, {"up", r.Up}, {"flapping", r.Flapping}, {"late", r.Late}, {"cert", r.Cert}} {
			if slices.Contains(l.names, n) {
				on = append(on, l.what)
			}
		}
		out = append(out, channelView{Name: n, On: strings.Join(on, ", ")})
	}
	return out
}

type pingView struct {
	Time       time.Time
	Kind       model.PingKind
	ExitStatus int
	Duration   time.Duration
	RemoteAddr string
	UserAgent  string
	Body       string
}

// maxBodyShown caps a ping body on the detail page.
const maxBodyShown = 500

func (p *Page) serveDetail(w http.ResponseWriter, r *http.Request, v view, h string) {
	p.rmu.Lock()
	id, ok := p.hids[h]
	rendered := p.gen > 0
	p.rmu.Unlock()
	if !ok {
		// Created since the last render? (Never a render per unknown id:
		// anyone may ask for random ids.)
		p.lmu.Lock()
		id, ok = p.created[h]
		p.lmu.Unlock()
	}
	if !ok && !rendered {
		p.rmu.Lock()
		p.syncLocked(p.opts.Now().UTC())
		id, ok = p.hids[h]
		p.rmu.Unlock()
	}
	var cs *model.CheckState
	if ok {
		if ref, found := p.opts.Engine.Ref(id); found {
			cs = ref.Load()
		}
	}
	if cs == nil || !p.visible(v, &cs.Check) {
		notFound(w)
		return
	}
	ctx := r.Context()
	p.seedSparkNow(ctx, id)
	now := p.opts.Now().UTC()
	d := p.newPageData(v, "../", now)
	d.Heading, d.CheckHID = cs.Check.Name, h
	c, s := &cs.Check, &cs.State
	cv := &checkView{Name: c.Name, Status: s.Display(now), Since: s.Since, Last: s.LastPing}

	p.rmu.Lock()
	p.loadUptimeLocked(ctx, []model.CheckID{id}, len(p.rows), now)
	b := computeBars(p.uptime[id], s, now)
	p.rmu.Unlock()
	cv.Pct, cv.Bars = b.pct, detailBars(&b, now)
	p.lmu.Lock()
	var spark []float32
	if rg := p.spark[id]; rg != nil {
		spark = rg.values(nil)
	}
	p.lmu.Unlock()
	cv.Spark = sparkSVG(spark)
	if n := len(spark); n > 0 && spark[n-1] > 0 {
		cv.LastMS = formatMS(spark[n-1])
		cv.HasSpark = n > 1
	}

	fl, err := p.opts.Store.Flips(ctx, id, store.FlipQuery{Limit: 50})
	if err != nil {
		p.opts.Logger.Warn("status page: flips query", "check", id, "err", err)
	}
	p.rmu.Lock()
	d.Flips = p.flipViewsLocked(v, fl, 50)
	p.rmu.Unlock()
	if v.auth {
		pv := &privateView{ID: c.ID, Kind: c.Kind, Schedule: scheduleText(c), Tags: c.Tags, Desc: c.Desc,
			LastError: s.LastError, TZWarning: s.TZWarning, NPings: s.NPings}
		if chs := p.channels(); chs != nil {
			pv.ShowChannels, pv.Channels, pv.ChannelWarnings = true, channelViews(c.Routes), c.RouteWarnings(chs.all)
		}
		pings, err := p.opts.Store.Pings(ctx, id, store.PingQuery{Limit: 20})
		if err != nil {
			p.opts.Logger.Warn("status page: pings query", "check", id, "err", err)
		}
		for _, pg := range pings {
			body := model.Truncate(string(pg.Body), maxBodyShown)
			if len(body) < len(pg.Body) || pg.BodyTruncated {
				body += "…"
			}
			pv.Pings = append(pv.Pings, pingView{Time: pg.Time, Kind: pg.Kind, ExitStatus: pg.ExitStatus,
				Duration: pg.Duration, RemoteAddr: pg.RemoteAddr, UserAgent: pg.UserAgent, Body: body})
		}
		cv.Private = pv
	}
	d.Check = cv
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "detail", d); err != nil {
		p.opts.Logger.Error("status page: render detail", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setHeaders(w, v, "text/html; charset=utf-8")
	writeBody(w, r, buf.Bytes(), nil)
}

// detailBars draws one rect per day with a tooltip (the detail page shows
// one check, so it can afford them).
func detailBars(b *bars, now time.Time) template.HTML {
	var sb strings.Builder
	sb.WriteString(`<svg class="u big" viewBox="0 0 90 1" preserveAspectRatio=none role=img aria-label="daily uptime">`)
	first := time.Unix(int64(dayNum(now)-(Days-1))*86400, 0).UTC()
	for i := range Days {
		fmt.Fprintf(&sb, `<path class=%c d="M%d .5h1"><title>%s</title></path>`, b.class[i], i,
			first.AddDate(0, 0, i).Format("2006-01-02")+": "+barText(b.class[i]))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

func barText(c byte) string {
	switch c {
	case barFull:
		return "100%"
	case barHigh:
		return "99% or more"
	case barMid:
		return "95% or more"
	case barLow:
		return "below 95%"
	}
	return "no data"
}

func scheduleText(c *model.Check) string {
	s := c.Schedule
	var out string
	if s.Cron != "" {
		out = "cron " + s.Cron + " (" + s.TZ + ")"
	} else {
		out = "every " + fmtDur(s.Period)
	}
	if s.Grace > 0 {
		out += ", grace " + fmtDur(s.Grace)
	}
	return out
}

// fmtDur prints d without zero units: "1h", "1h30m", "90s".
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
